"""Backtest workers benchmark: one sweep in-process, over one worker and over two.

A 40-point grid (`fast=5:50:5` x `slow=60:150:30`) of the built-in SMA cross over
`--bars` (60,000) seeded random-walk 1-minute bars, or with `--daily` over the sample's
ten years of daily SPY bars (2,516), with the event engine by default (`--engine
vector` for the numba one), run three ways:

- in-process: `run_sweep(..., jobs=1)` in this process, bars already loaded;
- `backtest.sweep` on a strategy daemon with one `bifrost daemon worker` process;
- the same with two worker processes.

The daemons (data, strategy) run on threads of this process on free loopback ports
with a temporary data dir; the workers are real child processes. Every mode runs the
grid once to warm up (imports, numba compilation, bars loaded by each worker), then
`--repeat` (2) times; the table shows the fastest wall time, points a second and the
ratio to in-process (below 1 is faster). The results of every mode are checked to be
the same. Progress goes to stderr; the table and a JSON line go to stdout.

    .venv/bin/python bench/workers.py                  # 60,000 1-minute bars (~40 s)
    .venv/bin/python bench/workers.py --daily          # 2,516 daily bars (~10 s)
    .venv/bin/python bench/workers.py --engine vector
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.backtest.gateway import load_bars  # noqa: E402
from bifrost.backtest.runner import RunRequest  # noqa: E402
from bifrost.backtest.sweep import grid_points, parse_grid, rank, run_sweep  # noqa: E402
from bifrost.bus import methods  # noqa: E402
from bifrost.client import BifrostClient  # noqa: E402
from bifrost.config import BifrostConfig, load_config  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from bifrost.market.gateway import DataGateway  # noqa: E402
from bifrost.market.sample import write_sample  # noqa: E402
from bifrost.supervisor import python_command  # noqa: E402
from daemons import build_daemon  # noqa: E402

GRID = ["fast=5:50:5", "slow=60:150:30"]
SEED = 20251125
START_S = 1_704_067_200
"""2024-01-01 00:00 UTC: the first generated bar."""
QUIET_FEED = '[feed]\nsymbols = ["SPY"]\nquotes_per_second = 1\n'
"""The data daemon's synthetic feed, slowed to a trickle so it does not skew the timings."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


@contextmanager
def daemons_running(config: BifrostConfig, home: Path) -> Iterator[None]:
    """The data and strategy daemons serving from threads; stopped on the way out."""
    started = []
    try:
        for name in ("data", "strategy"):
            daemon = build_daemon(name, config, home)
            daemon.start()
            thread = threading.Thread(target=daemon.serve_forever, daemon=True)
            thread.start()
            started.append((daemon, thread))
        yield
    finally:
        for daemon, thread in reversed(started):
            daemon.request_stop()
            thread.join(timeout=15)
            daemon.stop()


def worker_process(config: BifrostConfig, home: Path) -> subprocess.Popen[bytes]:
    """One `bifrost daemon worker` child connected to the strategy daemon."""
    command = python_command("--home", str(home), "--config", str(config.path))
    return subprocess.Popen([*command, "daemon", "worker"], stdin=subprocess.DEVNULL)


def minute_bars(folder: Path, bars: int) -> Path:
    """A CSV of `bars` seeded random-walk 1-minute bars of symbol BENCH."""
    rng = np.random.default_rng(SEED)
    sigma = 0.3 / math.sqrt(252 * 390)
    close = np.round(100 * np.exp(np.cumsum(rng.normal(0, sigma, bars))), 2)
    open_ = np.concatenate([[100.0], close[:-1]])
    path = folder / "BENCH.csv"
    pl.DataFrame(
        {
            "timestamp": START_S + 60 * np.arange(bars),
            "open": open_,
            "high": np.maximum(open_, close) + 0.01,
            "low": np.minimum(open_, close) - 0.01,
            "close": close,
            "volume": rng.integers(100, 10_000, bars),
        }
    ).write_csv(path)
    return path


def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the workers")
        time.sleep(0.05)


def sweep_on_workers(client: BifrostClient, request: RunRequest) -> list[dict[str, Any]]:
    """One `backtest.sweep` through the daemon, polled until done; ranked results."""
    job = client.call("strategy", methods.BACKTEST_SWEEP, {**request.to_dict(), "grid": GRID})
    if job["via"] != "workers":
        raise SystemExit(f"the sweep ran on {job['via']}, not on the workers")
    while True:
        state = client.call("strategy", methods.BACKTEST_JOB, {"job_id": job["job_id"]})
        if state["state"] == "done":
            return list(state["results"])
        if state["state"] == "failed":
            raise SystemExit(f"sweep failed: {state['error']}")
        time.sleep(0.01)


def best_of(repeat: int, call: Callable[[], list[dict[str, Any]]]) -> tuple[float, list]:
    """(fastest wall seconds, results of the last call) over `repeat` calls after a warm-up."""
    results = call()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        results = call()
        seconds.append(time.perf_counter() - start)
    return min(seconds), results


def measure(engine: str, repeat: int, bars: int | None) -> dict[str, Any]:
    """Seconds of the sweep per mode, with the check that every mode agrees."""
    symbol, timeframe = ("SPY", "1d") if bars is None else ("BENCH", "1m")
    request = RunRequest("sma_cross", (symbol,), engine=engine, timeframe=timeframe)
    points = grid_points({}, parse_grid(GRID))
    with tempfile.TemporaryDirectory(prefix="bifrost-bench-workers-") as tmp:
        base = Path(tmp)
        home = base / "home"
        home.mkdir()
        config = load_config(
            write_local_config(base, ("data", "strategy"), worker_port=True, feed=QUIET_FEED)
        )
        with BifrostClient(config, timeout_ms=5000) as client:
            gateway = DataGateway(client, home)
            if bars is None:
                gateway.import_files(write_sample(home / "sample"))
            else:
                gateway.import_files([minute_bars(base, bars)], timeframe="1m")
            data = load_bars(gateway, request)
        log(f"in-process: {len(points)} points, {len(data[symbol])} bars, {engine} engine")
        seconds = {
            "in-process": best_of(
                repeat, lambda: rank(run_sweep(request, data, points, jobs=1), "sharpe")
            )
        }
        workers: list[subprocess.Popen[bytes]] = []
        try:
            with daemons_running(config, home), BifrostClient(config, timeout_ms=5000) as client:

                def connected() -> int:
                    details = client.health("strategy", timeout_ms=2000)["details"]
                    return int(details["workers"]["count"])

                for count in (1, 2):
                    workers.append(worker_process(config, home))
                    wait_until(lambda: connected() == len(workers))
                    log(f"{count} worker(s) connected")
                    seconds[f"{count} worker(s)"] = best_of(
                        repeat, lambda: sweep_on_workers(client, request)
                    )
        finally:
            for process in workers:
                process.terminate()
                process.wait(timeout=15)
    reference = [r["stats"] for r in seconds["in-process"][1]]
    same = all([r["stats"] for r in results] == reference for _, results in seconds.values())
    return {
        "points": len(points),
        "bars": len(data[symbol]),
        "seconds": {k: v[0] for k, v in seconds.items()},
        "same": same,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="event", choices=("event", "vector"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--bars", type=int, default=60_000, help="1-minute bars to sweep")
    parser.add_argument("--daily", action="store_true", help="the sample's daily bars instead")
    args = parser.parse_args()
    report = measure(args.engine, args.repeat, None if args.daily else args.bars)
    base = report["seconds"]["in-process"]
    print(f"{'mode':<14} {'seconds':>9} {'points/s':>10} {'ratio':>7}")
    for mode, seconds in report["seconds"].items():
        rate = report["points"] / seconds
        print(f"{mode:<14} {seconds:>9.3f} {rate:>10.1f} {seconds / base:>7.2f}")
    print(f"same results in every mode: {'yes' if report['same'] else 'NO'}")
    print(json.dumps({"bench": "workers", "engine": args.engine, **report}))
    return 0 if report["same"] else 1


if __name__ == "__main__":
    sys.exit(main())
