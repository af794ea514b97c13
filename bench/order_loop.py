"""The order loop end to end on loopback, beside a raw RPC round trip of the same run.

order -> risk (checks) -> execution (journal, paper fill) -> reply, and the fill's
booking in the portfolio (timed to the `position.` event carrying the order's cid).
Starts data, portfolio, execution and risk with `bifrost up` on free ports in a
temporary home, and always brings them down.

Usage: python bench/order_loop.py [--orders N] [--seconds S] [--clients C]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.bus import topics  # noqa: E402
from bifrost.client import BifrostClient  # noqa: E402
from bifrost.config import load_config  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402

SERVICES = ("data", "portfolio", "execution", "risk")


def write_config(folder: Path) -> Path:
    """The four services on free ports, with risk limits no benchmark order reaches."""
    limits = (
        "[risk]\nmax_orders_per_second = 1000000.0\nmax_position = 1e12\n"
        "max_gross_exposure = 1e15\nmax_net_exposure = 1e15\nmax_open_orders = 1000000\n"
    )
    return write_local_config(folder, SERVICES, extra=limits, name="bench.toml")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latencies(config_path: Path, orders: int) -> dict[str, list[float]]:
    """Round trips of `health` (raw RPC), of order entry, and to the portfolio booking."""
    config = load_config(config_path)
    out: dict[str, list[float]] = {"rpc": [], "order": [], "booked": []}
    with BifrostClient(config, timeout_ms=5000) as bus:
        positions = bus.subscribe("portfolio", [topics.prefix(topics.POSITION)])
        positions.poll(300)
        for i in range(orders):
            started = time.perf_counter()
            bus.call("execution", "health")
            out["rpc"].append(time.perf_counter() - started)
            side = "BUY" if i % 2 == 0 else "SELL"
            cid = f"bench-{i}"
            started = time.perf_counter()
            bus.call(
                "risk", "order.submit", {"symbol": "AAPL", "side": side, "quantity": 1.0}, cid=cid
            )
            out["order"].append(time.perf_counter() - started)
            while not any(e.cid == cid for e in positions.poll(1000)):
                pass
            out["booked"].append(time.perf_counter() - started)
        positions.close()
    return out


def throughput(config_path: Path, seconds: float, clients: int) -> float:
    """Orders per second entered by `clients` concurrent clients for `seconds`."""
    config = load_config(config_path)
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def send(slot: int) -> None:
        with BifrostClient(config, timeout_ms=10_000) as bus:
            n = 0
            while time.perf_counter() < stop:
                side = "BUY" if n % 2 == 0 else "SELL"
                bus.call("risk", "order.submit", {"symbol": "MSFT", "side": side, "quantity": 1.0})
                n += 1
            counts[slot] = n

    started = time.perf_counter()
    threads = [threading.Thread(target=send, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        base = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", tmp]
        subprocess.run([*base, "up"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            time.sleep(0.5)  # the paper broker has quotes to fill against
            lat = latencies(config, args.orders)
            rate = throughput(config, args.seconds, args.clients)
        finally:
            subprocess.run([*base, "down"], cwd=ROOT, stdout=subprocess.DEVNULL)
    ms = {k: [v * 1000 for v in values] for k, values in lat.items()}
    rows = [
        ("raw RPC round trip (health)", ms["rpc"]),
        ("order -> risk -> execution -> fill", ms["order"]),
        ("... -> portfolio booked", ms["booked"]),
    ]
    print(f"{'measure':38} {'p50 ms':>9} {'p99 ms':>9}")
    for name, values in rows:
        print(f"{name:38} {statistics.median(values):9.3f} {percentile(values, 0.99):9.3f}")
    p50 = statistics.median(ms["order"])
    print(
        f"order p50 vs raw RPC p50: {p50 / statistics.median(ms['rpc']):.1f}x; "
        f"goal p50 <= 1 ms: {'pass' if p50 <= 1 else 'FAIL'}"
    )
    print(
        f"sustained orders/s ({args.clients} clients, {args.seconds:g} s): {rate:,.0f}; "
        f"goal >= 5,000: {'pass' if rate >= 5000 else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "rpc_p50_ms": statistics.median(ms["rpc"]),
                "order_p50_ms": p50,
                "order_p99_ms": percentile(ms["order"], 0.99),
                "booked_p50_ms": statistics.median(ms["booked"]),
                "booked_p99_ms": percentile(ms["booked"], 0.99),
                "orders_per_s": rate,
            }
        )
    )


if __name__ == "__main__":
    main()
