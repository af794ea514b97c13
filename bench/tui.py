"""The TUI under a busy feed: keypress-to-repaint latency and the TUI's CPU share.

The data daemon publishes 5,000 quotes/s over 50 symbols (100 a second each); the
TUI runs headless (Textual's test driver, 160x50) in this process. Each keypress
moves the watchlist cursor; latency is from sending the key until the watchlist
renders with the cursor on its new row. The same is measured with the feed idle (no daemon) in
the same run, as the baseline. CPU share is this process's CPU time over wall time
while the feed runs.

Usage: python bench/tui.py [--seconds S] [--presses N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.config import load_config  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from tui.app import make_app  # noqa: E402
from tui.widgets.watchlist import Watchlist  # noqa: E402

SYMBOLS = [f"S{i:02d}" for i in range(50)]


def write_config(folder: Path) -> Path:
    """Only the data service, feeding 50 symbols at 100 quotes/s each."""
    symbols = ", ".join(f'"{s}"' for s in SYMBOLS)
    feed = f"[feed]\nsymbols = [{symbols}]\nquotes_per_second = 100\n"
    return write_local_config(folder, feed=feed, name="tui.toml")


async def measure(config_path: Path, home: Path, presses: int, seconds: float) -> dict:
    """Keypress latencies and the CPU share over `seconds` of running."""
    app = make_app(load_config(config_path), home)
    latencies = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(1.0)
        watchlist = app.screen.query_one(Watchlist)
        painted: list[tuple[int, float]] = []
        render = watchlist.render

        def timed_render() -> object:  # notes when each cursor position reaches the screen
            painted.append((watchlist.cursor, time.perf_counter()))
            return render()

        watchlist.render = timed_render  # type: ignore[method-assign]
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(presses):
            target = 1 if i % 2 == 0 else 0
            started = time.perf_counter()
            app.simulate_key("down" if target else "up")
            while not any(c == target and t >= started for c, t in painted[-5:]):
                await asyncio.sleep(0.001)
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)
        remaining = seconds - (time.perf_counter() - wall)
        if remaining > 0:
            await pilot.pause(remaining)
        share = (time.process_time() - cpu) / (time.perf_counter() - wall)
        quotes = sum(1 for q in app.desk.quotes.values() if q.bid)
    return {
        "latencies": latencies,
        "cpu_share": share,
        "symbols_quoted": quotes,
        "events": app.desk.version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--presses", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        idle = asyncio.run(measure(config, Path(tmp), args.presses, args.seconds / 2))
        base = [sys.executable, "-m", "cli.main", "--config", str(config), "--home", tmp]
        subprocess.run([*base, "up"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            busy = asyncio.run(measure(config, Path(tmp), args.presses, args.seconds))
        finally:
            subprocess.run([*base, "down"], cwd=ROOT, stdout=subprocess.DEVNULL)
    p50, p99 = (
        statistics.median(busy["latencies"]),
        sorted(busy["latencies"])[int(0.99 * len(busy["latencies"]))],
    )
    idle_p50 = statistics.median(idle["latencies"])
    print(f"{'measure':44} {'busy feed':>10} {'idle':>10}")
    print(f"{'keypress -> repaint p50 (ms)':44} {p50:10.1f} {idle_p50:10.1f}")
    print(f"{'keypress -> repaint p99 (ms)':44} {p99:10.1f}")
    print(
        f"{'TUI CPU share (one core = 100 %)':44} {busy['cpu_share'] * 100:9.0f}% "
        f"{idle['cpu_share'] * 100:9.0f}%"
    )
    print(
        f"symbols quoted {busy['symbols_quoted']}/50, events folded {busy['events']:,}; "
        f"goal p50 <= 100 ms: {'pass' if p50 <= 100 else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "keypress_p50_ms": p50,
                "keypress_p99_ms": p99,
                "idle_p50_ms": idle_p50,
                "cpu_share": busy["cpu_share"],
                "idle_cpu_share": idle["cpu_share"],
                "events": busy["events"],
            }
        )
    )


if __name__ == "__main__":
    main()
