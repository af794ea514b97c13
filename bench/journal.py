"""What one durable order costs: a DuckDB commit, beside the write-ahead log and SQLite.

Each round journals one order the way execution does (its `orders` row, two
`order_events` rows and one fill) and waits until it is durable:
  - duckdb: one transaction on an execution.duckdb (the journal before the log);
  - log: bifrost.store.write_ahead_log, one write and one fdatasync;
  - sqlite: SQLite in WAL mode with synchronous=FULL, one transaction;
  - fdatasync: a bare 100-byte append and fdatasync (the disk's own floor).
Then a group of 8 orders per commit for the log (what 8 concurrent clients share).
Repeats 3 times and prints the median µs per commit with its range and the ratio to
the bare fdatasync; ends with one JSON line.

Usage: python bench/journal.py [--orders N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.store.database import open_store  # noqa: E402
from bifrost.store.orders import OrderJournal  # noqa: E402
from bifrost.store.schema import EXECUTION  # noqa: E402
from bifrost.store.write_ahead_log import WriteAheadLog  # noqa: E402


def order_rows(i: int) -> tuple[list[list], list[list]]:
    """One order's journal rows: two states and a fill."""
    base = [f"o-{i}", "paper", "", "AAPL", "BUY", 1.0, "MARKET", None, None, "GTC", None, None]
    states = [
        [*base, "ACCEPTED", 0.0, 0.0, i, i, "", "cid"],
        [*base, "FILLED", 1.0, 100.25, i, i + 1, "", "cid"],
    ]
    fills = [[f"t-{i}", f"o-{i}", "paper", "", "AAPL", "BUY", 1.0, 100.25, 0.0, i, "cid"]]
    return states, fills


def duckdb_commit(folder: Path) -> Callable[[int], None]:
    """The journal's tables committed per order, as before the log."""
    db = open_store(folder / "bench.duckdb", migrations=EXECUTION)
    journal = OrderJournal(db, folder / "unused.wal")

    def commit(i: int) -> None:
        states, fills = order_rows(i)
        journal.commit(states, fills)
        journal.apply()

    return commit


def log_commit(folder: Path, group: int = 1) -> Callable[[int], None]:
    log = WriteAheadLog(folder / f"bench-{group}.wal")

    def commit(i: int) -> None:
        log.append([[i + k, *order_rows(i + k)] for k in range(group)])

    return commit


def sqlite_commit(folder: Path) -> Callable[[int], None]:
    db = sqlite3.connect(folder / "bench.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS orders (id TEXT, state TEXT, qty REAL, px REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS fills (id TEXT, qty REAL, px REAL)")

    def commit(i: int) -> None:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?)",
            [(f"o-{i}", "ACCEPTED", 1.0, None), (f"o-{i}", "FILLED", 1.0, 100.25)],
        )
        db.execute("INSERT INTO fills VALUES (?, ?, ?)", (f"t-{i}", 1.0, 100.25))
        db.execute("COMMIT")

    return commit


def bare_fdatasync(folder: Path) -> Callable[[int], None]:
    fd = os.open(folder / "bare.bin", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    payload = b"x" * 100

    def commit(i: int) -> None:
        os.write(fd, payload)
        os.fdatasync(fd)

    return commit


def per_commit_us(make: Callable[[Path], Callable[[int], None]], orders: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        commit = make(Path(tmp))
        for i in range(20):  # warm up
            commit(10_000_000 + i)
        started = time.perf_counter()
        for i in range(orders):
            commit(i * 8)
        return (time.perf_counter() - started) / orders * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300)
    args = parser.parse_args()
    ways: dict[str, Callable[[Path], Callable[[int], None]]] = {
        "fdatasync": bare_fdatasync,
        "log": log_commit,
        "log_group8": lambda folder: log_commit(folder, 8),
        "sqlite": sqlite_commit,
        "duckdb": duckdb_commit,
    }
    runs: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(3):
        for name, make in ways.items():
            runs[name].append(per_commit_us(make, args.orders))
    floor = statistics.median(runs["fdatasync"])
    print(f"{'commit of one order':24} {'µs median':>10} {'range':>18} {'x fdatasync':>12}")
    for name, values in runs.items():
        spread = f"{min(values):.0f}-{max(values):.0f}"
        median = statistics.median(values)
        print(f"{name:24} {median:10.0f} {spread:>18} {median / floor:12.1f}")
    print(
        f"log group of 8: {statistics.median(runs['log_group8']) / 8:.0f} µs per order; "
        f"duckdb / log: {statistics.median(runs['duckdb']) / statistics.median(runs['log']):.1f}x"
    )
    print(json.dumps({f"{name}_us": statistics.median(v) for name, v in runs.items()}))


if __name__ == "__main__":
    main()
