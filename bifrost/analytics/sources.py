"""The inputs of a tearsheet, from running daemons when they answer, else from their files.

- a backtest run: the strategy service (`backtest.show`) or strategy.duckdb;
- the live account: equity snapshots of portfolio.duckdb, fills and orders of the
  execution journal (each table through its owner's `sql.export`, or the file);
- benchmark bars and recorded quotes: the data service or data.duckdb.

Marks of open positions are the last recorded mid (within a minute before the last
equity point), else the last fill price of the symbol.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bifrost.analytics.tca import STALE_NS, QuoteBook, transaction_costs
from bifrost.analytics.tearsheet import Benchmark, TearsheetInput
from bifrost.analytics.trades import round_trips
from bifrost.backtest.stats import NS_PER_DAY
from bifrost.bus import methods
from bifrost.clock import Clock, LiveClock
from bifrost.errors import BadRequest, BifrostError, NotFound
from bifrost.sql.tables import read_table
from bifrost.store.database import StoreError

if TYPE_CHECKING:
    from bifrost.client import BifrostClient
    from bifrost.config import BifrostConfig
    from bifrost.market.gateway import DataGateway

DEFAULT_BENCHMARK = "SPY"
CLUSTER_GAP_NS = 600 * 1_000_000_000
"""Instants closer than this share one quote request (one range per cluster)."""


class ReportSources:
    """Gathers a TearsheetInput for a run id or for "live"."""

    def __init__(
        self, config: BifrostConfig, client: BifrostClient, home: Path, clock: Clock | None = None
    ) -> None:
        from bifrost.market.gateway import DataGateway

        self.clock = clock or LiveClock()
        self.config = config
        self.client = client
        self.home = home
        self.data: DataGateway = DataGateway(client, home)

    def gather(self, subject: str, benchmark: str | None = None) -> TearsheetInput:
        """The input of `subject`: a run id (a unique prefix is enough) or "live"."""
        if not subject.strip():
            raise BadRequest("give a backtest run id (or a unique prefix of one) or `live`")
        if subject == "live":
            return self.live(benchmark)
        return self.run(subject, benchmark)

    def run(self, run_id: str, benchmark: str | None) -> TearsheetInput:
        """A stored backtest run with its trades and equity curve."""
        from bifrost.backtest.gateway import BacktestGateway

        run = BacktestGateway(self.client, self.home).show(run_id)
        points = run["equity"]
        ts = np.array([p["ts"] for p in points], dtype=np.int64)
        trades = [{**t, "strategy": run["strategy"]} for t in run["trades"]]
        notional = sum(abs(t["size"]) * (t["entry_price"] + t["exit_price"]) for t in trades)
        symbols = " ".join(run["symbols"])
        return TearsheetInput(
            kind="run",
            subject=run["run_id"],
            title=f"{run['strategy']} on {symbols} ({run['timeframe']}, run {run['run_id']})",
            ts=ts,
            equity=np.array([p["equity"] for p in points], dtype=np.float64),
            exposed=np.array([p["exposed"] for p in points], dtype=bool),
            trades=trades,
            traded_notional=float(notional),
            benchmark=self.benchmark(benchmark, ts, run["timeframe"]),
        )

    def live(self, benchmark: str | None) -> TearsheetInput:
        """The live account: equity snapshots, fills as round trips, costs of every fill."""
        account = self.config.portfolio.account
        snapshots = self._table("portfolio", "portfolio", "equity_snapshots")
        snapshots = snapshots.filter(snapshots["account"] == account).sort("ts_ns")
        if snapshots.height == 0:
            raise NotFound(f"no equity snapshots of account '{account}' yet (portfolio service)")
        ts = snapshots["ts_ns"].to_numpy().astype(np.int64)
        equity = snapshots["equity"].cast(float).to_numpy()
        ts, equity = self._with_equity_now(account, ts, equity)
        fills = self._fills(account)
        trades, lots = round_trips(fills)
        marks = self._marks(fills, {lot.symbol for lot in lots}, int(ts[-1]))
        return TearsheetInput(
            kind="live",
            subject="live",
            title=f"live account {account}",
            ts=ts,
            equity=equity,
            exposed=_exposed(fills, ts),
            trades=trades,
            traded_notional=float(sum(f["quantity"] * f["price"] for f in fills)),
            benchmark=self.benchmark(benchmark, ts, None),
            lots=lots,
            marks=marks,
            tca=self._costs(fills) if fills else None,
        )

    def _with_equity_now(
        self, account: str, ts: np.ndarray, equity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The snapshots and, when the portfolio service runs, its equity at this moment
        (snapshots are taken once a minute; the report should end now)."""
        if not self.client.answers("portfolio"):
            return ts, equity
        now = self.clock.now_ns()
        if now <= ts[-1]:
            return ts, equity
        pnl = self.client.call(
            "portfolio", methods.PORTFOLIO_PNL, {"account": account}, idempotent=True
        )
        return np.append(ts, now), np.append(equity, float(pnl["equity"]))

    def benchmark(self, symbol: str | None, ts: np.ndarray, timeframe: str | None) -> Benchmark:
        """Closes of the benchmark over the curve's span; a named one must exist."""
        name = (symbol or DEFAULT_BENCHMARK).upper()
        if len(ts) == 0:
            return Benchmark(name, error="no equity points to compare")
        if timeframe is None:
            spacing = int(np.median(np.diff(ts))) if len(ts) > 1 else NS_PER_DAY
            timeframe = "1m" if spacing < NS_PER_DAY else "1d"
        try:
            frame = self.data.bars(name, timeframe, None, int(ts[-1]) + 1)
        except BifrostError as exc:
            if symbol is not None:
                raise NotFound(f"benchmark {name}: {exc.message}", {"symbol": name}) from None
            return Benchmark(name, error=exc.message)
        return Benchmark(name, frame["ts"].to_numpy(), frame["close"].to_numpy())

    def _table(self, service: str, stem: str, table: str) -> Any:
        return read_table(self.client, self.home, service, stem, table)

    def _fills(self, account: str) -> list[dict[str, Any]]:
        try:
            frame = self._table("execution", "execution", "fills")
        except NotFound:
            return []  # no journal yet: nothing was ever traded here
        return frame.filter(frame["account"] == account).sort("ts_ns").to_dicts()

    def _costs(self, fills: list[dict[str, Any]]) -> dict[str, Any]:
        orders = self._table("execution", "execution", "orders")
        submitted = dict(zip(orders["client_order_id"], orders["created_ns"], strict=True))
        instants: dict[str, list[int]] = {}
        for fill in fills:
            moments = instants.setdefault(fill["symbol"], [])
            moments.append(int(fill["ts_ns"]))
            if fill["client_order_id"] in submitted:
                moments.append(int(submitted[fill["client_order_id"]]))
        quotes = QuoteBook()
        for symbol, moments in instants.items():
            for start, end in clusters(moments, CLUSTER_GAP_NS):
                self._add_quotes(quotes, symbol, start - STALE_NS, end + 1)
        return transaction_costs(fills, submitted, quotes)

    def _add_quotes(self, book: QuoteBook, symbol: str, start: int, end: int) -> None:
        try:
            frame = self.data.quotes(symbol, start, end)
        except (NotFound, StoreError):
            return  # nothing recorded around then: those fills have no reference mid
        book.add(symbol, frame["ts"].to_numpy(), frame["bid"].to_numpy(), frame["ask"].to_numpy())

    def _marks(self, fills: list[dict[str, Any]], held: set[str], at: int) -> dict[str, float]:
        marks = {f["symbol"]: float(f["price"]) for f in fills if f["symbol"] in held}
        for symbol in held:
            book = QuoteBook()
            self._add_quotes(book, symbol, at - STALE_NS, at + 1)
            mid = book.mid_at(symbol, at)
            if mid is not None:
                marks[symbol] = mid
        return marks


def clusters(instants: list[int], gap: int) -> list[tuple[int, int]]:
    """(first, last) of each run of sorted instants whose neighbours are at most `gap` apart."""
    out: list[tuple[int, int]] = []
    for moment in sorted(instants):
        if out and moment - out[-1][1] <= gap:
            out[-1] = (out[-1][0], moment)
        else:
            out.append((moment, moment))
    return out


def _exposed(fills: list[dict[str, Any]], ts: np.ndarray) -> np.ndarray:
    """True at each instant of `ts` when any symbol's net position (from fills) is open."""
    exposed = np.zeros(len(ts), dtype=bool)
    by_symbol: dict[str, list[dict[str, Any]]] = {}
    for fill in fills:
        by_symbol.setdefault(fill["symbol"], []).append(fill)
    for rows in by_symbol.values():
        times = np.array([f["ts_ns"] for f in rows], dtype=np.int64)
        signed = np.array(
            [f["quantity"] * (1 if f["side"] == "BUY" else -1) for f in rows], dtype=np.float64
        )
        held = np.cumsum(signed)
        idx = np.searchsorted(times, ts, side="right") - 1
        exposed |= (idx >= 0) & (np.abs(held[np.maximum(idx, 0)]) > 1e-9)
    return exposed
