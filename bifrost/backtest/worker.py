"""Backtest workers: the strategy service's jobs, run in processes of their own.

A job is one backtest (`run`: the same `run_request`/`run_record` the daemon's
threads use; the record goes back to the daemon, which alone writes strategy.duckdb)
or a chunk of sweep points (`points`: statistics per point, as `run_sweep` gives).
Market data comes through the worker's own client: the data service when it runs,
else the data file under the worker's home, as for the daemon's own jobs. A user's
strategy `file` must exist at the same path on the worker's host.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bifrost.backtest.gateway import load_bars, load_sentiment, with_trading_hours
from bifrost.backtest.runner import RunRequest, run_record, run_request
from bifrost.backtest.sweep import sweep_point
from bifrost.bus.curve import ClientCurve
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.bus.worker_loop import worker_loop
from bifrost.bus.workers import Log, no_log
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig
from bifrost.errors import BadRequest, ConfigError
from bifrost.market.gateway import DataGateway

SERVICE = "strategy"
"""The service whose jobs the workers run."""
TASK = Schema(
    "backtest task",
    {
        "kind": str,
        "request": dict,
        "points": Optional(ListOf(dict, max_items=100_000)),
        "batch": Optional(str),
    },
)
KEPT_BATCHES = 2
"""Sweeps whose bars a worker keeps, so every chunk of one sweep sees the same data."""


def request_of(values: dict[str, Any]) -> RunRequest:
    """A RunRequest from its plain map (RPC params or a task); bad fields are BadRequest."""
    given = {k: v for k, v in values.items() if v is not None}
    if not isinstance(given.get("symbols"), list):
        raise BadRequest("a backtest request needs a list of symbols")
    try:
        return RunRequest(**{**given, "symbols": tuple(given["symbols"])})
    except TypeError as exc:
        raise BadRequest(f"not a backtest request: {exc}") from None


def plain(value: Any) -> Any:
    """`value` with numpy scalars turned into Python ones, so msgpack can carry it."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class BacktestTasks:
    """The handler a worker runs for each job (one at a time)."""

    def __init__(self, client: BifrostClient, home: Path) -> None:
        self.client = client
        self.home = home
        self._bars: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __call__(self, task: dict[str, Any]) -> dict[str, Any]:
        TASK.check(task)
        market = DataGateway(self.client, self.home)
        request = with_trading_hours(market, request_of(task["request"]))
        if task["kind"] == "run":
            return self.run(request)
        if task["kind"] == "points":
            data = self._batch_bars(task.get("batch"), request)
            return {"results": [sweep_point(request, data, p) for p in task.get("points") or []]}
        raise BadRequest(f"backtest task kind '{task['kind']}' is not run or points")

    def run(self, request: RunRequest) -> dict[str, Any]:
        """One backtest as the rows that store it (the daemon stores them)."""
        market = DataGateway(self.client, self.home)
        data = load_bars(market, request)
        sentiment = load_sentiment(self.client, self.home, request, data)
        run, trades, equity = run_record(request, run_request(request, data, sentiment))
        return plain({"run": run, "trades": trades, "equity": equity})

    def _batch_bars(self, batch: str | None, request: RunRequest) -> dict[str, Any]:
        """The bars of one sweep, loaded by its first chunk on this worker."""
        if batch is not None and batch in self._bars:
            return self._bars[batch]
        data = load_bars(DataGateway(self.client, self.home), request)
        if batch is not None:
            self._bars[batch] = data
            while len(self._bars) > KEPT_BATCHES:
                self._bars.popitem(last=False)
        return data


def worker_curve(config: BifrostConfig, home: Path, host: str) -> ClientCurve | None:
    """The keys to reach the strategy host's broker (this host's pair), or None on loopback."""
    spec = config.service(SERVICE)
    if not config.hosts[spec.host].needs_curve:
        return None
    store = KeyStore(config.keys_dir(home))
    pair = store.key_pair(host_key_name(host))
    return ClientCurve(store.public_key(host_key_name(spec.host)), pair.public, pair.secret)


def serve_backtests(
    config: BifrostConfig,
    home: Path,
    host: str,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    log: Log = no_log,
) -> int:
    """Run the strategy service's backtest jobs on `host` until `should_stop()`; jobs done."""
    config.services_on(host)  # an unknown host is a ConfigError naming the known ones
    endpoint = config.service(SERVICE).worker
    if endpoint is None:
        raise ConfigError(
            f"the {SERVICE} service in {config.path} has no worker_port, so it takes no workers"
        )
    curve = worker_curve(config, home, host)
    with BifrostClient(
        config, timeout_ms=5000, identity=host_key_name(host), keys_dir=config.keys_dir(home)
    ) as client:
        return worker_loop(
            endpoint,
            BacktestTasks(client, home),
            heartbeat_s=config.strategy.heartbeat_seconds,
            curve=curve,
            should_stop=should_stop,
            log=log,
        )
