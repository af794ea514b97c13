"""Backtests for the CLI and TUI: through the strategy daemon when it runs, else in-process.

The strategy daemon owns strategy.duckdb. When it answers, runs go through it (and
are stored by it); when it does not, the gateway loads bars through the data
gateway, runs the engine here and stores the run in the file itself, so both
routes leave the same records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bifrost.backtest.annualisation import trading_hours_of
from bifrost.backtest.runner import RunRequest, bar_arrays, run_record, run_request
from bifrost.bus import methods, topics
from bifrost.client import BifrostClient
from bifrost.errors import BadRequest, BifrostError, error_from_wire
from bifrost.job_waiter import Progress as JobProgress
from bifrost.job_waiter import submit_and_wait
from bifrost.jobs import FAILED
from bifrost.market.gateway import DataGateway
from bifrost.model.instrument import Instrument
from bifrost.strategy.sentiment import NoNews, SentimentSource

SERVICE = "strategy"
RUN_TIMEOUT_S = 3600


def strategy_store(home: Path) -> Path:
    """Where the strategy service keeps its DuckDB file."""
    return home / "strategy.duckdb"


def load_bars(data: DataGateway, request: RunRequest) -> dict[str, Any]:
    """The request's bars (or recorded quotes, for the tick engine) of every symbol."""
    if request.engine == "tick":
        return load_quotes(data, request)
    frames = data.bars_of_symbols(
        request.symbols, request.timeframe, request.start_ns, request.end_ns
    )
    out = {}
    for symbol, frame in frames.items():
        if frame.height == 0:
            raise BadRequest(f"no {request.timeframe} bars for {symbol} in the requested range")
        out[symbol] = bar_arrays(frame)
    return out


def with_trading_hours(data: DataGateway, request: RunRequest) -> RunRequest:
    """`request` with the trading hours of its first symbol's instrument (stored, else the
    default for such a symbol), which set its annualisation; unchanged when it already has
    them or a periods-per-year figure."""
    if request.periods_per_year is not None or request.trading_hours is not None:
        return request
    symbol = request.symbols[0]
    stored = [i for i in data.instruments() if i.get("symbol") == symbol]
    instrument = Instrument.from_dict(stored[0]) if stored else Instrument.default_for(symbol)
    return replace(request, trading_hours=trading_hours_of(instrument))


def load_quotes(data: DataGateway, request: RunRequest) -> dict[str, Any]:
    """The request's recorded quotes of every symbol, as QuoteArrays."""
    from bifrost.backtest.ticks import QuoteArrays

    out = {}
    for symbol in request.symbols:
        frame = data.quotes(symbol, request.start_ns, request.end_ns)
        out[symbol] = QuoteArrays(*(frame[c].to_numpy() for c in frame.columns))
    return out


def load_sentiment(
    client: BifrostClient, home: Path, request: RunRequest, data: dict[str, Any]
) -> SentimentSource:
    """News scores of the request's symbols over its data, read as of each bar's close
    (a tick backtest reads them as of each quote): from the news service or its file."""
    from bifrost.market.timeframes import timeframe_ns
    from bifrost.news.gateway import NewsGateway

    offset = 0 if request.engine == "tick" else timeframe_ns(request.timeframe)
    times = [series.ts for series in data.values() if len(series)]
    if not times:
        return NoNews()
    start = min(int(t[0]) for t in times)
    end = max(int(t[-1]) for t in times) + offset
    return NewsGateway(client, home).history(list(request.symbols), start, end, offset)


def job_error(state: dict[str, Any]) -> BifrostError:
    """The typed error a failed job of the strategy daemon ended with (the error the same
    work raises in-process); BadRequest when the daemon gave only a message."""
    failure = state.get("failure")
    if isinstance(failure, dict):
        return error_from_wire(failure)
    return BadRequest(str(state["error"]))


class BacktestGateway:
    """Run, list and show backtests, whichever route is open."""

    def __init__(self, client: BifrostClient, home: Path) -> None:
        self.client = client
        self.home = home
        self.data = DataGateway(client, home)
        self.via = "daemon" if client.answers(SERVICE) else "file"

    def _open(self, read_only: bool) -> Any:
        from bifrost.store.database import open_store
        from bifrost.store.schema import STRATEGY

        return open_store(strategy_store(self.home), read_only=read_only, migrations=STRATEGY)

    def run(self, request: RunRequest) -> dict[str, Any]:
        """Run and store one backtest; returns the stored run (with trades and equity)."""
        request = with_trading_hours(self.data, request)
        if self.via == "daemon":
            return self._run_remote(request)
        from bifrost.store.runs import load_run, save_run

        data = load_bars(self.data, request)
        sentiment = load_sentiment(self.client, self.home, request, data)
        result = run_request(request, data, sentiment)
        run, trades, equity = run_record(request, result)
        with self._open(read_only=False) as connection:
            save_run(connection, run, trades, equity)
            return load_run(connection, run["run_id"])

    def _run_remote(self, request: RunRequest) -> dict[str, Any]:
        state = self._job(methods.BACKTEST_RUN, request.to_dict())
        return self.show(state["run_id"])

    def _job(
        self, method: str, params: dict[str, Any], progress: JobProgress | None = None
    ) -> dict[str, Any]:
        """Submit a job to the strategy daemon and wait for its `done` event; the done
        job's record, or the job's typed error raised when it failed."""
        _, state = submit_and_wait(
            self.client,
            SERVICE,
            (method, params),
            methods.BACKTEST_JOB,
            topics.backtest_job,
            RUN_TIMEOUT_S,
            progress,
        )
        if state["state"] == FAILED:
            raise job_error(state)
        return state

    def sweep(
        self,
        request: RunRequest,
        grid: list[str],
        metric: str,
        jobs: int = 0,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, int], str]:
        """A sweep through the strategy daemon: the results ranked by `metric`, the grid
        points skipped for breaking a constraint (by rule), and where the points ran
        (`service`, or `cluster` for a grid spread over the research cluster)."""
        request = with_trading_hours(self.data, request)
        params = {**request.to_dict(), "grid": grid, "metric": metric, "jobs": jobs}
        if request.file is not None:  # the daemon and the cluster read it from their hosts
            params["file"] = str(Path(request.file).resolve())

        def counted(body: dict[str, Any]) -> None:
            if progress is not None and "done" in body:
                progress(body["done"], body["total"])

        state = self._job(methods.BACKTEST_SWEEP, params, counted)
        if progress is not None:
            progress(state["done"], state["points"])
        return list(state["results"]), dict(state.get("skipped_by_rule") or {}), state["via"]

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Stored runs, newest first."""
        if self.via == "daemon":
            return list(self.client.call(SERVICE, methods.BACKTEST_LIST, {"limit": limit})["runs"])
        if not strategy_store(self.home).exists():
            return []
        from bifrost.store.runs import list_runs

        with self._open(read_only=True) as connection:
            return list_runs(connection, limit)

    def show(self, run_id: str) -> dict[str, Any]:
        """One stored run with its trades and equity curve."""
        if self.via == "daemon":
            return dict(self.client.call(SERVICE, methods.BACKTEST_SHOW, {"run_id": run_id}))
        from bifrost.errors import NotFound
        from bifrost.store.runs import load_run

        if not strategy_store(self.home).exists():
            raise NotFound(f"no run '{run_id}': no backtest has been stored yet")
        with self._open(read_only=True) as connection:
            return load_run(connection, run_id)
