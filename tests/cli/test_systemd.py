"""`bifrost systemd render`: units that systemd accepts and whose sandbox scores well."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost
from tests.conftest import write_config

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)
SERVICES = ("data", "portfolio", "execution", "risk", "strategy")


@pytest.fixture
def units(tmp_path: Path) -> list[Path]:
    config = write_config(tmp_path, services=SERVICES)
    out = tmp_path / "units"
    result = bifrost(config, tmp_path / "home", "systemd", "render", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout)["units"]
    return [out / name for name in names]


def test_render_writes_one_unit_per_service_and_a_target(units: list[Path]) -> None:
    assert sorted(u.name for u in units) == sorted(
        [f"bifrost-{s}.service" for s in SERVICES] + ["bifrost.target"]
    )
    data = next(u for u in units if u.name == "bifrost-data.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=10",
        "Restart=on-failure",
        "User=bifrost",
        "StateDirectory=bifrost",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
    ):
        assert line in data.splitlines()
    assert re.search(
        r"^ExecStart=\S+/bin/bifrost --config \S+ --home /var/lib/bifrost "
        r"daemon run data$",
        data,
        re.MULTILINE,
    )


def test_every_unit_passes_systemd_analyze_verify(units: list[Path]) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "bifrost" not in result.stderr, result.stderr


def test_every_service_unit_has_exposure_at_most_3(units: list[Path]) -> None:
    for unit in units:
        if not unit.name.endswith(".service"):
            continue
        result = subprocess.run(
            ["systemd-analyze", "security", "--offline=true", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
        assert match, result.stdout + result.stderr
        assert float(match.group(1)) <= 3.0, f"{unit.name}: {match.group(1)}"


def test_install_without_root_is_refused(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("running as root: install would really install")
    config = write_config(tmp_path)
    result = bifrost(config, tmp_path / "home", "systemd", "install")
    assert result.returncode == 1 and "needs root" in result.stderr
