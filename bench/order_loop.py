"""The order loop end to end on loopback, beside a raw RPC round trip of the same run.

order -> risk (checks) -> compliance (rules, audit decision durable) -> execution
(journal durable, paper fill) -> reply, and the fill's booking in the portfolio (timed
to the `position.` event carrying the order's cid). Starts data, portfolio, execution,
risk and compliance with `bifrost up` on free ports in a temporary home, and always
brings them down. Latency is one client sending orders one after another; throughput
is `--clients` client processes sending as fast as their replies come back. Repeats 3
times and prints the median with its range; ends with one JSON line of its figures.

Usage: python bench/order_loop.py [--orders N] [--seconds S] [--clients C]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.bus import methods, topics  # noqa: E402
from bifrost.client import BifrostClient  # noqa: E402
from bifrost.config import load_config  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from bifrost.model.commands import SubmitOrder  # noqa: E402

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
REPEATS = 3
GOALS = {"order_x_rpc": 4.0, "booked_x_rpc": 6.0, "orders_per_s": 5_000.0}


def write_config(folder: Path) -> Path:
    """The services on free ports, with risk limits and compliance rules no benchmark
    order reaches (every order is checked all the same)."""
    limits = (
        "[risk]\nmax_orders_per_second = 1000000.0\nmax_position = 1e12\n"
        "max_gross_exposure = 1e15\nmax_net_exposure = 1e15\nmax_open_orders = 1000000\n"
        "max_order_notional = 1e15\n"
        "[compliance]\npdt_max_day_trades = 0\nwash_trade_prevention = false\n"
    )
    return write_local_config(folder, SERVICES, extra=limits, name="bench.toml")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(config_path: Path, orders: int, run: int) -> dict[str, list[float]]:
    """Round trips of `health` (raw RPC), of order entry, and to the portfolio booking."""
    config = load_config(config_path)
    out: dict[str, list[float]] = {"rpc": [], "order": [], "booked": []}
    with BifrostClient(config, timeout_ms=5000) as bus:
        positions = bus.subscribe("portfolio", [topics.prefix(topics.POSITION)])
        positions.poll(300)
        for i in range(orders):
            started = time.perf_counter()
            bus.call("execution", methods.HEALTH)
            out["rpc"].append(time.perf_counter() - started)
            side = "BUY" if i % 2 == 0 else "SELL"
            cid = f"bench-{run}-{i}"
            order = SubmitOrder.new("AAPL", side, 1.0).to_wire()
            started = time.perf_counter()
            bus.call("risk", methods.ORDER_SUBMIT, order, cid=cid)
            out["order"].append(time.perf_counter() - started)
            while not any(e.cid == cid for e in positions.poll(1000)):
                pass
            out["booked"].append(time.perf_counter() - started)
        positions.close()
    return out


def client_process(config_path: str, start_at: float, stop_at: float, counts, slot: int) -> None:
    """One client: orders one after another from `start_at` until `stop_at`."""
    config = load_config(Path(config_path))
    with BifrostClient(config, timeout_ms=10_000) as bus:
        bus.call("risk", methods.HEALTH)  # connected before the clock starts
        time.sleep(max(0.0, start_at - time.time()))
        n = 0
        while time.time() < stop_at:
            side = "BUY" if n % 2 == 0 else "SELL"
            order = SubmitOrder.new("MSFT", side, 1.0).to_wire()
            bus.call("risk", methods.ORDER_SUBMIT, order)
            n += 1
        counts[slot] = n


def throughput(config_path: Path, seconds: float, clients: int) -> float:
    """Orders per second entered by `clients` concurrent client processes."""
    counts = multiprocessing.Array("l", clients)
    start_at = time.time() + 2.0  # every client imported and connected by then
    stop_at = start_at + seconds
    processes = [
        multiprocessing.Process(
            target=client_process, args=(str(config_path), start_at, stop_at, counts, i)
        )
        for i in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join(seconds + 60)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
    return sum(counts) / seconds


def one_run(config: Path, args: argparse.Namespace, run: int) -> dict[str, float]:
    """The figures of one repeat (milliseconds and orders per second)."""
    lat = latencies(config, args.orders, run)
    rate = throughput(config, args.seconds, args.clients)
    ms = {k: [v * 1000 for v in values] for k, values in lat.items()}
    return {
        "rpc_p50_ms": statistics.median(ms["rpc"]),
        "order_p50_ms": statistics.median(ms["order"]),
        "order_p99_ms": percentile(ms["order"], 0.99),
        "booked_p50_ms": statistics.median(ms["booked"]),
        "booked_p99_ms": percentile(ms["booked"], 0.99),
        "orders_per_s": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        base = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", tmp]
        subprocess.run([*base, "up"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)  # the paper broker has quotes to fill against
            for run in range(REPEATS):
                runs.append(one_run(config, args, run))
        finally:
            subprocess.run([*base, "down"], cwd=ROOT, stdout=subprocess.DEVNULL)
    for figures in runs:
        figures["order_x_rpc"] = figures["order_p50_ms"] / figures["rpc_p50_ms"]
        figures["booked_x_rpc"] = figures["booked_p50_ms"] / figures["rpc_p50_ms"]
    print(f"{'measure (3 runs)':40} {'median':>10} {'range':>21}")
    for key in (
        "rpc_p50_ms",
        "order_p50_ms",
        "order_p99_ms",
        "booked_p50_ms",
        "booked_p99_ms",
        "order_x_rpc",
        "booked_x_rpc",
        "orders_per_s",
    ):
        values = [figures[key] for figures in runs]
        spread = f"{min(values):,.3f} - {max(values):,.3f}"
        print(f"{key:40} {statistics.median(values):10,.3f} {spread:>21}")
    summary = {key: statistics.median(f[key] for f in runs) for key in runs[0]}
    for goal, limit in GOALS.items():
        value = summary[goal]
        met = value >= limit if goal == "orders_per_s" else value <= limit
        bound = ">=" if goal == "orders_per_s" else "<="
        print(f"goal {goal} {bound} {limit:g}: {value:,.2f} {'met' if met else 'MISSED'}")
    print(
        json.dumps(
            {
                **summary,
                "clients": args.clients,
                "services": list(SERVICES),
                "ranges": {
                    key: [min(f[key] for f in runs), max(f[key] for f in runs)] for key in runs[0]
                },
            }
        )
    )


if __name__ == "__main__":
    main()
