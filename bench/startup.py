"""CLI start-up time and idle memory of the data daemon, each beside a bare baseline.

- `bifrost --help` wall time (median of runs) vs `python -c pass` (goal: ≤ 0.3 s).
- VmRSS of an idle data daemon (feed running) vs a bare Python that imports pyzmq and
  msgpack (goal: ≤ 120 MB).

Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.bus import methods  # noqa: E402
from bifrost.bus.rpc import RpcClient  # noqa: E402
from bifrost.local_config import free_ports  # noqa: E402


def wall_time(command: list[str], runs: int) -> float:
    """Median wall time of `command` over `runs` runs, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def idle_daemon_rss(settle_s: float) -> float:
    """Start a data daemon on free ports, let it run idle, return its RSS in MB."""
    rpc, pub, http = free_ports(3)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(
            '[site]\nhost = "local"\nlog_level = "warning"\n[hosts.local]\n'
            'address = "127.0.0.1"\n[services.data]\nhost = "local"\n'
            f"rpc_port = {rpc}\npub_port = {pub}\nhttp_port = {http}\n"
        )
        command = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", tmp]
        daemon = subprocess.Popen([*command, "daemon", "run", "data"], cwd=ROOT)
        try:
            import zmq

            ctx = zmq.Context()
            client = RpcClient(ctx, f"tcp://127.0.0.1:{rpc}", timeout_ms=500, retries=20)
            client.call(methods.HEALTH, idempotent=True)
            time.sleep(settle_s)
            client.close()
            ctx.term()
            return rss_mb(daemon.pid)
        finally:
            daemon.terminate()
            daemon.wait(timeout=20)


def baseline_rss() -> float:
    """RSS of a bare interpreter that imported pyzmq and msgpack."""
    code = "import zmq, msgpack, time; print(flush=True); time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        return rss_mb(proc.pid)
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--settle", type=float, default=3.0, help="Idle seconds before measuring")
    args = parser.parse_args()
    bifrost = str(Path(sys.executable).parent / "bifrost")
    help_s = wall_time([bifrost, "--help"], args.runs)
    bare_s = wall_time([sys.executable, "-c", "pass"], args.runs)
    daemon_mb = idle_daemon_rss(args.settle)
    bare_mb = baseline_rss()
    rows = [
        ("bifrost --help (s)", help_s, "python -c pass", bare_s, "<= 0.3 s", help_s <= 0.3),
        (
            "data daemon idle RSS (MB)",
            daemon_mb,
            "python + zmq + msgpack",
            bare_mb,
            "<= 120 MB",
            daemon_mb <= 120,
        ),
    ]
    print(f"{'measure':28} {'ours':>9} {'baseline':24} {'base':>9} {'ratio':>7}  goal")
    for name, ours, base_name, base, goal, ok in rows:
        verdict = "pass" if ok else "FAIL"
        ratio = ours / base
        print(f"{name:28} {ours:9.3f} {base_name:24} {base:9.3f} {ratio:7.2f}  {goal} {verdict}")
    print(
        json.dumps(
            {
                "help_s": round(help_s, 4),
                "python_s": round(bare_s, 4),
                "daemon_rss_mb": round(daemon_mb, 1),
                "bare_rss_mb": round(bare_mb, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
