"""kill -9 of the execution daemon during order bursts, 50 times: nothing lost or doubled.

Runs the crash test of the suite (tests/daemons/test_execution_crash.py) with more
cycles and reports its outcome and duration.

Usage: python bench/crash_recovery.py [--cycles N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=50)
    args = parser.parse_args()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/daemons/test_execution_crash.py"],
        cwd=ROOT,
        env={**os.environ, "BIFROST_CRASH_CYCLES": str(args.cycles)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    passed = result.returncode == 0
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr)
    verdict = "no lost, duplicated or stuck orders" if passed else "FAILED"
    print(f"{args.cycles} kill -9 cycles: {verdict} ({seconds:.1f} s)")
    print(json.dumps({"cycles": args.cycles, "passed": passed, "seconds": round(seconds, 1)}))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
