"""Tests of bifrost/indicators: batch functions against loops written from the definitions,
hand-computed series, per-bar classes against the batch functions, and argument checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bifrost.errors import BadRequest
from bifrost.indicators import (
    ATR,
    EMA,
    MACD,
    RSI,
    SMA,
    Bollinger,
    RollingStd,
    ZScore,
    atr,
    bollinger,
    crossover,
    crossunder,
    ema,
    macd,
    rolling_std,
    rsi,
    sma,
    zscore,
)

NAN = math.nan
RTOL = 1e-10

# Prices in cents from 1.00 to 1000.00: realistic data without the near-constant windows of
# arbitrary floats, where any two correct algorithms can disagree in the 10th digit.
prices = st.lists(st.integers(100, 100_000), max_size=60).map(lambda c: np.array(c) / 100.0)
windows = st.integers(1, 25)
SETTINGS = settings(max_examples=50, deadline=None)


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal to 1e-10 relative, NaN where expected is NaN."""
    np.testing.assert_allclose(actual, expected, rtol=RTOL, equal_nan=True)


def random_walk(size: int = 400, seed: int = 7) -> np.ndarray:
    """A positive price path with small steps."""
    rng = np.random.default_rng(seed)
    return 100.0 + np.cumsum(rng.normal(0.0, 1.0, size))


# ---- references, straight from the definitions ------------------------------------------


def ref_sma(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        out[i] = math.fsum(x[i - n + 1 : i + 1]) / n
    return out


def ref_std(x: np.ndarray, n: int, ddof: int = 0) -> np.ndarray:
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        window = x[i - n + 1 : i + 1]
        mean = math.fsum(window) / n
        out[i] = math.sqrt(math.fsum((v - mean) ** 2 for v in window) / (n - ddof))
    return out


def ref_zscore(x: np.ndarray, n: int) -> np.ndarray:
    mean, std = ref_sma(x, n), ref_std(x, n)
    out = np.full(len(x), NAN)
    for i in range(n - 1, len(x)):
        if std[i] > 0:
            out[i] = (x[i] - mean[i]) / std[i]
    return out


def ref_ema(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    if len(x) < n:
        return out
    alpha = 2.0 / (n + 1)
    out[n - 1] = math.fsum(x[:n]) / n
    for i in range(n, len(x)):
        out[i] = alpha * x[i] + (1 - alpha) * out[i - 1]
    return out


def ref_rsi(close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), NAN)
    changes = [close[i] - close[i - 1] for i in range(1, len(close))]
    gains = [max(c, 0.0) for c in changes]
    losses = [max(-c, 0.0) for c in changes]
    if len(changes) < n:
        return out
    avg_gain, avg_loss = sum(gains[:n]) / n, sum(losses[:n]) / n
    for i in range(n, len(close)):
        if i > n:
            avg_gain = (avg_gain * (n - 1) + gains[i - 1]) / n
            avg_loss = (avg_loss * (n - 1) + losses[i - 1]) / n
        out[i] = 100.0 if avg_loss == 0 else 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    return out


def ref_atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    out = np.full(len(close), NAN)
    tr = [high[0] - low[0]] if len(close) else []
    for i in range(1, len(close)):
        prev = close[i - 1]
        tr.append(max(high[i] - low[i], abs(high[i] - prev), abs(low[i] - prev)))
    if len(tr) < n:
        return out
    out[n - 1] = sum(tr[:n]) / n
    for i in range(n, len(tr)):
        out[i] = (out[i - 1] * (n - 1) + tr[i]) / n
    return out


def ref_macd(close: np.ndarray, fast: int, slow: int, signal: int) -> tuple[np.ndarray, ...]:
    line = ref_ema(close, fast) - ref_ema(close, slow)
    signal_line = np.full(len(close), NAN)
    signal_line[slow - 1 :] = ref_ema(line[slow - 1 :], signal)
    return line, signal_line, line - signal_line


def ref_cross_above(a: list[float], b: list[float]) -> list[bool]:
    return [i > 0 and a[i] > b[i] and a[i - 1] <= b[i - 1] for i in range(len(a))]


# ---- hand-computed series ---------------------------------------------------------------


def test_sma_hand_series_matches_hand_values() -> None:
    assert_close(sma([1, 2, 3, 4, 5], 3), [NAN, NAN, 2, 3, 4])


def test_ema_hand_series_matches_hand_values() -> None:
    # alpha = 0.5, seeded with mean(1, 2, 3) = 2: then 0.5*4 + 0.5*2 = 3, 0.5*5 + 0.5*3 = 4.
    assert_close(ema([1, 2, 3, 4, 5], 3), [NAN, NAN, 2, 3, 4])


def test_rolling_std_hand_series_is_population_std() -> None:
    assert_close(rolling_std([1, 3, 7], 2), [NAN, 1, 2])


def test_rolling_std_ddof_one_is_sample_std() -> None:
    assert_close(rolling_std([1, 3, 7], 2, ddof=1), [NAN, math.sqrt(2), math.sqrt(8)])


def test_zscore_hand_series_matches_hand_values() -> None:
    # window [1, 3]: mean 2, std 1, so 3 is +1; window [3, 1]: 1 is -1.
    assert_close(zscore([1, 3, 1], 2), [NAN, 1, -1])


def test_bollinger_hand_series_matches_hand_values() -> None:
    middle, upper, lower = bollinger([1, 3, 7], n=2, k=2.0)
    assert_close(middle, [NAN, 2, 5])
    assert_close(upper, [NAN, 4, 9])
    assert_close(lower, [NAN, 0, 1])


def test_rsi_strictly_rising_series_is_100() -> None:
    assert_close(rsi(np.arange(1.0, 21.0), 14), [NAN] * 14 + [100.0] * 6)


def test_rsi_strictly_falling_series_is_0() -> None:
    assert_close(rsi(np.arange(20.0, 0.0, -1.0), 5)[5:], np.zeros(15))


def test_rsi_hand_series_matches_hand_values() -> None:
    # changes +1, -1, +1: averages (0.5, 0.5) -> 50; then (0.75, 0.25) -> RS 3 -> 75.
    assert_close(rsi([1, 2, 1, 2], 2), [NAN, NAN, 50, 75])


def test_atr_hand_series_matches_hand_values() -> None:
    # TR: 3-1 = 2; max(2, |4-2|, |2-2|) = 2; gap up: max(1, |8-3|, |7-3|) = 5.
    result = atr(high=[3, 4, 8], low=[1, 2, 7], close=[2, 3, 7.5], n=2)
    assert_close(result, [NAN, 2, 3.5])


def test_macd_lines_start_where_defined() -> None:
    line, signal_line, histogram = macd(random_walk(60), fast=3, slow=5, signal=4)
    assert np.isnan(line[:4]).all() and not np.isnan(line[4:]).any()
    assert np.isnan(signal_line[:7]).all() and not np.isnan(signal_line[7:]).any()
    assert_close(histogram, line - signal_line)


def test_crossover_tiny_series_marks_cross_above() -> None:
    result = crossover([1, 2, 3, 2, 1, 3], [2, 2, 2, 2, 2, 2])
    assert result.tolist() == [False, False, True, False, False, True]


def test_crossunder_tiny_series_marks_cross_below() -> None:
    result = crossunder([3, 2, 1, 2, 3, 1], [2, 2, 2, 2, 2, 2])
    assert result.tolist() == [False, False, True, False, False, True]


def test_crossover_undefined_neighbour_gives_no_signal() -> None:
    assert not crossover([NAN, 3, 1, 3], [2, 2, NAN, 2]).any()


def test_crossover_scalar_level_is_constant_series() -> None:
    assert crossover([1, 3, 1, 3], 2.0).tolist() == [False, True, False, True]


# ---- edge cases of length and gaps ------------------------------------------------------


@pytest.mark.parametrize(
    "indicator",
    [
        lambda x: sma(x, 5),
        lambda x: ema(x, 5),
        lambda x: rolling_std(x, 5),
        lambda x: zscore(x, 5),
        lambda x: rsi(x, 5),
        lambda x: macd(x, 2, 5, 3)[0],
        lambda x: bollinger(x, 5)[1],
        lambda x: atr(x, x, x, 5),
    ],
)
@pytest.mark.parametrize("size", [0, 3])
def test_indicator_series_shorter_than_window_is_all_nan(indicator: Callable, size: int) -> None:
    result = indicator(np.arange(1.0, size + 1.0))
    assert result.shape == (size,) and result.dtype == np.float64 and np.isnan(result).all()


def test_sma_leading_nans_are_skipped() -> None:
    assert_close(sma([NAN, NAN, 1, 2, 3], 2), [NAN, NAN, NAN, 1.5, 2.5])


def test_sma_window_holding_nan_is_nan() -> None:
    assert_close(sma([1, 2, NAN, 4, 5, 6], 2), [NAN, 1.5, NAN, NAN, 4.5, 5.5])


def test_ema_leading_nans_are_skipped() -> None:
    assert_close(ema([NAN, 1, 2, 3, 4, 5], 3), [NAN, NAN, NAN, 2, 3, 4])


def test_ema_nan_after_start_propagates() -> None:
    assert np.isnan(ema([1, 2, 3, NAN, 5, 6], 2)[3:]).all()


def test_rolling_std_constant_window_is_exactly_zero() -> None:
    result = rolling_std(np.full(50, 0.1), 7)
    assert (result[6:] == 0.0).all()


def test_zscore_flat_window_is_nan() -> None:
    assert np.isnan(zscore(np.full(10, 3.3), 4)).all()


def test_rolling_std_calm_window_after_price_gap_stays_accurate() -> None:
    rng = np.random.default_rng(3)
    spike = 1e6 + rng.normal(0.0, 1e4, 40)
    calm = 10.0 + rng.normal(0.0, 1e-3, 40)
    x = np.concatenate([spike, calm])
    assert_close(rolling_std(x, 20)[60:], ref_std(x, 20)[60:])


def test_rolling_std_long_series_is_never_negative_or_nan() -> None:
    result = rolling_std(random_walk(20_000) * 1e4, 30)
    assert (result[29:] >= 0.0).all() and not np.isnan(result[29:]).any()


# ---- random data against the references -------------------------------------------------


@SETTINGS
@given(x=prices, n=windows)
def test_sma_random_prices_match_reference(x: np.ndarray, n: int) -> None:
    assert_close(sma(x, n), ref_sma(x, n))


@SETTINGS
@given(x=prices, n=windows)
def test_ema_random_prices_match_reference(x: np.ndarray, n: int) -> None:
    assert_close(ema(x, n), ref_ema(x, n))


@SETTINGS
@given(x=prices, n=windows, data=st.data())
def test_rolling_std_random_prices_match_reference(x: np.ndarray, n: int, data) -> None:
    ddof = data.draw(st.integers(0, n - 1))
    # A window of one repeated price has a std of exactly 0, which the reference misses
    # by rounding (2.8e-14 at 242.93): no relative tolerance covers a true zero.
    scale = float(np.max(x)) if len(x) else 1.0
    np.testing.assert_allclose(
        rolling_std(x, n, ddof), ref_std(x, n, ddof), rtol=RTOL, atol=1e-12 * scale, equal_nan=True
    )


@SETTINGS
@given(x=prices, n=windows)
def test_rsi_random_prices_match_reference(x: np.ndarray, n: int) -> None:
    assert_close(rsi(x, n), ref_rsi(x, n))


@SETTINGS
@given(
    close=prices,
    spreads=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=60),
    n=windows,
)
def test_atr_random_bars_match_reference(
    close: np.ndarray, spreads: list[tuple[int, int]], n: int
) -> None:
    spread = np.array(spreads[: len(close)], dtype=float).reshape(-1, 2) / 100.0
    high, low = close + spread[:, 0], close - spread[:, 1]
    assert_close(atr(high, low, close, n), ref_atr(high, low, close, n))


@pytest.mark.parametrize("n", [1, 2, 5, 20])
def test_zscore_random_walk_matches_reference(n: int) -> None:
    x = random_walk()
    assert_close(zscore(x, n), ref_zscore(x, n))


@pytest.mark.parametrize("n,k", [(1, 2.0), (5, 1.5), (20, 2.0)])
def test_bollinger_random_walk_matches_reference(n: int, k: float) -> None:
    x = random_walk()
    middle, upper, lower = bollinger(x, n, k)
    assert_close(middle, ref_sma(x, n))
    assert_close(upper, ref_sma(x, n) + k * ref_std(x, n))
    assert_close(lower, ref_sma(x, n) - k * ref_std(x, n))


@pytest.mark.parametrize("fast,slow,signal", [(12, 26, 9), (1, 2, 1), (3, 10, 5)])
def test_macd_random_walk_matches_reference(fast: int, slow: int, signal: int) -> None:
    x = random_walk()
    for actual, expected in zip(
        macd(x, fast, slow, signal), ref_macd(x, fast, slow, signal), strict=True
    ):
        assert_close(actual, expected)


def test_crossover_random_walks_match_reference() -> None:
    a, b = random_walk(seed=1), random_walk(seed=2)
    assert crossover(a, b).tolist() == ref_cross_above(list(a), list(b))
    assert crossunder(a, b).tolist() == ref_cross_above(list(b), list(a))


# ---- per-bar classes against the batch functions ----------------------------------------


def gappy_walk() -> np.ndarray:
    """A random walk with leading NaNs and gaps, to exercise warm-up and restarts."""
    x = random_walk(300, seed=11)
    x[[0, 1, 100, 101, 200]] = NAN
    return x


def feed(indicator, *columns: np.ndarray, output: str = "value") -> np.ndarray:
    """Each row to `indicator.update`, collecting `output` after every step."""
    values = []
    for row in zip(*columns, strict=True):
        indicator.update(*row)
        values.append(getattr(indicator, output))
    return np.array(values)


@pytest.mark.parametrize(
    "make,batch",
    [
        (lambda: SMA(7), lambda x: sma(x, 7)),
        (lambda: SMA(1), lambda x: sma(x, 1)),
        (lambda: RollingStd(7), lambda x: rolling_std(x, 7)),
        (lambda: RollingStd(7, ddof=1), lambda x: rolling_std(x, 7, ddof=1)),
        (lambda: ZScore(9), lambda x: zscore(x, 9)),
    ],
)
def test_windowed_incremental_gappy_series_equals_batch_at_every_index(make, batch) -> None:
    x = gappy_walk()
    assert_close(feed(make(), x), batch(x))


@pytest.mark.parametrize("output,index", [("value", 0), ("upper", 1), ("lower", 2)])
def test_bollinger_incremental_gappy_series_equals_batch_at_every_index(
    output: str, index: int
) -> None:
    x = gappy_walk()
    assert_close(feed(Bollinger(20, 2.5), x, output=output), bollinger(x, 20, 2.5)[index])


@pytest.mark.parametrize(
    "make,batch",
    [
        (lambda: EMA(10), lambda x: ema(x, 10)),
        (lambda: EMA(1), lambda x: ema(x, 1)),
        (lambda: RSI(14), lambda x: rsi(x, 14)),
        (lambda: RSI(1), lambda x: rsi(x, 1)),
    ],
)
def test_recursive_incremental_equals_batch_at_every_index(make, batch) -> None:
    x = gappy_walk()[:100]  # leading NaNs, then a NaN at 100 would end everything
    assert_close(feed(make(), x), batch(x))


@pytest.mark.parametrize("output,index", [("value", 0), ("signal_line", 1), ("histogram", 2)])
def test_macd_incremental_equals_batch_at_every_index(output: str, index: int) -> None:
    x = gappy_walk()[:100]
    assert_close(feed(MACD(12, 26, 9), x, output=output), macd(x, 12, 26, 9)[index])


def test_atr_incremental_equals_batch_at_every_index() -> None:
    close = gappy_walk()[:100]
    high, low = close + 0.7, close - 0.4
    high[[30, 31]] = close[[30, 31]] + 5.0  # a wide bar, so the gap terms matter
    assert_close(feed(ATR(14), high, low, close), atr(high, low, close, 14))


def test_incremental_nan_after_start_propagates_like_batch() -> None:
    x = gappy_walk()
    assert_close(feed(EMA(5), x), ema(x, 5))
    assert_close(feed(RSI(5), x), rsi(x, 5))


def test_sma_incremental_ready_after_n_values() -> None:
    indicator = SMA(3)
    steps = [(indicator.update(v), indicator.ready) for v in (1.0, 2.0, 3.0)]
    assert [ready for _, ready in steps] == [False, False, True]
    assert indicator.value == steps[-1][0] == 2.0


def test_macd_incremental_ready_waits_for_signal_line() -> None:
    indicator = MACD(2, 3, 2)
    readiness = []
    for close in (1.0, 2.0, 4.0, 3.0):
        indicator.update(close)
        readiness.append((not math.isnan(indicator.value), indicator.ready))
    assert readiness == [(False, False), (False, False), (True, False), (True, True)]


# ---- argument checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda: sma([1.0, 2.0], 0), "n must be >= 1"),
        (lambda: sma([1.0, 2.0], 2.0), "n must be an int"),
        (lambda: sma([1.0, 2.0], True), "n must be an int"),
        (lambda: ema([1.0, 2.0], "3"), "n must be an int"),
        (lambda: sma([[1.0, 2.0]], 1), "x must be 1-D"),
        (lambda: sma(np.float64(1.0), 1), "x must be 1-D"),
        (lambda: sma(["a", "b"], 1), "x must be numeric"),
        (lambda: rolling_std([1.0, 2.0], 2, ddof=2), "ddof must be < n"),
        (lambda: rolling_std([1.0, 2.0], 2, ddof=-1), "ddof must be >= 0"),
        (lambda: rsi([1.0, 2.0], -3), "n must be >= 1"),
        (lambda: macd([1.0, 2.0], 26, 12, 9), "fast (26) must be < slow (12)"),
        (lambda: macd([1.0, 2.0], 12, 26, 0), "signal must be >= 1"),
        (lambda: bollinger([1.0, 2.0], 2, -1.0), "k must be finite and >= 0"),
        (lambda: bollinger([1.0, 2.0], 2, NAN), "k must be finite and >= 0"),
        (lambda: atr([1.0, 2.0], [1.0], [1.0, 2.0], 1), "high=2, low=1, close=2"),
        (lambda: crossover([1.0, 2.0], [1.0, 2.0, 3.0]), "a=2, b=3"),
        (lambda: SMA(0), "n must be >= 1"),
        (lambda: RollingStd(3, ddof=3), "ddof must be < n"),
        (lambda: Bollinger(20, k="2"), "k must be a number"),
        (lambda: MACD(5, 5, 3), "fast (5) must be < slow (5)"),
        (lambda: ATR(1.5), "n must be an int"),
    ],
)
def test_indicator_bad_argument_raises_bad_request(call: Callable, words: str) -> None:
    with pytest.raises(BadRequest) as caught:
        call()
    assert words in caught.value.message


def test_sma_numpy_integer_window_is_accepted() -> None:
    assert_close(sma([1, 2, 3], np.int64(2)), [NAN, 1.5, 2.5])
