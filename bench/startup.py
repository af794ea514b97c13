"""How fast the CLI starts and fails, how lean the daemons are, how fast `bifrost up` is.

Every figure beside its baseline in the same run, `--repeat` times (3 by default):
  - `bifrost --help` against a minimal Typer app with one command, same interpreter
    (goal: ≤ 1.2x);
  - `bifrost orders --json` against the running stack, against `bifrost --help` of the
    same repeat (goal: ≤ 1.3x);
  - `bifrost orders --json` with nothing running: wall time (goal: ≤ 0.5 s), exit 3
    and the message that names the service and `bifrost up`;
  - `bifrost up` until all ten services are ready (median of `--ups` turns), against an
    anchor of ten interpreters started together, each importing the packages its daemon
    imported by the time it was ready (goal: ≤ 1.5x); the packages are read once from a
    first `up` under PYTHONPROFILEIMPORTTIME;
  - the resident memory (VmRSS) of each of the ten daemons after `--settle` idle seconds
    with the synthetic feed running (goal: every one ≤ 120 MB).
Each timed command runs `--runs` times per repeat, ours and its baseline taking turns,
after one uncounted run; a repeat keeps the median. Commands run with Python's bytecode
cache on, as on a user's machine (with PYTHONDONTWRITEBYTECODE set, every module of ours
is compiled again on every run while installed packages bring their bytecode). Prints
each ratio's median and range and ends with one JSON line.

Usage: python bench/startup.py [--runs N] [--repeat N] [--ups N] [--settle S]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.local_config import write_local_config  # noqa: E402
from daemons import DAEMONS  # noqa: E402

MINIMAL_TYPER_APP = """
import typer

app = typer.Typer()


@app.command()
def hello(name: str = "world") -> None:
    \"\"\"Say hello.\"\"\"
    print(f"hello {name}")


app()
"""
"""The baseline of `bifrost --help`: Typer's own start-up and help rendering."""

OUR_PACKAGES = {"bifrost", "cli", "daemons", "tui", "bench", "tests"}
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+\d+ \| (\s*)([\w.]+)")


USER_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""The environment a user's commands run in: Python keeps compiled bytecode (a machine
that turns the cache off recompiles every module of ours on every run, while the
packages from the registry come with theirs)."""


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `command` from the checkout, output captured."""
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or USER_ENV,
        timeout=180,
        check=False,
    )


def timed(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one run of `command`, and its result."""
    start = time.perf_counter()
    result = run(command)
    return time.perf_counter() - start, result


def medians_taking_turns(commands: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command over `runs` rounds in which they take turns,
    after one run of each that is not counted (it fills the bytecode cache)."""
    for command in commands:
        run(command)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for i, command in enumerate(commands):
            seconds, result = timed(command)
            if result.returncode != 0:
                raise RuntimeError(f"{command} failed: {result.stderr[-2000:]}")
            times[i].append(seconds)
    return [statistics.median(t) for t in times]


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


class Stack:
    """A loopback stack of all ten services in a temporary data dir."""

    def __init__(self, directory: Path) -> None:
        self.home = directory / "home"
        self.config = write_local_config(directory, tuple(DAEMONS))
        self.base = [str(Path(sys.executable).parent / "bifrost")]
        self.base += ["--config", str(self.config), "--home", str(self.home)]

    def command(self, *args: str) -> list[str]:
        """A `bifrost` command line for this stack."""
        return [*self.base, *args]

    def up(self, env: dict[str, str] | None = None) -> float:
        """Start all ten services; seconds until `up` reported every one ready."""
        start = time.perf_counter()
        result = run(self.command("up", "--timeout", "120", "--json"), env)
        if result.returncode != 0:
            raise RuntimeError(f"bifrost up failed: {result.stderr[-2000:]}")
        return time.perf_counter() - start

    def down(self) -> None:
        """Stop the stack."""
        run(self.command("down"))

    def pids(self) -> dict[str, int]:
        """The pid of each running service."""
        status = json.loads(run(self.command("status", "--json")).stdout)
        rows = status["services"] if isinstance(status, dict) else status
        return {row["service"]: row["pid"] for row in rows if row.get("pid")}

    def imported_packages(self) -> dict[str, list[str]]:
        """Top-level packages each daemon imported until ready (from its importtime log)."""
        packages = {}
        for name in DAEMONS:
            log = self.home / "logs" / f"{name}.log"
            found = set()
            for line in log.read_text(errors="replace").splitlines():
                match = IMPORT_LINE.match(line)
                if match:
                    found.add(match.group(2).split(".")[0])
            packages[name] = sorted(p for p in found - OUR_PACKAGES if importable(p))
        return packages


def importable(name: str) -> bool:
    """True for a package this interpreter can import (importtime also lists the ones a
    library only tried, such as `msvcrt`)."""
    if name.startswith("_") or name == "sitecustomize" or not name.isidentifier():
        return False
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def anchor_seconds(packages: dict[str, list[str]]) -> float:
    """Ten interpreters started together, each importing one daemon's packages."""
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"import importlib\nfor n in {names!r}: importlib.import_module(n)",
            ],
            cwd=ROOT,
            env=USER_ENV,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for names in packages.values()
    ]
    failures = [p.communicate()[1] for p in procs if p.wait() != 0]
    if failures:
        raise RuntimeError(f"anchor import failed: {failures[0][-2000:]!r}")
    return time.perf_counter() - start


def stopped_daemon(stack: Stack, runs: int) -> tuple[float, int, str]:
    """Median seconds of `orders --json` with nothing running, its exit code and message."""
    times, codes, messages = [], set(), set()
    for _ in range(runs):
        seconds, result = timed(stack.command("orders", "--json"))
        times.append(seconds)
        codes.add(result.returncode)
        messages.add(json.loads(result.stdout)["error"]["message"])
    if len(codes) != 1 or len(messages) != 1:
        raise RuntimeError(f"unsteady failure: {codes} {messages}")
    return statistics.median(times), codes.pop(), messages.pop()


def up_and_anchor(
    stack: Stack, packages: dict[str, list[str]], ups: int
) -> tuple[float, float]:
    """Median seconds of the anchor and of `up` over `ups` turns; the stack is left up."""
    anchors, times = [], []
    for turn in range(ups):
        anchors.append(anchor_seconds(packages))
        times.append(stack.up())
        if turn < ups - 1:
            stack.down()
    return statistics.median(anchors), statistics.median(times)


def one_repeat(stack: Stack, packages: dict[str, list[str]], args: argparse.Namespace) -> dict:
    """Every figure once."""
    minimal = [sys.executable, "-c", MINIMAL_TYPER_APP, "--help"]
    help_s, minimal_s = medians_taking_turns([stack.command("--help"), minimal], args.runs)
    stopped_s, stopped_exit, stopped_message = stopped_daemon(stack, max(3, args.runs // 2))
    anchor_s, up_s = up_and_anchor(stack, packages, args.ups)
    try:
        time.sleep(args.settle)
        rss = {name: round(rss_mb(pid), 1) for name, pid in stack.pids().items()}
        orders_s, help_up_s = medians_taking_turns(
            [stack.command("orders", "--json"), stack.command("--help")], args.runs
        )
    finally:
        stack.down()
    return {
        "help_s": help_s,
        "minimal_typer_s": minimal_s,
        "help_vs_minimal_typer": help_s / minimal_s,
        "read_s": orders_s,
        "read_help_s": help_up_s,
        "read_vs_help": orders_s / help_up_s,
        "stopped_s": stopped_s,
        "stopped_exit": stopped_exit,
        "stopped_message": stopped_message,
        "up_s": up_s,
        "anchor_s": anchor_s,
        "up_vs_anchor": up_s / anchor_s,
        "rss_mb": rss,
        "max_daemon_rss_mb": max(rss.values()),
    }


def spread(repeats: list[dict], key: str | Callable[[dict], float]) -> tuple[float, float, float]:
    """Median, min and max of one figure over the repeats."""
    values = [key(r) if callable(key) else r[key] for r in repeats]
    return statistics.median(values), min(values), max(values)


def report(repeats: list[dict], packages: dict[str, list[str]]) -> None:
    """The table of figures and goals, then one JSON line."""
    rows = [
        (
            "bifrost --help (s)",
            "help_s",
            "minimal Typer app",
            "minimal_typer_s",
            "help_vs_minimal_typer",
            "<= 1.2x",
            1.2,
        ),
        (
            "orders --json, stack up (s)",
            "read_s",
            "bifrost --help",
            "read_help_s",
            "read_vs_help",
            "<= 1.3x",
            1.3,
        ),
        (
            "bifrost up, ten ready (s)",
            "up_s",
            "ten interpreters importing",
            "anchor_s",
            "up_vs_anchor",
            "<= 1.5x",
            1.5,
        ),
    ]
    print(f"{'measure':30} {'ours':>8} {'baseline':28} {'base':>8} {'ratio (range)':>20}  goal")
    for name, ours, base_name, base, ratio, goal, limit in rows:
        mid, low, high = spread(repeats, ratio)
        verdict = "met" if mid <= limit else "MISSED"
        print(
            f"{name:30} {spread(repeats, ours)[0]:8.3f} {base_name:28} "
            f"{spread(repeats, base)[0]:8.3f} {mid:6.2f} ({low:.2f}-{high:.2f})  {goal} {verdict}"
        )
    mid, low, high = spread(repeats, "stopped_s")
    codes = {r["stopped_exit"] for r in repeats}
    verdict = "met" if mid <= 0.5 and codes == {3} else "MISSED"
    print(
        f"{'orders --json, nothing runs':30} {mid:8.3f} s ({low:.3f}-{high:.3f}), exit "
        f"{sorted(codes)}  <= 0.5 s, exit 3  {verdict}"
    )
    print(f"  message: {repeats[-1]['stopped_message']}")
    print("idle RSS per daemon (MB), median (range) over repeats; goal <= 120 each:")
    for name in DAEMONS:
        mid, low, high = spread(repeats, lambda r, n=name: r["rss_mb"][n])
        verdict = "met" if mid <= 120 else "MISSED"
        print(f"  {name:16} {mid:7.1f} ({low:.1f}-{high:.1f})  {verdict}")
        outside = [p for p in packages[name] if p not in sys.stdlib_module_names]
        print(f"  {'':16} packages: {' '.join(outside)}")
    figures = {
        "help_vs_minimal_typer": spread(repeats, "help_vs_minimal_typer"),
        "read_vs_help": spread(repeats, "read_vs_help"),
        "stopped_s": spread(repeats, "stopped_s"),
        "stopped_exit": sorted(codes),
        "max_daemon_rss_mb": spread(repeats, "max_daemon_rss_mb"),
        "up_vs_anchor": spread(repeats, "up_vs_anchor"),
        "help_s": spread(repeats, "help_s"),
        "minimal_typer_s": spread(repeats, "minimal_typer_s"),
        "read_s": spread(repeats, "read_s"),
        "up_s": spread(repeats, "up_s"),
        "anchor_s": spread(repeats, "anchor_s"),
        "daemon_rss_mb": {n: spread(repeats, lambda r, n=n: r["rss_mb"][n]) for n in DAEMONS},
    }
    print(json.dumps(json_figures(figures)))


def json_figures(figures: dict[str, object]) -> dict[str, object]:
    """Each (median, min, max) figure as its median under its own key and the range
    under `<key>_range`; other values as they are."""
    out: dict[str, object] = {}
    for key, value in figures.items():
        if isinstance(value, dict):
            out[key] = {name: round(v[0], 1) for name, v in value.items()}
        elif isinstance(value, tuple):
            out[key] = round(value[0], 3)
            out[f"{key}_range"] = [round(value[1], 3), round(value[2], 3)]
        else:
            out[key] = value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="Runs of each timed command")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ups", type=int, default=3, help="`up` and anchor turns per repeat")
    parser.add_argument("--settle", type=float, default=5.0, help="Idle seconds before RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        stack = Stack(Path(tmp))
        stack.up(dict(USER_ENV, PYTHONPROFILEIMPORTTIME="1"))
        stack.down()
        packages = stack.imported_packages()
        for log in (stack.home / "logs").glob("*.log"):
            log.unlink()
        repeats = []
        for i in range(args.repeat):
            repeats.append(one_repeat(stack, packages, args))
            print(f"repeat {i + 1}/{args.repeat} done", file=sys.stderr, flush=True)
        report(repeats, packages)


if __name__ == "__main__":
    main()
