"""Backtests for the CLI and TUI: through the strategy daemon when it runs, else in-process.

The strategy daemon owns strategy.duckdb. When it answers, runs go through it (and
are stored by it); when it does not, the gateway loads bars through the data
gateway, runs the engine here and stores the run in the file itself, so both
routes leave the same records.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bifrost.backtest.runner import RunRequest, bar_arrays, run_record, run_request
from bifrost.client import BifrostClient
from bifrost.errors import BadRequest, Unavailable
from bifrost.market.gateway import DataGateway

SERVICE = "strategy"
RUN_TIMEOUT_S = 3600


def strategy_store(home: Path) -> Path:
    """Where the strategy service keeps its DuckDB file."""
    return home / "strategy.duckdb"


def load_bars(data: DataGateway, request: RunRequest) -> dict[str, Any]:
    """The request's bars (or recorded quotes, for the tick engine) of every symbol."""
    if request.engine == "tick":
        return load_quotes(data, request)
    out = {}
    for symbol in request.symbols:
        frame = data.bars(symbol, request.timeframe, request.start_ns, request.end_ns)
        if frame.height == 0:
            raise BadRequest(f"no {request.timeframe} bars for {symbol} in the requested range")
        out[symbol] = bar_arrays(frame)
    return out


def load_quotes(data: DataGateway, request: RunRequest) -> dict[str, Any]:
    """The request's recorded quotes of every symbol, as QuoteArrays."""
    from bifrost.backtest.ticks import QuoteArrays

    out = {}
    for symbol in request.symbols:
        frame = data.quotes(symbol, request.start_ns, request.end_ns)
        out[symbol] = QuoteArrays(*(frame[c].to_numpy() for c in frame.columns))
    return out


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
        if self.via == "daemon":
            return self._run_remote(request)
        from bifrost.store.runs import load_run, save_run

        result = run_request(request, load_bars(self.data, request))
        run, trades, equity = run_record(request, result)
        with self._open(read_only=False) as connection:
            save_run(connection, run, trades, equity)
            return load_run(connection, run["run_id"])

    def _run_remote(self, request: RunRequest) -> dict[str, Any]:
        job = self.client.call(SERVICE, "backtest.run", request.to_dict())
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            state = self.client.call(SERVICE, "backtest.job", {"job_id": job["job_id"]})
            if state["state"] == "done":
                return self.show(state["run_id"])
            if state["state"] == "failed":
                raise BadRequest(state["error"])
            time.sleep(0.1)
        raise Unavailable(f"backtest job {job['job_id']} did not finish in {RUN_TIMEOUT_S} s")

    def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Stored runs, newest first."""
        if self.via == "daemon":
            return list(self.client.call(SERVICE, "backtest.list", {"limit": limit})["runs"])
        if not strategy_store(self.home).exists():
            return []
        from bifrost.store.runs import list_runs

        with self._open(read_only=True) as connection:
            return list_runs(connection, limit)

    def show(self, run_id: str) -> dict[str, Any]:
        """One stored run with its trades and equity curve."""
        if self.via == "daemon":
            return dict(self.client.call(SERVICE, "backtest.show", {"run_id": run_id}))
        from bifrost.errors import NotFound
        from bifrost.store.runs import load_run

        if not strategy_store(self.home).exists():
            raise NotFound(f"no run '{run_id}': no backtest has been stored yet")
        with self._open(read_only=True) as connection:
            return load_run(connection, run_id)
