"""classify: one reason per row in rule order, out-of-order and outlier rules on frames."""

from __future__ import annotations

import math

import polars as pl
import pytest

from bifrost.market.ingest.validate import REASONS, classify, count_reasons, robust_std, split

DAY = 86_400_000_000_000


def bars(rows: list[tuple[int, float, float, float, float, float]]) -> pl.DataFrame:
    """Parsed rows from (day, open, high, low, close, volume) tuples."""
    frame = pl.DataFrame(
        rows, schema=["ts", "open", "high", "low", "close", "volume"], orient="row"
    )
    return frame.with_columns(pl.col("ts") * DAY, parsed=pl.lit(True))


def smooth(n: int, start: int = 0) -> list[tuple[int, float, float, float, float, float]]:
    """`n` daily bars with small, varied moves (no outliers)."""
    rows = []
    for day in range(start, start + n):
        close = 100.0 * math.exp(0.01 * math.sin(day * 1.7) + 0.002 * day)
        rows.append((day, close, close + 1, close - 1, close, 1000.0))
    return rows


def reasons(frame: pl.DataFrame, **options: float) -> list[str | None]:
    return classify(frame, **options)["reason"].to_list()  # type: ignore[arg-type]


def test_classify_clean_series_rejects_nothing() -> None:
    assert set(reasons(bars(smooth(40)))) == {None}


def test_classify_row_breaking_several_rules_gets_first_reason() -> None:
    # high below close, low above open and a negative price all at once
    frame = bars([(0, 1.0, 2.0, 0.5, 1.5, 1.0), (1, -1.0, 0.5, 3.0, 1.0, -5.0)])
    assert reasons(frame) == [None, "high_below_open_close"]


def test_classify_duplicate_after_unparseable_row_keeps_first_parsed() -> None:
    frame = bars([(0, 1, 2, 0.5, 1.5, 1), (0, 1, 2, 0.5, 1.5, 1), (0, 1, 2, 0.5, 1.5, 1)])
    frame = frame.with_columns(parsed=pl.Series([False, True, True]))
    assert reasons(frame) == ["unparseable", None, "duplicate_timestamp"]


def test_classify_out_of_order_rejects_only_the_earlier_row() -> None:
    frame = bars([(d, 1, 2, 0.5, 1.5, 1) for d in (0, 1, 5, 3, 6, 7)])
    assert reasons(frame) == [None, None, None, "out_of_order", None, None]


def test_classify_newest_first_file_is_not_out_of_order() -> None:
    frame = bars([(d, 1, 2, 0.5, 1.5, 1) for d in (9, 8, 7, 3, 4)])
    assert reasons(frame) == [None, None, None, None, "out_of_order"]


def test_classify_lone_spike_flags_spike_not_the_bar_after() -> None:
    rows = smooth(30)
    day, *_ = rows[15]
    rows[15] = (day, 300.0, 301.0, 299.0, 300.0, 1000.0)
    flagged = [i for i, r in enumerate(reasons(bars(rows))) if r]
    assert flagged == [15]


def test_classify_level_shift_flags_only_first_bar_of_new_level() -> None:
    rows = smooth(30)
    rows[20:] = [(d, o * 2, h * 2, low * 2, c * 2, v) for d, o, h, low, c, v in rows[20:]]
    flagged = [i for i, r in enumerate(reasons(bars(rows))) if r]
    assert flagged == [20]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ((2, 1.0, float("inf"), 0.5, 1.0, 1.0), "non_finite"),
        ((2, 1.0, 2.0, 0.5, float("nan"), 1.0), "non_finite"),
        ((2, 1e308, 1e308, 1e308, 1e308, 1.0), "price_out_of_range"),
        ((2, 1e-13, 1e-13, 1e-13, 1e-13, 1.0), "price_out_of_range"),
        ((2, 1.0, 2.0, 0.5, 1.0, 1e19), "volume_out_of_range"),
    ],
)
def test_classify_absurd_value_in_three_row_series_is_rejected(row, reason: str) -> None:
    frame = bars([(0, 1, 2, 0.5, 1.5, 1), (1, 1, 2, 0.5, 1.5, 1), row])
    assert reasons(frame) == [None, None, reason]


def test_classify_extreme_but_valid_values_pass() -> None:
    frame = bars([(0, 1e-8, 1e-8, 1e-8, 1e-8, 0.0), (1, 1e9, 1e9, 1e9, 1e9, 0.0)])
    assert reasons(frame) == [None, None]


def test_classify_non_finite_row_does_not_make_a_later_row_a_duplicate() -> None:
    frame = bars([(0, 1, 2, 0.5, 1.5, 1), (0, 1, 2, 0.5, float("inf"), 1), (1, 1, 2, 0.5, 1.5, 1)])
    frame = frame.with_columns(ts=pl.Series([0, 5, 5]) * DAY)
    assert reasons(frame) == [None, "non_finite", None]


def test_classify_jump_row_carries_its_move() -> None:
    rows = smooth(30)
    rows[20:] = [(d, o * 1.2, h * 1.2, low * 1.2, c * 1.2, v) for d, o, h, low, c, v in rows[20:]]
    marked = classify(bars(rows))
    (jump,) = marked.filter(pl.col("reason") == "outlier_jump").to_dicts()
    assert jump["move"] == pytest.approx(rows[20][4] / rows[19][4] - 1)


def test_split_strict_quarantines_jumps_otherwise_keeps_them() -> None:
    rows = smooth(30)
    rows[20:] = [(d, o * 2, h * 2, low * 2, c * 2, v) for d, o, h, low, c, v in rows[20:]]
    kept, held = split(bars(rows))
    assert (kept.height, held.height) == (30, 0)
    kept, held = split(bars(rows), strict=True)
    assert (kept.height, held["reason"].to_list()) == (29, ["outlier_jump"])


def test_classify_short_series_skips_outlier_rule() -> None:
    rows = smooth(10)
    rows[5] = (5, 300.0, 301.0, 299.0, 300.0, 1000.0)
    assert set(reasons(bars(rows))) == {None}


def test_classify_outlier_sigma_is_configurable() -> None:
    rows = smooth(30)
    rows[15] = (15, rows[15][4] * 1.05, rows[15][4] * 1.06, rows[15][4], rows[15][4] * 1.05, 1.0)
    assert "outlier_jump" not in reasons(bars(rows), outlier_sigma=50.0)
    assert "outlier_jump" in reasons(bars(rows), outlier_sigma=2.0)


def test_split_returns_good_and_rejected_in_file_order() -> None:
    frame = bars([(0, 1, 2, 0.5, 1.5, 1), (1, 1, 2, 0.5, 1.5, -1), (2, 1, 2, 0.5, 1.5, 1)])
    good, rejected = split(frame)
    assert good["ts"].to_list() == [0, 2 * DAY]
    assert rejected["reason"].to_list() == ["negative_volume"]


def test_count_reasons_lists_every_reason_with_zeros() -> None:
    counts = count_reasons(classify(bars([(0, 0.0, 2, 0, 1, 1)])))
    assert list(counts) == list(REASONS)
    assert counts["non_positive_price"] == 1
    assert sum(counts.values()) == 1


def test_robust_std_constant_moves_fall_back_to_std() -> None:
    assert robust_std(pl.Series([0.0, 0.0, 0.0, 0.0, 1.0])) > 0
    assert robust_std(pl.Series([], dtype=pl.Float64)) == 0.0
