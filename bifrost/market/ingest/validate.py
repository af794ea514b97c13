"""The rules a bar must pass to be stored, as vectorised Polars expressions.

A row is quarantined only when it is provably invalid: it did not parse, holds a
non-finite value or a magnitude no market has, breaks OHLC order, has a price at or
below zero or a negative volume, or repeats or goes back in time. Those are the
HARD_REASONS. A surprising move (`outlier_jump`) is not proof of anything: a gap that
persists is information, so such a row is kept and reported as a warning, and only
a strict import quarantines it.

Each row of one series gets at most one reason, the first rule it breaks in the
order of REASONS. The row-local rules run on every row at once, however short the
series; `out_of_order` runs on the rows that passed those, and `outlier_jump` on the
rows that passed everything else, so one bad value does not make its neighbours
look bad.

A file written newest first (more steps back in time than forward) has the rule
mirrored: there a row is out of order when it is later than the row before it, so
a descending download is not rejected row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from bifrost.market.ingest.options import DEFAULT_OUTLIER_SIGMA

HARD_REASONS = (
    "unparseable",
    "non_finite",
    "duplicate_timestamp",
    "high_below_open_close",
    "low_above_open_close",
    "non_positive_price",
    "price_out_of_range",
    "negative_volume",
    "volume_out_of_range",
    "out_of_order",
)
"""Rules whose rows are provably invalid: always quarantined, never released."""
WARNING_REASONS = ("outlier_jump",)
"""Rules whose rows are kept and reported (quarantined only by a strict import)."""
REASONS = (*HARD_REASONS, *WARNING_REASONS)
ROW_REASONS = HARD_REASONS[:-1]
"""The hard rules that look at one row alone (plus its timestamp's first use)."""
STORED_REASONS = tuple(r for r in HARD_REASONS if r not in ("unparseable", "duplicate_timestamp"))
"""The hard rules that can still fail on stored bars (the primary key forbids the others)."""

REASON_TEXT = {
    "unparseable": "a time or price is missing or is not a number",
    "non_finite": "a price or the volume is infinite or not a number",
    "duplicate_timestamp": "an earlier row has the same time",
    "high_below_open_close": "high is below open or close",
    "low_above_open_close": "low is above open or close",
    "non_positive_price": "a price is zero or negative",
    "price_out_of_range": "a price is outside [1e-12, 1e12]",
    "negative_volume": "volume is negative",
    "volume_out_of_range": "volume is above 1e18",
    "out_of_order": "the time is earlier than the row before it",
    "outlier_jump": "the close moved far more than the series usually does",
}
"""What each reason means, for the people who read a report."""

MIN_PRICE = 1e-12
MAX_PRICE = 1e12
"""Prices outside [MIN_PRICE, MAX_PRICE] exist on no market (a satoshi-priced token is
~1e-10, the dearest share ~1e6): such a value is a unit or encoding error."""
MAX_VOLUME = 1e18
"""No bar trades more than this (a whole day of the busiest meme token is ~1e14 units)."""

MAD_TO_SIGMA = 1.4826
"""Scales a median absolute deviation to a normal standard deviation."""
MIN_ROWS_FOR_OUTLIERS = 20
"""Fewer rows than this give no trustworthy spread of returns: skip `outlier_jump`
(a warning only; every hard rule runs whatever the length)."""

_ROW = "_row"
_VALUES = ("open", "high", "low", "close", "volume")


def classify(
    rows: pl.DataFrame,
    *,
    outlier_sigma: float = DEFAULT_OUTLIER_SIGMA,
    min_rows: int = MIN_ROWS_FOR_OUTLIERS,
) -> pl.DataFrame:
    """`rows` (one series, file order) with `reason` (null for a good row) and `move`.

    `rows` needs ts, open, high, low, close, volume and `parsed` (false when a value
    is missing or did not parse). `move` is the close's relative change from the last
    good close for an `outlier_jump` row (0.2 for +20 %), null elsewhere.
    """
    marked = rows.with_row_index(_ROW).with_columns(reason=row_reason())
    backwards = newest_first(marked.filter(pl.col("reason").is_null())["ts"])
    marked = mark(marked, "out_of_order", lambda good: out_of_order_rows(good, backwards))
    jumps = outlier_rows(marked.filter(pl.col("reason").is_null()), outlier_sigma, min_rows)
    hit = pl.col(_ROW).is_in(jumps[_ROW].implode())
    marked = marked.join(jumps, on=_ROW, how="left").with_columns(
        reason=pl.when(hit).then(pl.lit("outlier_jump")).otherwise(pl.col("reason"))
    )
    return marked.drop(_ROW)


def split(
    rows: pl.DataFrame, *, outlier_sigma: float = DEFAULT_OUTLIER_SIGMA, strict: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, quarantined rows with their `reason`), both in file order."""
    marked = classify(rows, outlier_sigma=outlier_sigma)
    out = quarantined(strict)
    return marked.filter(~out).drop("reason", "move"), marked.filter(out)


def quarantined(strict: bool) -> pl.Expr:
    """True for a row an import quarantines: a hard reason, or any reason when strict."""
    reason = pl.col("reason")
    return reason.is_not_null() if strict else reason.is_in(HARD_REASONS).fill_null(False)


def count_reasons(marked: pl.DataFrame, reasons: tuple[str, ...] = REASONS) -> dict[str, int]:
    """How many rows each reason names, every reason listed (0 when none)."""
    counts = marked.group_by("reason").len().drop_nulls("reason")
    found = dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))
    return {reason: int(found.get(reason, 0)) for reason in reasons}


def row_reason() -> pl.Expr:
    """The first row-local rule a row breaks (unparseable ... volume_out_of_range), or null."""
    o, h, low, c, v = (pl.col(name) for name in _VALUES)
    finite = pl.all_horizontal(pl.col(name).is_finite() for name in _VALUES)
    repeated = ~pl.col("ts").is_first_distinct().over(pl.col("parsed") & finite)
    price_low, price_high = pl.min_horizontal(o, h, low, c), pl.max_horizontal(o, h, low, c)
    return (
        pl.when(~pl.col("parsed"))
        .then(pl.lit("unparseable"))
        .when(~finite)
        .then(pl.lit("non_finite"))
        .when(repeated)
        .then(pl.lit("duplicate_timestamp"))
        .when(h < pl.max_horizontal(o, c))
        .then(pl.lit("high_below_open_close"))
        .when(low > pl.min_horizontal(o, c))
        .then(pl.lit("low_above_open_close"))
        .when(price_low <= 0)
        .then(pl.lit("non_positive_price"))
        .when((price_low < MIN_PRICE) | (price_high > MAX_PRICE))
        .then(pl.lit("price_out_of_range"))
        .when(v < 0)
        .then(pl.lit("negative_volume"))
        .when(v > MAX_VOLUME)
        .then(pl.lit("volume_out_of_range"))
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


def outlier_rows(good: pl.DataFrame, sigma: float, min_rows: int) -> pl.DataFrame:
    """(row, move) of closes that jump more than `sigma` robust deviations.

    A jump is measured from the last good close, found in two vectorised passes
    instead of a row loop: pass one flags every large return; pass two measures each
    flagged row from the last unflagged close before it. A lone bad bar is then
    flagged while the bar after it (a large return back to normal) is not, and a
    level shift flags its first bar only.
    """
    none = pl.DataFrame(schema={_ROW: pl.UInt32, "move": pl.Float64})
    if good.height < min_rows:
        return none
    ordered = good.select(_ROW, "ts", "close").sort("ts")
    returns = ordered.select((pl.col("close") / pl.col("close").shift(1)).log()).to_series()
    limit = sigma * robust_std(returns)
    if not limit > 0:
        return none
    close = pl.col("close")
    large = (close / close.shift(1)).log().abs().fill_null(0.0) > limit
    last_good = pl.when(~large).then(close).shift(1).forward_fill()
    jump = large & ((close / last_good).log().abs() > limit).fill_null(False)
    flagged = ordered.with_columns(jump=jump, move=close / last_good - 1.0).filter("jump")
    return flagged.select(pl.col(_ROW).cast(pl.UInt32), "move")


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
