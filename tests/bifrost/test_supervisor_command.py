"""Supervised children import the installed code, not whatever the working directory holds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bifrost.local_config import write_local_config

BROKEN = 'raise ImportError("a stray package in the working directory was imported")\n'


def shadowing_folder(directory: Path) -> Path:
    """A folder holding `bifrost/` and `cli/` packages that fail on import."""
    for name in ("bifrost", "cli", "daemons"):
        (directory / name).mkdir(parents=True)
        (directory / name / "__init__.py").write_text(BROKEN)
    return directory


@pytest.mark.timeout(120)
def test_up_from_a_folder_holding_bifrost_and_cli_packages_starts_ready_services(
    tmp_path: Path,
) -> None:
    config = write_local_config(tmp_path, ("data", "risk"))
    home = tmp_path / "home"
    folder = shadowing_folder(tmp_path / "elsewhere")
    entry_point = Path(sys.executable).with_name("bifrost")  # what a user runs
    base = [str(entry_point), "--config", str(config), "--home", str(home)]

    def bifrost(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*base, *args], cwd=folder, capture_output=True, text=True, timeout=100, check=False
        )

    try:
        up = bifrost("up", "--timeout", "60", "--json")
        assert up.returncode == 0, up.stderr + "".join(
            log.read_text() for log in (home / "logs").glob("*.log")
        )
        services = {row["service"]: row for row in json.loads(up.stdout)["services"]}
        assert {services[name]["state"] for name in ("data", "risk")} == {"ready"}
    finally:
        down = bifrost("down", "--json")
        assert down.returncode == 0, down.stderr
