"""The rules a bar must pass to be stored, as vectorised Polars expressions.

Each row of one series gets at most one reason, the first rule it breaks in the
order of REASONS. The row-local rules run on every row at once; `out_of_order` runs
on the rows that passed those, and `outlier_jump` on the rows that passed everything
else, so one bad value does not make its neighbours look bad.

A file written newest first (more steps back in time than forward) has the rule
mirrored: there a row is out of order when it is later than the row before it, so
a descending download is not rejected row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

REASONS = (
    "unparseable",
    "duplicate_timestamp",
    "high_below_open_close",
    "low_above_open_close",
    "non_positive_price",
    "negative_volume",
    "out_of_order",
    "outlier_jump",
)
STORED_REASONS = REASONS[2:]
"""The rules that can still fail on stored bars (the primary key forbids the others)."""

MAD_TO_SIGMA = 1.4826
"""Scales a median absolute deviation to a normal standard deviation."""
MIN_ROWS_FOR_OUTLIERS = 20
"""Fewer rows than this give no trustworthy spread of returns: skip `outlier_jump`."""
DEFAULT_OUTLIER_SIGMA = 8.0

_ROW = "_row"


def classify(
    rows: pl.DataFrame,
    *,
    outlier_sigma: float = DEFAULT_OUTLIER_SIGMA,
    min_rows: int = MIN_ROWS_FOR_OUTLIERS,
) -> pl.DataFrame:
    """`rows` (one series, file order) with a `reason` column: null for a good row.

    `rows` needs ts, open, high, low, close, volume and `parsed` (false when a value
    did not parse).
    """
    marked = rows.with_row_index(_ROW).with_columns(reason=row_reason())
    backwards = newest_first(marked.filter(pl.col("reason").is_null())["ts"])
    marked = mark(marked, "out_of_order", lambda good: out_of_order_rows(good, backwards))
    marked = mark(marked, "outlier_jump", lambda good: outlier_rows(good, outlier_sigma, min_rows))
    return marked.drop(_ROW)


def split(
    rows: pl.DataFrame, *, outlier_sigma: float = DEFAULT_OUTLIER_SIGMA
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, rejected rows with their `reason`), both in file order."""
    marked = classify(rows, outlier_sigma=outlier_sigma)
    good = marked.filter(pl.col("reason").is_null()).drop("reason")
    return good, marked.filter(pl.col("reason").is_not_null())


def count_reasons(marked: pl.DataFrame, reasons: tuple[str, ...] = REASONS) -> dict[str, int]:
    """How many rows each reason rejected, every reason listed (0 when none)."""
    counts = marked.group_by("reason").len().drop_nulls("reason")
    found = dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))
    return {reason: int(found.get(reason, 0)) for reason in reasons}


def row_reason() -> pl.Expr:
    """The first row-local rule a row breaks (unparseable ... negative_volume), or null."""
    o, h, low, c, v = (pl.col(name) for name in ("open", "high", "low", "close", "volume"))
    repeated = ~pl.col("ts").is_first_distinct().over("parsed")
    return (
        pl.when(~pl.col("parsed"))
        .then(pl.lit("unparseable"))
        .when(repeated)
        .then(pl.lit("duplicate_timestamp"))
        .when(h < pl.max_horizontal(o, c))
        .then(pl.lit("high_below_open_close"))
        .when(low > pl.min_horizontal(o, c))
        .then(pl.lit("low_above_open_close"))
        .when(pl.min_horizontal(o, h, low, c) <= 0)
        .then(pl.lit("non_positive_price"))
        .when(v < 0)
        .then(pl.lit("negative_volume"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def mark(
    marked: pl.DataFrame, reason: str, find: Callable[[pl.DataFrame], pl.Series]
) -> pl.DataFrame:
    """Give `reason` to the rows `find` picks among the rows that are still good."""
    hits = find(marked.filter(pl.col("reason").is_null()))
    hit = pl.col(_ROW).is_in(hits.implode())
    return marked.with_columns(reason=pl.when(hit).then(pl.lit(reason)).otherwise(pl.col("reason")))


def newest_first(ts: pl.Series) -> bool:
    """True when the series steps back in time more often than forward."""
    steps = ts.diff().drop_nulls()
    return int((steps < 0).sum()) > int((steps > 0).sum())


def out_of_order_rows(good: pl.DataFrame, backwards: bool = False) -> pl.Series:
    """Rows whose ts is earlier than the previous row's (later, in a newest-first file)."""
    ts = pl.col("ts")
    wrong_way = ts > ts.shift(1) if backwards else ts < ts.shift(1)
    return good.filter(wrong_way)[_ROW]


def outlier_rows(good: pl.DataFrame, sigma: float, min_rows: int) -> pl.Series:
    """Rows whose close jumps more than `sigma` robust deviations from the last good close.

    "Last good close" is found in two vectorised passes instead of a row loop: pass
    one flags every large return; pass two measures each flagged row from the last
    unflagged close before it. A lone bad bar is then flagged while the bar after it
    (a large return back to normal) is not, and a level shift flags its first bar.
    """
    if good.height < min_rows:
        return good[_ROW].clear()
    ordered = good.select(_ROW, "ts", "close").sort("ts")
    returns = ordered.select((pl.col("close") / pl.col("close").shift(1)).log()).to_series()
    limit = sigma * robust_std(returns)
    if not limit > 0:
        return good[_ROW].clear()
    close = pl.col("close")
    large = (close / close.shift(1)).log().abs().fill_null(0.0) > limit
    last_good = pl.when(~large).then(close).shift(1).forward_fill()
    jump = large & ((close / last_good).log().abs() > limit).fill_null(False)
    return ordered.filter(jump)[_ROW]


def robust_std(returns: pl.Series) -> float:
    """1.4826 x the median absolute deviation; the plain std when most returns are equal."""
    values = returns.drop_nulls().drop_nans()
    if values.is_empty():
        return 0.0
    median = values.median()
    mad = (values - median).abs().median()
    spread = MAD_TO_SIGMA * float(mad) if mad is not None else 0.0  # type: ignore[arg-type]
    if spread > 0:
        return spread
    std = values.std()
    return float(std) if std is not None else 0.0  # type: ignore[arg-type]
