"""Which code produced a stored result: the package version and the git commit.

Backtest runs and trained models both record it; it sits at the top of the library so
either can import it without importing the other.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from bifrost import __version__


@cache
def code_version() -> str:
    """The package version and, in a git checkout, the commit it runs from."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+{commit}"
