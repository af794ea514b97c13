"""Ingest benchmark: bar import, 1m -> 1d resample and the bars RPC, each beside a baseline.

Measures in one run, on generated data (a seeded random walk of valid 1-minute OHLCV
bars, split over `--symbols` symbols, one Parquet file per symbol with a `symbol`
column):

- rows/s of `import_files(connection, paths, timeframe="1m")` on a fresh store (read,
  validate, missing-session check, upsert, quarantine and report, one transaction)
  against `pl.read_parquet` + one raw `INSERT INTO bars SELECT * FROM frame` into a
  fresh store with the same `bars` table and primary key; goal: ours >= 50% of raw.
  Both sides go from the files to a committed table, so both times include reading.
  The same raw insert into a table without the primary key is shown for context.
  The three loads take turns `--import-runs` times and each side keeps its fastest;
- `resample_bars(connection, symbol, "1m", "1d")` over every stored symbol (one call
  per symbol, times summed) against the same aggregation in Polars on the in-memory
  frame; goal: <= 1 s in total;
- `DataGateway.bars(symbol, "1m")` of a 1M-row series through a real data daemon
  (subprocess on loopback, feed running; the Arrow IPC stream travels as its own
  bulk frame, wire v2) against `MarketCatalog.bars` in-process on a read-only copy of
  the same store file, measured before the daemon starts; median of `--repeat` calls
  (3) after one warm-up call each, with the range; goal: RPC <= 2x in-process
  (`bars_rpc_vs_in_process`).

Progress goes to stderr; the table and a final JSON line go to stdout.

    .venv/bin/python bench/ingest.py            # 10M rows (~65 s on 2 cores)
    .venv/bin/python bench/ingest.py --quick    # 1M rows (~15 s)
    .venv/bin/python bench/ingest.py --check    # exit 1 when a goal is missed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.client import BifrostClient  # noqa: E402
from bifrost.config import load_config  # noqa: E402
from bifrost.errors import Unavailable  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from bifrost.market.catalog import MarketCatalog  # noqa: E402
from bifrost.market.gateway import DataGateway  # noqa: E402
from bifrost.market.ingest.engine import import_files  # noqa: E402
from bifrost.store.bars import BAR_COLUMNS, resample_bars  # noqa: E402
from bifrost.store.database import open_store  # noqa: E402

T = TypeVar("T")

MINUTE_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000
START_NS = 1_577_836_800_000_000_000
"""2020-01-01 00:00 UTC: the first bar of every generated series."""
SEED = 20240601
IMPORT_GOAL = 0.50
RESAMPLE_GOAL_S = 1.0
RPC_GOAL = 2.0
RPC_SYMBOL = "BENCH"
"""Not a feed symbol, so the daemon's live 1m bars never mix into the measured series."""
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class Result:
    """One table line: our figure beside its baseline."""

    measure: str
    ours: float
    baseline: str
    base: float
    goal: str
    ok: bool | None
    """None for a line shown for context only."""
    spread: tuple[float, float] = (0.0, 0.0)
    """The lowest and highest ratio over the repeats, where measured."""


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table and the JSON line."""
    print(message, file=sys.stderr, flush=True)


def timed(call: Callable[[], T]) -> tuple[float, T]:
    """(wall seconds, result) of one call."""
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


# -- data ---------------------------------------------------------------------------------


def walk_bars(symbol: str, rows: int, price: float, rng: np.random.Generator) -> pl.DataFrame:
    """Valid 1-minute bars: positive prices, high >= max(open, close), low <= min(open, close)."""
    close = price * np.exp(np.cumsum(rng.normal(0.0, 0.0005, rows)))
    open_ = np.concatenate(([price], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.0003, (2, rows)))
    ts = START_NS + np.arange(rows, dtype=np.int64) * MINUTE_NS
    return pl.DataFrame(
        {
            "symbol": pl.repeat(symbol, rows, dtype=pl.String, eager=True),
            "timestamp": pl.Series(ts).cast(pl.Datetime("ns", "UTC")),
            "open": open_,
            "high": np.maximum(open_, close) * (1.0 + wick[0]),
            "low": np.minimum(open_, close) * (1.0 - wick[1]),
            "close": close,
            "volume": rng.integers(100, 10_000, rows).astype(np.float64),
        }
    )


def write_files(folder: Path, rows: int, symbols: list[str], seed: int) -> list[Path]:
    """`rows` bars split over `symbols`, one Parquet file per symbol."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, symbol in enumerate(symbols):
        count = rows // len(symbols) + (1 if i < rows % len(symbols) else 0)
        path = folder / f"{symbol.lower()}.parquet"
        walk_bars(symbol, count, 50.0 + 10.0 * i, rng).write_parquet(path)
        paths.append(path)
    os.sync()  # so the write-back of these files does not land inside a timed section
    return paths


def read_frame(paths: list[Path]) -> pl.DataFrame:
    """The files as `bars` rows (BAR_COLUMNS, ts as int ns), read the plain Polars way."""
    return (
        pl.read_parquet(paths)
        .with_columns(timeframe=pl.lit("1m"), ts=pl.col("timestamp").cast(pl.Int64))
        .select(BAR_COLUMNS)
    )


# -- 1. import ----------------------------------------------------------------------------


def import_ours(
    store: Path, paths: list[Path], rows: int
) -> tuple[float, duckdb.DuckDBPyConnection]:
    """Seconds for `import_files` on a fresh store; returns the open connection too."""
    connection = open_store(store)
    seconds, report = timed(lambda: import_files(connection, paths, timeframe="1m"))
    totals = report.totals()
    if totals["inserted"] != rows or totals["rejected"]:
        raise RuntimeError(f"import stored {totals['inserted']} of {rows} rows: {totals}")
    return seconds, connection


def import_raw(store: Path, paths: list[Path], primary_key: bool) -> tuple[float, pl.DataFrame]:
    """Seconds for read_parquet + one INSERT into `bars` (with or without its primary key)."""
    connection = open_store(store)
    try:
        table = "bars"
        if not primary_key:
            table = "bars_no_key"  # same columns and types; no key, no NOT NULL
            connection.execute(f"CREATE TABLE {table} AS FROM bars LIMIT 0")

        def load() -> pl.DataFrame:
            frame = read_frame(paths)
            connection.execute(f"INSERT INTO {table} SELECT * FROM frame")
            return frame

        seconds, frame = timed(load)
        stored = connection.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        if stored != frame.height:
            raise RuntimeError(f"raw insert stored {stored} of {frame.height} rows")
        return seconds, frame
    finally:
        connection.close()
        remove_store(store)


def bench_import(
    work: Path, paths: list[Path], rows: int, runs: int
) -> tuple[list[Result], duckdb.DuckDBPyConnection, pl.DataFrame]:
    """Lines for ours vs raw (with key) and vs raw (no key); the last store and frame.

    The three loads take turns `runs` times and each keeps its fastest run, so a burst
    of load from elsewhere on the machine hits one run of one side, not the ratio.
    """
    ours_s, keyed_s, bare_s = [], [], []
    connection = None
    for run in range(1, runs + 1):
        if connection is not None:
            connection.close()
            remove_store(work / "data.duckdb")
        log(f"import {run}/{runs}: import_files of {rows:,} rows ...")
        seconds, connection = import_ours(work / "data.duckdb", paths, rows)
        ours_s.append(seconds)
        log(f"import {run}/{runs}: {seconds:.2f} s; raw INSERT with primary key ...")
        seconds, frame = import_raw(work / "raw.duckdb", paths, primary_key=True)
        keyed_s.append(seconds)
        log(f"import {run}/{runs}: {seconds:.2f} s; raw INSERT without primary key ...")
        seconds, _ = import_raw(work / "bare.duckdb", paths, primary_key=False)
        bare_s.append(seconds)
        log(f"import {run}/{runs}: {seconds:.2f} s")
    assert connection is not None
    ours, keyed, bare = rows / min(ours_s), rows / min(keyed_s), rows / min(bare_s)
    results = [
        Result(
            "import_files (rows/s)",
            ours,
            "read_parquet + INSERT",
            keyed,
            f">= {IMPORT_GOAL:.0%} raw",
            ours / keyed >= IMPORT_GOAL,
        ),
        Result("import_files (rows/s)", ours, "same, table without key", bare, "context", None),
    ]
    return results, connection, frame


def remove_store(path: Path) -> None:
    """Delete a closed DuckDB file and its write-ahead log."""
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


# -- 2. resample --------------------------------------------------------------------------


def resample_ours(connection: duckdb.DuckDBPyConnection, symbols: list[str]) -> tuple[float, int]:
    """Summed seconds of one `resample_bars` call per symbol, and the daily bars made."""
    total_s, days = 0.0, 0
    for symbol in symbols:
        seconds, daily = timed(lambda s=symbol: resample_bars(connection, s, "1m", "1d"))
        total_s += seconds
        days += daily.height
    return total_s, days


def resample_polars(frame: pl.DataFrame) -> pl.DataFrame:
    """The same 1d bars in Polars: first open and last close by time, max high, ..."""
    return (
        frame.group_by("symbol", (pl.col("ts") - pl.col("ts") % DAY_NS).alias("ts"))
        .agg(
            pl.col("open").sort_by("ts").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").sort_by("ts").last(),
            pl.col("volume").sum(),
        )
        .sort("symbol", "ts")
    )


def bench_resample(
    connection: duckdb.DuckDBPyConnection, frame: pl.DataFrame, symbols: list[str]
) -> Result:
    """resample_bars over every symbol vs Polars over the whole frame."""
    log("resample: 1m -> 1d ...")
    ours_s, days = resample_ours(connection, symbols)
    base_s, daily = timed(lambda: resample_polars(frame))
    if days != daily.height:
        raise RuntimeError(f"resample made {days} daily bars, Polars {daily.height}")
    log(f"resample: {ours_s:.3f} s, Polars {base_s:.3f} s, {days:,} daily bars")
    return Result(
        "resample 1m->1d (s)",
        ours_s,
        "Polars group_by",
        base_s,
        f"<= {RESAMPLE_GOAL_S:g} s",
        ours_s <= RESAMPLE_GOAL_S,
    )


# -- 3. bars over RPC ---------------------------------------------------------------------


def write_config(folder: Path) -> Path:
    """The data service on free loopback ports with the small test feed."""
    return write_local_config(folder)


def call_times(call: Callable[[], pl.DataFrame], rows: int, repeat: int) -> list[float]:
    """Seconds of `repeat` calls after one warm-up; each must return `rows` rows."""
    times = []
    for i in range(repeat + 1):
        seconds, frame = timed(call)
        if frame.height != rows:
            raise RuntimeError(f"bars returned {frame.height} rows, expected {rows}")
        if i:
            times.append(seconds)
    return times


@contextlib.contextmanager
def data_daemon(config_path: Path, home: Path, log_path: Path) -> Iterator[BifrostClient]:
    """A data daemon subprocess, ready; always terminated on exit."""
    command = [sys.executable, "-m", "cli.main", "--config", str(config_path), "--home", str(home)]
    client = BifrostClient(load_config(config_path), timeout_ms=60_000)
    try:
        with log_path.open("wb") as output:
            process = subprocess.Popen(
                [*command, "daemon", "run", "data"], cwd=ROOT, stdout=output, stderr=output
            )
        try:
            wait_ready(client, process, log_path)
            yield client
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        client.close()


def wait_ready(client: BifrostClient, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Return once the daemon says it is ready; RuntimeError if it exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"data daemon exited ({process.returncode}): {log_path.read_text()}")
        with contextlib.suppress(Unavailable):
            if client.health("data", timeout_ms=500).get("state") == "ready":
                return
        time.sleep(0.1)
    raise RuntimeError(f"data daemon not ready after {READY_TIMEOUT_S:g} s")


def bench_rpc(work: Path, rows: int, repeat: int) -> Result:
    """DataGateway.bars through a daemon vs MarketCatalog.bars in-process on a file copy."""
    log(f"rpc: storing a {rows:,}-row 1m series ...")
    home = work / "home"
    paths = write_files(work / "rpc-files", rows, [RPC_SYMBOL], SEED + 1)
    connection = open_store(home / "data.duckdb")
    try:
        import_files(connection, paths, timeframe="1m")
    finally:
        connection.close()  # the daemon must be the only process writing the file
    copy = work / "inproc.duckdb"
    shutil.copyfile(home / "data.duckdb", copy)
    with open_store(copy, read_only=True) as local:
        catalog = MarketCatalog(local)
        inproc = call_times(lambda: catalog.bars(RPC_SYMBOL, "1m"), rows, repeat)
    inproc_s = statistics.median(inproc)
    log(f"rpc: in-process {inproc_s:.3f} s; starting the data daemon ...")
    with data_daemon(write_config(work), home, work / "daemon.log") as client:
        # The gateway picks its route once, with a 300 ms probe: on a loaded machine the
        # daemon's first turns after ready can take longer, so wait until it answers one.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not client.answers("data") and time.monotonic() < deadline:
            time.sleep(0.1)
        gateway = DataGateway(client, home)
        if gateway.via != "daemon":
            raise RuntimeError("the gateway did not reach the daemon")
        rpc = call_times(lambda: gateway.bars(RPC_SYMBOL, "1m"), rows, repeat)
    rpc_s = statistics.median(rpc)
    log(f"rpc: through the daemon {rpc_s:.3f} s (range {min(rpc):.3f}-{max(rpc):.3f})")

    return Result(
        f"bars {rows / 1e6:g}M rows via RPC (s)",
        rpc_s,
        "in-process catalog",
        inproc_s,
        f"<= {RPC_GOAL:g}x",
        rpc_s <= RPC_GOAL * inproc_s,
        (min(rpc) / inproc_s, max(rpc) / inproc_s),
    )


# -- report -------------------------------------------------------------------------------


def figure(value: float) -> str:
    """Rates as whole numbers with thousands separators, seconds to the millisecond."""
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3f}"


def print_table(results: list[Result]) -> None:
    """One line per measure: ours, baseline, ratio, goal, verdict."""
    print(f"{'measure':28} {'ours':>10}  {'baseline':24} {'base':>10} {'ratio':>6}  goal")
    for r in results:
        verdict = "-" if r.ok is None else "pass" if r.ok else "FAIL"
        print(
            f"{r.measure:28} {figure(r.ours):>10}  {r.baseline:24} {figure(r.base):>10} "
            f"{r.ours / r.base:6.2f}  {r.goal} {verdict}"
        )


def summary(rows: int, results: list[Result]) -> dict[str, Any]:
    """The JSON line: every figure, rounded."""
    keyed, bare, resample, rpc = results
    return {
        "rows": rows,
        "import_rows_per_s": round(keyed.ours),
        "raw_insert_rows_per_s": round(keyed.base),
        "raw_insert_no_key_rows_per_s": round(bare.base),
        "import_ratio": round(keyed.ours / keyed.base, 3),
        "resample_s": round(resample.ours, 4),
        "polars_resample_s": round(resample.base, 4),
        "rpc_s": round(rpc.ours, 4),
        "inproc_s": round(rpc.base, 4),
        "rpc_ratio": round(rpc.ours / rpc.base, 3),
        "bars_rpc_vs_in_process": round(rpc.ours / rpc.base, 3),
        "bars_rpc_vs_in_process_range": [round(r, 3) for r in rpc.spread],
        "pass": all(r.ok for r in results if r.ok is not None),
    }


def run(rows: int, symbol_count: int, import_runs: int, rpc_rows: int, repeat: int) -> list[Result]:
    """Every measure, in a temporary directory removed afterwards."""
    symbols = [f"SYM{i:02d}" for i in range(symbol_count)]
    with tempfile.TemporaryDirectory(prefix="bifrost-bench-ingest-") as tmp:
        work = Path(tmp)
        log(f"generating {rows:,} 1m bars over {symbol_count} symbols ...")
        paths = write_files(work / "files", rows, symbols, SEED)
        results, connection, frame = bench_import(work, paths, rows, import_runs)
        try:
            results.append(bench_resample(connection, frame, symbols))
        finally:
            connection.close()
        del frame
        results.append(bench_rpc(work, rpc_rows, repeat))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="Rows to import")
    parser.add_argument("--quick", action="store_true", help="Import 1,000,000 rows")
    parser.add_argument("--symbols", type=int, default=10, help="Symbols (files) to split over")
    parser.add_argument("--import-runs", type=int, default=2, help="Turns of each import")
    parser.add_argument("--rpc-rows", type=int, default=1_000_000, help="Rows of the RPC series")
    parser.add_argument("--repeat", type=int, default=3, help="Timed calls per RPC side")
    parser.add_argument("--check", action="store_true", help="Exit 1 when a goal is missed")
    args = parser.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    if rows < args.symbols or args.symbols < 1:
        parser.error("need at least one row per symbol")
    if args.import_runs < 1 or args.repeat < 1:
        parser.error("--import-runs and --repeat must be at least 1")
    results = run(rows, args.symbols, args.import_runs, args.rpc_rows, args.repeat)
    print_table(results)
    document = summary(rows, results)
    print(json.dumps(document))
    if args.check and not document["pass"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
