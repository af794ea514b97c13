"""Rolling per-symbol sentiment: an exponentially decayed mean of article scores.

At an instant t, the articles of a symbol with t - window < ts <= t count, each with
weight 2^(-(t - ts) / half_life). The score is sum(w * s) / (sum(w) + prior_weight):
a decayed mean shrunk towards neutral by `prior_weight` (in units of one fresh
article). Without the prior a decayed mean would not fade at all between articles
(every weight shrinks by the same factor); with it, a lone fresh article at +0.6
reads +0.4, the same article two half-lives later +0.2, and many agreeing articles
approach their own mean. Nothing later than t ever counts, so a score "as of" a bar's
close never looks ahead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bifrost.market.timeframes import timeframe_ns


@dataclass(frozen=True, slots=True)
class Decay:
    """How the rolling score forgets: half-life, window (both ns) and the neutral prior."""

    half_life_ns: int
    window_ns: int
    prior_weight: float = 0.5

    @classmethod
    def parse(cls, half_life: str, window: str, prior_weight: float = 0.5) -> Decay:
        """From durations such as `6h` and `3d`."""
        return cls(timeframe_ns(half_life), timeframe_ns(window), prior_weight)

    def with_window(self, window_ns: int | None) -> Decay:
        """The same decay over another window."""
        return self if window_ns is None else Decay(self.half_life_ns, window_ns, self.prior_weight)


def rolling_score(ts: np.ndarray, scores: np.ndarray, as_of_ns: int, decay: Decay) -> float:
    """The rolling score at `as_of_ns` of articles at times `ts` (ascending) with `scores`."""
    hi = int(np.searchsorted(ts, as_of_ns, side="right"))
    lo = int(np.searchsorted(ts, as_of_ns - decay.window_ns, side="right"))
    if hi <= lo:
        return 0.0
    weights = np.exp2(-(as_of_ns - ts[lo:hi]) / decay.half_life_ns)
    return float(np.dot(weights, scores[lo:hi]) / (weights.sum() + decay.prior_weight))


@dataclass
class SentimentHistory:
    """Article scores by symbol, answering the rolling score at an instant.

    It is the sentiment source strategies read through `Strategy.sentiment`. In a
    backtest the engine's clock shows a bar's start while the strategy acts at its
    close, so `offset_ns` is the bar length there (0 live, where "now" is now).
    """

    decay: Decay
    offset_ns: int = 0
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def from_rows(
        cls, decay: Decay, rows: Iterable[tuple[str, int, float]], offset_ns: int = 0
    ) -> SentimentHistory:
        """From (symbol, ts, score) rows in any order."""
        grouped: dict[str, list[tuple[int, float]]] = {}
        for symbol, ts, score in rows:
            grouped.setdefault(symbol, []).append((int(ts), float(score)))
        history = cls(decay, offset_ns)
        for symbol, items in grouped.items():
            items.sort()
            history.series[symbol] = (
                np.array([t for t, _ in items], dtype=np.int64),
                np.array([s for _, s in items], dtype=np.float64),
            )
        return history

    def add(self, symbol: str, ts: int, score: float) -> None:
        """One more article score (kept in time order)."""
        times, scores = self.series.get(symbol, (np.empty(0, np.int64), np.empty(0)))
        at = int(np.searchsorted(times, ts, side="right"))
        self.series[symbol] = (np.insert(times, at, ts), np.insert(scores, at, score))

    def forget_before(self, ts: int) -> None:
        """Drop scores older than `ts` (a live history keeps one window)."""
        for symbol, (times, scores) in list(self.series.items()):
            keep = int(np.searchsorted(times, ts, side="left"))
            if keep:
                self.series[symbol] = (times[keep:], scores[keep:])

    def score(self, symbol: str, now_ns: int) -> float:
        """The rolling score of `symbol` known at `now_ns` (+ `offset_ns`); 0 without news."""
        found = self.series.get(symbol)
        if found is None:
            return 0.0
        return rolling_score(found[0], found[1], now_ns + self.offset_ns, self.decay)
