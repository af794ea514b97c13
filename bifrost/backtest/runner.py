"""A backtest from request to stored run: load bars, build the strategy, run, record.

Shared by the CLI (in-process, when the strategy daemon is down) and the strategy
daemon, so both produce the same run records.
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bifrost.backtest.annualisation import TRADING_HOURS, describe, periods_per_year
from bifrost.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from bifrost.backtest.stats import infer_periods_per_year, to_jsonable
from bifrost.code_version import code_version
from bifrost.errors import BadRequest, InvalidParameter
from bifrost.sim.costs import (
    check_slippage,
    describe_commission,
    describe_slippage,
    parse_commission,
)
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.loader import strategy_class
from bifrost.strategy.sentiment import SentimentSource
from bifrost.strategy.strategy import Strategy

if TYPE_CHECKING:
    import polars as pl

ENGINES = ("event", "vector", "tick")
"""event: bars, event by event; vector: bar signals in numba; tick: recorded quotes."""
MAX_PERIODS_PER_YEAR = 365 * 24 * 3600
"""The most bars a year can hold that `--periods-per-year` takes: one a second, all year."""


@dataclass(frozen=True, slots=True)
class RunRequest:
    """Everything that defines one backtest."""

    strategy: str
    symbols: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)
    start_ns: int | None = None
    end_ns: int | None = None
    timeframe: str = "1d"
    cash: float = 100_000.0
    commission: str = "0"
    slippage_bps: float = 0.0
    fill: str = "next-open"
    engine: str = "event"
    file: str | None = None
    """A user's Python file holding the strategy class."""
    close_at_end: bool = True
    """Close what is still held after the last bar at its close (a trade), or leave it
    open (marked at the last close, no trade)."""
    periods_per_year: float | None = None
    """Bars per year that annualise the statistics; None: from `trading_hours`."""
    trading_hours: str | None = None
    """equity, fx or crypto (bifrost.backtest.annualisation), from the first symbol's
    instrument; None (and no periods_per_year): inferred from the bar spacing."""

    def __post_init__(self) -> None:
        if not self.symbols:
            raise BadRequest("a backtest needs at least one symbol")
        if self.engine not in ENGINES:
            raise BadRequest(f"engine '{self.engine}' must be event, vector or tick")
        if self.start_ns is not None and self.end_ns is not None and self.start_ns >= self.end_ns:
            raise BadRequest("the start of the range must be before its end")
        self._check_conventions()

    def _check_conventions(self) -> None:
        """Money, costs and annualisation that make sense, else InvalidParameter naming the
        option (the CLI exits 2, the RPC answers BAD_REQUEST)."""
        if not (math.isfinite(self.cash) and self.cash > 0):
            raise InvalidParameter("cash", f"--cash {self.cash:g} must be positive", "cash > 0")
        parse_commission(self.commission)
        check_slippage(self.slippage_bps)
        ppy = self.periods_per_year
        if ppy is not None and not (math.isfinite(ppy) and 0 < ppy <= MAX_PERIODS_PER_YEAR):
            raise InvalidParameter(
                "periods_per_year",
                f"--periods-per-year {ppy:g} must be above 0 and at most {MAX_PERIODS_PER_YEAR:,}",
                f"0 < periods_per_year <= {MAX_PERIODS_PER_YEAR}",
            )
        if self.trading_hours is not None and self.trading_hours not in TRADING_HOURS:
            raise InvalidParameter(
                "trading_hours",
                f"trading hours '{self.trading_hours}' must be {', '.join(TRADING_HOURS)}",
            )

    def annual_periods(self) -> float | None:
        """The periods per year the statistics use (None: inferred from the bar spacing)."""
        if self.periods_per_year is not None:
            return float(self.periods_per_year)
        if self.trading_hours is None or self.engine == "tick":
            return None
        from bifrost.market.timeframes import timeframe_ns

        return periods_per_year(self.trading_hours, timeframe_ns(self.timeframe))

    def conventions(self, ts: np.ndarray) -> dict[str, Any]:
        """The costs as read and the annualisation used, for the run's output."""
        used = self.annual_periods()
        hours = None if self.engine == "tick" else self.trading_hours
        return {
            "commission_read": describe_commission(parse_commission(self.commission)),
            "slippage_read": describe_slippage(self.slippage_bps),
            "periods_per_year_used": used if used is not None else infer_periods_per_year(ts),
            "annualisation": describe(hours, self.periods_per_year is not None),
        }

    def config(self) -> BacktestConfig:
        """The engine settings of this request."""
        return BacktestConfig(
            cash=self.cash,
            commission=parse_commission(self.commission),
            slippage_bps=self.slippage_bps,
            fill=self.fill,
            close_at_end=self.close_at_end,
            timeframe=self.timeframe,
            periods_per_year=self.annual_periods(),
        )

    def build_strategy(self) -> Strategy:
        """The strategy with this request's parameters; InvalidParameter names a parameter
        that breaks the strategy's constraints."""
        return strategy_class(self.strategy, self.file)(**self.params)

    def to_dict(self) -> dict[str, Any]:
        """A plain map (for RPC params and storage)."""
        out = asdict(self)
        out["symbols"] = list(self.symbols)
        return out


def bar_arrays(frame: pl.DataFrame) -> BarArrays:
    """One symbol's bars frame as arrays."""
    return BarArrays(
        frame["ts"].to_numpy().astype(np.int64),
        frame["open"].to_numpy().astype(np.float64),
        frame["high"].to_numpy().astype(np.float64),
        frame["low"].to_numpy().astype(np.float64),
        frame["close"].to_numpy().astype(np.float64),
        frame["volume"].to_numpy().astype(np.float64),
    )


def run_request(
    request: RunRequest, data: dict[str, BarArrays], sentiment: SentimentSource | None = None
) -> BacktestResult:
    """Run one request over already loaded bars (with either engine); `sentiment` is what
    the strategy's `sentiment()` reads (neutral without it)."""
    missing = [s for s in request.symbols if s not in data or len(data[s]) == 0]
    if missing:
        raise BadRequest(f"no {request.timeframe} bars in the range for {', '.join(missing)}")
    cls = strategy_class(request.strategy, request.file)
    strategy = request.build_strategy()
    if sentiment is not None:
        strategy.news = sentiment
    config = request.config()
    if request.engine == "event":
        return run_backtest(strategy, {s: data[s] for s in request.symbols}, config)
    if request.engine == "tick":
        from bifrost.backtest.ticks import QuoteArrays, run_tick_backtest

        quotes = {s: data[s] for s in request.symbols}
        if not all(isinstance(q, QuoteArrays) for q in quotes.values()):
            raise BadRequest("the tick engine needs quotes (load them with load_quotes)")
        return run_tick_backtest(strategy, quotes, config)  # type: ignore[arg-type]
    targets = getattr(cls, "targets", None)
    signals = getattr(cls, "signals", None)
    if (targets is None and signals is None) or len(request.symbols) != 1:
        raise BadRequest(
            f"the vector engine runs one symbol of a strategy with targets or signals; "
            f"{cls.name or cls.__name__} on {len(request.symbols)} symbol(s) needs --engine event"
        )
    from bifrost.backtest.vector import run_vector_targets, targets_of

    (symbol,) = request.symbols
    bars = data[symbol]
    params = strategy.params()
    if targets is not None:
        wanted = targets(bars, **params)
    else:
        assert signals is not None
        wanted = targets_of(*signals(bars, **params))
    if not strategy.allow_short and (np.asarray(wanted) < 0).any():
        raise BadRequest(f"{cls.name or cls.__name__} targets a short but does not allow_short")
    return run_vector_targets(symbol, bars, wanted, config)


def run_record(
    request: RunRequest, result: BacktestResult, kind: str = "run"
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows that store a run: the run itself, its trades, its equity curve."""
    run_id = uuid.uuid4().hex[:12]
    params = request.build_strategy().params()
    run = {
        "run_id": run_id,
        "created_ns": time.time_ns(),
        "strategy": request.strategy,
        "params": params,
        "symbols": list(request.symbols),
        "timeframe": request.timeframe,
        "start_ns": int(result.ts[0]),
        "end_ns": int(result.ts[-1]),
        "engine": request.engine,
        "settings": {k: v for k, v in request.to_dict().items() if k not in ("params", "symbols")}
        | request.conventions(result.ts),
        "code_version": code_version(),
        "stats": to_jsonable(result.stats),
        "kind": kind,
    }
    trades = [
        {
            "run_id": run_id,
            "symbol": t.symbol,
            "entry_ts": t.entry_ts,
            "exit_ts": t.exit_ts,
            "size": t.size,
            "entry_price": t.entry_price,
            "exit_price": t.exit_price,
            "pnl": t.pnl,
            "commission": t.commission,
        }
        for t in result.trades
    ]
    equity = [
        {"run_id": run_id, "ts": int(ts), "equity": float(e), "exposed": bool(x)}
        for ts, e, x in zip(result.ts, result.equity, result.exposure, strict=True)
    ]
    return run, trades, equity


def request_of(values: dict[str, Any]) -> RunRequest:
    """A RunRequest from its plain map (RPC params); bad fields are BadRequest."""
    given = {k: v for k, v in values.items() if v is not None}
    if not isinstance(given.get("symbols"), list):
        raise BadRequest("a backtest request needs a list of symbols")
    try:
        return RunRequest(**{**given, "symbols": tuple(given["symbols"])})
    except TypeError as exc:
        raise BadRequest(f"not a backtest request: {exc}") from None
