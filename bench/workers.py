"""Research cluster benchmark: one sweep in-process and on Dask clusters of 1, 2 and all cores.

A 400-point grid (`fast` 5..24 x `slow` 30..49) of the built-in SMA cross, vector engine,
over `--bars` (60,000) seeded random-walk 1-minute bars of one symbol, run as
`run_sweep(request, data, points)`:

- in-process: no cluster, in this process (the baseline);
- `ResearchCluster.start_local(1)` and `start_local(2)`: LocalClusters of one and two
  single-threaded worker processes on 127.0.0.1;
- the local cluster: `ResearchCluster.open(config, home)` with the default `[research]`
  (`scheduler = "local"`, `workers = 0`: one per core);
- 2 workers with Dask's `MALLOC_TRIM_THRESHOLD_=65536`: `start_local(2)` as Dask ships
  its workers. Dask's nanny puts that value in its workers' environment
  (`distributed.nanny.pre-spawn-environ`), and any value there turns off glibc's moving
  mmap threshold: every array over 128 KiB (a 60,000-bar column is 480 KB) is then
  mapped, faulted in page by page and unmapped. `start_local` leaves it out
  (`WORKER_SETTINGS`); this series puts it back, to show what that is worth.

Each repeat (`--repeat`, 3) starts every cluster afresh and times: its start (until it
has its workers), the first sweep (workers import the engine and load its compiled
kernels), the sweep in-process, then a warm sweep on the started cluster (which scatters
the bars to the workers, as every `run_sweep` with a cluster does) and the seconds its
tasks ran in the workers, summed (Dask's task stream). Speed-up = in-process seconds /
warm cluster seconds, each pair run back to back so both meet the same load from other
work, printed as median [min-max] over the repeats. On the started 2-worker cluster each
repeat also times `--tasks` (400) no-op tasks submitted at once and gathered (the
overhead per task), one no-op task at a time (the round trip), and the scatter of the
bars. All wall time: the work runs in other processes.

Every cluster's results are checked to equal the in-process results exactly; a
mismatch exits 1. Progress goes to stderr; the table, the sanity line and one JSON line
go to stdout.

    .venv/bin/python bench/workers.py                 # 60,000 1-minute bars (~2 min)
    .venv/bin/python bench/workers.py --repeat 1      # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.backtest.runner import RunRequest  # noqa: E402
from bifrost.backtest.sweep import chunk_points, run_sweep  # noqa: E402
from bifrost.config import load_config  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from bifrost.research.cluster import ResearchCluster, machine_cores  # noqa: E402
from bifrost.strategy.bars import BarArrays  # noqa: E402

SEED = 20251208
SYMBOL = "SPY"
START_NS = 1_704_067_200_000_000_000
"""2024-01-01 00:00 UTC: the first generated bar."""
MINUTE_NS = 60_000_000_000
MINUTES_A_YEAR = 365 * 24 * 60
"""The bars run around the clock."""
POINTS = [{"fast": f, "slow": s} for f in range(5, 25) for s in range(30, 50)]
ROUND_TRIPS = 50
"""No-op tasks sent one after the other for the round-trip figure."""
DASK_TRIM_THRESHOLD = "65536"
"""The MALLOC_TRIM_THRESHOLD_ Dask's nanny gives its workers by default."""
DASK_DEFAULT_SERIES = "2 workers, Dask's MALLOC_TRIM_THRESHOLD_=65536"

T = TypeVar("T")
Sweep = list[dict[str, Any]]
Opener = Callable[[], ResearchCluster]


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


def minute_bars(n: int) -> BarArrays:
    """`n` seeded random-walk 1-minute bars: 0.1 % a bar, each open the close before."""
    rng = np.random.default_rng(SEED)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.0005, n))
    ts = START_NS + np.arange(n, dtype=np.int64) * MINUTE_NS
    volume = rng.integers(100, 10_000, n).astype(np.float64)
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    return BarArrays(ts, open_, high, low, close, volume)


def noop(_shared: Any) -> None:
    """A task that does nothing with the scattered bars: what is left is Dask's cost."""


def wall(call: Callable[[], Any]) -> tuple[float, Any]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def task_overhead(cluster: ResearchCluster, data: dict[str, BarArrays], tasks: int) -> dict:
    """Per-task ms of `tasks` no-op tasks at once and of one at a time, and the scatter."""
    scatter_s, shared = wall(lambda: cluster.scatter(data))
    batch_s, _ = wall(
        lambda: cluster.client.gather([cluster.submit(noop, shared) for _ in range(tasks)])
    )
    trip_s, _ = wall(lambda: [cluster.submit(noop, shared).result() for _ in range(ROUND_TRIPS)])
    return {
        "per_task_ms": 1000 * batch_s / tasks,
        "round_trip_ms": 1000 * trip_s / ROUND_TRIPS,
        "scatter_ms": 1000 * scatter_s,
    }


def one_cluster(
    open_cluster: Opener,
    sweep: Callable[[ResearchCluster | None], Sweep],
    expected: Sweep,
    threshold: str | None,
    then: Callable[[ResearchCluster], None] | None = None,
) -> dict[str, float]:
    """Start, first and warm sweep seconds of a fresh cluster, and of the sweep in-process
    run just before the warm one (so both meet the same load from other work); every
    result checked against `expected`, and the workers' MALLOC_TRIM_THRESHOLD_ against
    `threshold`; `then` runs on the cluster before it is closed."""
    start_s, cluster = wall(open_cluster)
    with cluster:
        if trim_thresholds(cluster) != {threshold}:
            raise SystemExit(
                f"the workers run with MALLOC_TRIM_THRESHOLD_ {trim_thresholds(cluster)}, "
                f"not {threshold}"
            )
        first_s, first = wall(lambda: sweep(cluster))
        here_cpu, (here_s, here) = cpu_seconds(None, lambda: wall(lambda: sweep(None)))
        warm_cpu, (warm_s, warm) = cpu_seconds(cluster, lambda: wall(lambda: sweep(cluster)))
        if here != expected:
            raise SystemExit("MISMATCH: two in-process sweeps differ")
        if first != expected or warm != expected:
            raise SystemExit(f"MISMATCH: the sweep on {cluster.workers} worker(s) differs")
        if then is not None:
            then(cluster)
        return {
            "workers": cluster.workers,
            "start_s": start_s,
            "first_s": first_s,
            "warm_s": warm_s,
            "cpu_s": warm_cpu,
            "here_s": here_s,
            "here_cpu_s": here_cpu,
        }


def cpu_seconds(cluster: ResearchCluster | None, call: Callable[[], T]) -> tuple[float, T]:
    """(CPU seconds, result) of `call`: of this process (with a local cluster, its
    scheduler and client threads too) and of every worker process of `cluster`. Other
    work on the machine slows the wall clock, far less the CPU a job uses."""

    def now() -> float:
        workers = cluster.client.run(time.process_time) if cluster else {}
        return time.process_time() + sum(workers.values())

    start = now()
    result = call()
    return now() - start, result


def with_dask_trim_threshold(open_cluster: Opener) -> Opener:
    """`open_cluster` with its workers started under Dask's MALLOC_TRIM_THRESHOLD_=65536.

    Setting `distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_` with
    dask.config.set around `start_local` does not reach the workers: `start_local`
    enters its own dask.config.set(WORKER_SETTINGS) inside, which wins. So the value
    goes where the nanny itself puts it: into this process's environment before the
    workers are spawned (they inherit it). It is taken out again once they run, or
    every later cluster of the bench would inherit it too."""

    def opened() -> ResearchCluster:
        os.environ["MALLOC_TRIM_THRESHOLD_"] = DASK_TRIM_THRESHOLD
        try:
            return open_cluster()
        finally:
            os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)

    return opened


def trim_threshold_here() -> str | None:
    """MALLOC_TRIM_THRESHOLD_ in the environment of the process this runs in."""
    return os.environ.get("MALLOC_TRIM_THRESHOLD_")


def trim_thresholds(cluster: ResearchCluster) -> set[str | None]:
    """The MALLOC_TRIM_THRESHOLD_ values in the workers' environments (None: unset).
    A function of its own, as `os.environ.get` would be sent with this process's
    environment."""
    return set(cluster.client.run(trim_threshold_here).values())


def measure(bars: int, repeat: int, tasks: int) -> dict[str, Any]:
    """Every series' figures per repeat, the overhead on two workers and the chunk count."""
    data = {SYMBOL: minute_bars(bars)}
    request = RunRequest(
        "sma_cross",
        (SYMBOL,),
        engine="vector",
        timeframe="1m",
        periods_per_year=MINUTES_A_YEAR,
    )
    with tempfile.TemporaryDirectory(prefix="bifrost-bench-workers-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        config = load_config(write_local_config(Path(tmp), ()))
        series: dict[str, tuple[Opener, str | None]] = {
            "1 worker": (lambda: ResearchCluster.start_local(1), None),
            "2 workers": (lambda: ResearchCluster.start_local(2), None),
            "local cluster": (lambda: ResearchCluster.open(config, home), None),
            DASK_DEFAULT_SERIES: (
                with_dask_trim_threshold(lambda: ResearchCluster.start_local(2)),
                DASK_TRIM_THRESHOLD,
            ),
        }
        log(f"warm-up: {len(POINTS)} points over {bars:,} bars in-process ...")
        expected = run_sweep(request, data, POINTS)
        if any(row["error"] for row in expected):
            raise SystemExit("a grid point failed in-process")
        runs: dict[str, list[dict[str, float]]] = {"in-process": []}
        overhead: list[dict[str, float]] = []
        chunks = 0

        def on_two_workers(cluster: ResearchCluster) -> None:
            nonlocal chunks
            chunks = len(chunk_points(POINTS, cluster.workers))
            overhead.append(task_overhead(cluster, data, tasks))

        for r in range(repeat):
            for name, (open_cluster, threshold) in series.items():
                log(f"repeat {r + 1}/{repeat}: {name} ...")
                figures = one_cluster(
                    open_cluster,
                    lambda c: run_sweep(request, data, POINTS, cluster=c),
                    expected,
                    threshold,
                    on_two_workers if name == "2 workers" else None,
                )
                here = {"warm_s": figures.pop("here_s"), "cpu_s": figures.pop("here_cpu_s")}
                runs["in-process"].append(here)
                runs.setdefault(name, []).append(
                    figures | {"in_process_s": here["warm_s"], "in_process_cpu_s": here["cpu_s"]}
                )
    return {
        "bars": bars,
        "points": len(POINTS),
        "runs": runs,
        "overhead": overhead,
        "chunks_2_workers": chunks,
    }


def spread(values: list[float], digits: int = 3) -> str:
    """median [min-max]."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )


def ratios_of(report: dict[str, Any], ours: str, base: str) -> dict[str, list[float]]:
    """run[base] / run[ours] per cluster series, one ratio per repeat, each against the
    in-process run just before it."""
    return {
        name: [run[base] / run[ours] for run in runs]
        for name, runs in report["runs"].items()
        if name != "in-process"
    }


def column(runs: list[dict[str, float]], key: str) -> str:
    """median [min-max] of one figure over the repeats, or - when the series has none."""
    return spread([run[key] for run in runs]) if key in runs[0] else "-"


def print_table(report: dict[str, Any], ratios: dict[str, dict[str, list[float]]]) -> None:
    """One line per series: workers, start, first and warm sweep seconds, the CPU seconds
    of the warm sweep, speed-up and CPU ratio; then the overhead per task on two workers."""
    line = "{:46} {:>7} {:>20} {:>20} {:>20} {:>20} {:>17} {:>17}"
    head = ("start s", "first sweep s", "warm sweep s", "CPU s", "speed-up", "CPU ratio")
    print(line.format("series", "workers", *head))
    for name, runs in report["runs"].items():
        workers = str(runs[0].get("workers", "-"))
        figures = [column(runs, key) for key in ("start_s", "first_s", "warm_s", "cpu_s")]
        speed = [spread(ratios[k][name], 2) if name in ratios[k] else "1" for k in ratios]
        print(line.format(name, workers, *figures, *speed))
    print(
        "speed-up = in-process seconds / warm sweep seconds; CPU ratio = in-process CPU "
        "seconds / the sweep's CPU seconds in all processes; median [min-max]"
    )
    overhead = report["overhead"]
    print(f"2 workers: {report['chunks_2_workers']} chunks a sweep; no-op tasks:")
    for key, label in (
        ("per_task_ms", "ms a task, submitted at once and gathered"),
        ("round_trip_ms", "ms a task, one at a time"),
        ("scatter_ms", "ms to scatter the bars to both workers"),
    ):
        print(f"  {spread([o[key] for o in overhead], 2):>24}  {label}")


def summary(report: dict[str, Any], ratios: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """The JSON line: medians and ranges of every figure."""

    def med(values: list[float]) -> dict[str, float]:
        return {
            "median": round(statistics.median(values), 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
        }

    series = {
        name: {key: med([run[key] for run in runs]) for key in runs[0] if key != "workers"}
        | ({"workers": runs[0]["workers"]} if "workers" in runs[0] else {})
        | {key: med(values[name]) for key, values in ratios.items() if name in values}
        for name, runs in report["runs"].items()
    }
    overhead = {key: med([o[key] for o in report["overhead"]]) for key in report["overhead"][0]}
    return {
        "bench": "workers",
        "bars": report["bars"],
        "points": report["points"],
        "cores": machine_cores(),
        "repeats": len(report["overhead"]),
        "series": series,
        "chunks_2_workers": report["chunks_2_workers"],
        "overhead_2_workers": overhead,
        "same": True,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=60_000, help="1-minute bars to sweep")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of every series")
    parser.add_argument("--tasks", type=int, default=400, help="no-op tasks for the overhead")
    args = parser.parse_args()
    if args.bars < 100 or args.repeat < 1 or args.tasks < 1:
        parser.error("need at least 100 bars, one repeat and one task")
    report = measure(args.bars, args.repeat, args.tasks)
    ratios = {
        "speed_up": ratios_of(report, "warm_s", "in_process_s"),
        "cpu_ratio": ratios_of(report, "cpu_s", "in_process_cpu_s"),
    }
    print_table(report, ratios)
    print("sanity: every cluster's results equal the in-process results exactly: yes")
    print(json.dumps(summary(report, ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
