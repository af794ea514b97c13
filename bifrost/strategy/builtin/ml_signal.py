"""Trade on a registered model's signal: long while it expects a rise, flat otherwise."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from bifrost.model.market import Bar
from bifrost.sim.constraints import at_least, between
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy


def rise_probabilities(
    model: Any,
    record: dict[str, Any],
    news: Any,
    ts: NDArray[np.int64],
    open_: NDArray[np.float64],
    high: NDArray[np.float64],
    low: NDArray[np.float64],
    close: NDArray[np.float64],
    volume: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The model's probability of a rise at every bar, NaN while its features warm up and
    on every bar the model learnt from.

    Each bar's value comes from that bar and earlier ones only (the training's own
    point-in-time features), so reading it bar by bar never looks ahead. The bars up
    to the end of the training range, and the `horizon` bars its last labels looked
    at, are in-sample: a model scores those far better than it ever will again, so
    the strategy stays flat there.
    """
    import polars as pl

    from bifrost.ml.inference import score_bars

    bars = pl.DataFrame(
        {"ts": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    )
    scored = score_bars(model, bars, record["timeframe"], news)
    probability = scored["probability"].fill_null(np.nan).to_numpy().astype(np.float64)
    last_seen = np.searchsorted(ts, record["train_end"], side="right") - 1 + record["horizon"]
    probability[: max(0, last_seen + 1)] = np.nan
    return probability


class MLSignal(Strategy):
    """Long while model `model` gives a rise more than `threshold` probability; flat below.

    Flat on the bars the model was trained on (train with `--end`, backtest after it).
    `version` 0 means the model's latest version. The model comes from the ml service
    when it runs, else from ml.duckdb in `home` (default: the usual data dir); `config`
    picks the config file that says where the ml service listens.
    """

    name = "ml_signal"
    model: str = ""
    version: int = 0
    threshold: float = 0.55
    home: str = ""
    config: str = ""
    constraints = (at_least("version", 0), between("threshold", 0, 1))

    @classmethod
    def signals(
        cls,
        bars: BarArrays,
        model: str = "",
        version: int = 0,
        threshold: float = 0.55,
        home: str = "",
        config: str = "",
    ) -> tuple[np.ndarray, ...]:
        """Entry and exit signals for the vectorized engine (NaN compares false)."""
        from bifrost.ml.gateway import resolve_model

        record, fitted, _ = resolve_model(model, version, home, config, [])
        probability = rise_probabilities(
            fitted, record, None, bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume
        )
        long = probability > threshold
        return long, ~long

    def on_start(self) -> None:
        from bifrost.ml.gateway import resolve_model

        self.fraction = 1 / len(self.symbols)
        record, fitted, news = resolve_model(
            self.model, self.version, self.home, self.config, self.symbols
        )
        self.probability = {}
        for symbol in self.symbols:
            data = self.data[symbol]
            self.probability[symbol] = self.I(
                rise_probabilities,
                fitted,
                record,
                news.get(symbol),
                data.ts,
                data.open,
                data.high,
                data.low,
                data.close,
                data.volume,
                symbol=symbol,
            )

    def on_bar(self, bar: Bar) -> None:
        expects_rise = self.probability[bar.symbol][-1] > self.threshold
        held = self.position(bar.symbol)
        if held == 0 and expects_rise:
            self.buy(bar.symbol, fraction=self.fraction)
        elif held > 0 and not expects_rise:
            self.sell(bar.symbol)
