"""Candlestick flags on hand-made bars, and volatility regimes numbered calm to wild."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.errors import BadRequest
from bifrost.ml.inference import pattern_report
from bifrost.ml.patterns import candle_patterns, fit_regimes, rolling_volatility
from tests.bifrost.ml.synthetic import bars

# (open, high, low, close) of a neutral bar first, then the bar under test
CASES = {
    "doji": [(10, 11, 9, 10.5), (10.0, 11.0, 9.0, 10.05)],
    "hammer": [(10, 11, 9, 10.5), (10.0, 10.55, 8.0, 10.5)],
    "shooting_star": [(10, 11, 9, 10.5), (10.5, 12.5, 9.95, 10.0)],
    "engulfing_bull": [(10.5, 10.6, 9.9, 10.0), (9.9, 10.8, 9.8, 10.7)],
    "engulfing_bear": [(10.0, 10.6, 9.9, 10.5), (10.6, 10.7, 9.7, 9.8)],
}


@pytest.mark.parametrize("pattern", sorted(CASES))
def test_each_pattern_is_flagged_on_its_own_shape_only(pattern: str) -> None:
    columns = zip(*CASES[pattern], strict=True)
    o, h, lo, c = (np.array(column, dtype=np.float64) for column in columns)
    flags = candle_patterns(o, h, lo, c)
    assert flags[pattern][1]
    assert [name for name, values in flags.items() if values[1]] == [pattern]


def test_a_flat_bar_and_the_first_bar_flag_nothing() -> None:
    flat = np.array([10.0, 10.0])
    flags = candle_patterns(flat, flat, flat, flat)
    assert not any(values.any() for values in flags.values())


def test_regimes_are_numbered_from_the_calmest_up() -> None:
    rng = np.random.default_rng(0)
    vol = np.concatenate([rng.normal(m, 0.001, 200) for m in (0.03, 0.01, 0.02)])
    regimes = fit_regimes(np.append(vol, np.nan))
    assert regimes.centers == tuple(sorted(regimes.centers))
    assert np.allclose(regimes.centers, (0.01, 0.02, 0.03), atol=0.001)
    labels = regimes.label(np.array([0.011, 0.029, np.nan]))
    assert labels[0] == 0 and labels[1] == 2 and np.isnan(labels[2])
    assert regimes.names == ("low", "normal", "high")


def test_rolling_volatility_uses_past_returns_only() -> None:
    close = bars(100, seed=1)["close"].to_numpy()
    full = rolling_volatility(close, 20)
    assert np.isnan(full[:20]).all()
    assert np.allclose(full[:60], rolling_volatility(close[:60], 20), equal_nan=True)


def test_pattern_report_counts_patterns_and_names_the_current_regime() -> None:
    report = pattern_report("SYN", "1d", bars(300, seed=3), last=5)
    assert len(report["recent"]) == 5
    assert report["current_regime"] in ("low", "normal", "high")
    assert sum(r["bars"] for r in report["regimes"]) == 300 - 20
    assert set(report["counts"]) == {
        "doji", "hammer", "shooting_star", "engulfing_bull", "engulfing_bear"
    }


def test_pattern_report_of_no_bars_is_refused() -> None:
    with pytest.raises(BadRequest, match="no 1d bars of SYN"):
        pattern_report("SYN", "1d", bars(300, seed=3).head(0))
