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
CLUSTER_EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "cluster.example.toml"
TLS_OPTIONS = (
    r" --tls-ca-file /var/lib/bifrost/keys/research-ca\.pem"
    r" --tls-cert /var/lib/bifrost/keys/research-tls\.pem"
    r" --tls-key /var/lib/bifrost/keys/research-tls\.key"
)
"""The research files in the key store of the units' data dir."""


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
        [f"bifrost-{s}.service" for s in SERVICES] + ["bifrost-failed@.service", "bifrost.target"]
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


def test_services_that_open_a_research_cluster_keep_proc_readable(units: list[Path]) -> None:
    """distributed reads /proc/meminfo when imported; the other services keep /proc cut."""
    text = {u.name: u.read_text().splitlines() for u in units if u.suffix == ".service"}
    assert "ProcSubset=pid" not in text["bifrost-strategy.service"]
    assert "ProcSubset=pid" in text["bifrost-data.service"]
    assert "ProtectProc=invisible" in text["bifrost-strategy.service"]


def test_every_unit_passes_systemd_analyze_verify(units: list[Path]) -> None:
    assert_verified(units)


def test_every_service_unit_has_exposure_at_most_1_5(units: list[Path]) -> None:
    assert_exposure_at_most_1_5(units)


def assert_verified(units: list[Path]) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "bifrost" not in result.stderr, result.stderr


def assert_exposure_at_most_1_5(units: list[Path]) -> None:
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
        assert float(match.group(1)) <= 1.5, f"{unit.name}: {match.group(1)}"


def render_cluster(tmp_path: Path, host: str, config: Path = CLUSTER_EXAMPLE) -> dict[str, str]:
    """The units `systemd render --host HOST` writes for a three-host config, by name."""
    out = tmp_path / f"units-{host}"
    result = bifrost(
        config, tmp_path / "home", "systemd", "render", "--host", host, "--out", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    names = json.loads(result.stdout)["units"]
    return {name: (out / name).read_text(encoding="utf-8") for name in names}


def exec_start(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("ExecStart="))


def test_render_scheduler_host_gets_a_tls_dask_scheduler_without_dashboard(
    tmp_path: Path,
) -> None:
    units = render_cluster(tmp_path, "c")
    assert {"bifrost-dask-scheduler.service", "bifrost-dask-worker.service"} <= set(units)
    assert re.fullmatch(
        r"ExecStart=\S+/bin/dask scheduler --host 192\.0\.2\.13 --port 8786 --protocol tls "
        r"--no-dashboard" + TLS_OPTIONS,
        exec_start(units["bifrost-dask-scheduler.service"]),
    )


def test_render_worker_host_gets_a_tls_dask_worker_of_one_process_per_core(
    tmp_path: Path,
) -> None:
    units = render_cluster(tmp_path, "a")
    assert "bifrost-dask-scheduler.service" not in units
    worker = units["bifrost-dask-worker.service"]
    assert re.fullmatch(
        r"ExecStart=\S+/bin/dask worker tls://192\.0\.2\.13:8786 --nworkers -1 --nthreads 1 "
        r"--host 192\.0\.2\.11 --no-dashboard" + TLS_OPTIONS,
        exec_start(worker),
    )
    for line in (
        "Restart=on-failure",
        "User=bifrost",
        "ProtectSystem=strict",
        # Dask's MALLOC_TRIM_THRESHOLD_ doubles a sweep point's CPU (docs/BENCHMARKS.md).
        "Environment=\"DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON="
        "{'MALLOC_TRIM_THRESHOLD_': None}\"",
        'Environment="DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False"',
    ):
        assert line in worker.splitlines()
    target = units["bifrost.target"]
    assert "bifrost-dask" not in target, "the research units are enabled by name"


def test_render_worker_processes_follow_research_workers(tmp_path: Path) -> None:
    config = tmp_path / "cluster.toml"
    text = CLUSTER_EXAMPLE.read_text(encoding="utf-8")
    config.write_text(text.replace("workers = 0", "workers = 3"), encoding="utf-8")
    worker = render_cluster(tmp_path, "b", config)["bifrost-dask-worker.service"]
    assert " --nworkers 3 --nthreads 1 --host 192.0.2.12 " in exec_start(worker)


def test_research_units_pass_verify_with_exposure_at_most_1_5(tmp_path: Path) -> None:
    units = render_cluster(tmp_path, "c")
    out = tmp_path / "units-c"
    research = [out / name for name in units if name.startswith("bifrost-dask-")]
    assert len(research) == 2
    assert_verified(research)
    assert_exposure_at_most_1_5(research)


def test_install_without_root_is_refused(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("running as root: install would really install")
    config = write_config(tmp_path)
    result = bifrost(config, tmp_path / "home", "systemd", "install")
    assert result.returncode == 1 and "needs root" in result.stderr


def test_units_raise_an_alert_when_they_give_up_and_refuse_calls_with_eperm(
    units: list[Path],
) -> None:
    by_name = {u.name: u.read_text().splitlines() for u in units}
    for name in (f"bifrost-{s}.service" for s in SERVICES):
        assert "OnFailure=bifrost-failed@%N.service" in by_name[name]
        assert "SystemCallErrorNumber=EPERM" in by_name[name]
        # A loopback host without CURVE has no allow-list to reload: SIGHUP would stop it.
        assert not any(line.startswith("ExecReload=") for line in by_name[name])
    failed = by_name["bifrost-failed@.service"]
    assert "Type=oneshot" in failed and "Environment=BIFROST_KEY=host-local" in failed
    (command,) = (line for line in failed if line.startswith("ExecStart="))
    assert command.endswith(' alert raise --source systemd "%i failed and gave up restarting"'), (
        command
    )


def test_a_secure_host_reloads_its_allow_list_on_systemctl_reload(tmp_path: Path) -> None:
    config = write_config(tmp_path, services=("data",))
    config.write_text(
        config.read_text().replace('address = "127.0.0.1"', 'address = "127.0.0.1"\nsecure = true')
    )
    out = tmp_path / "units"
    result = bifrost(config, tmp_path / "home", "systemd", "render", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = (out / "bifrost-data.service").read_text().splitlines()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in text


def test_paths_are_quoted_and_a_path_the_sandbox_hides_is_warned_about(tmp_path: Path) -> None:
    folder = tmp_path / "my configs"
    folder.mkdir()
    config = write_config(folder, services=("data",))
    out = tmp_path / "units"
    result = bifrost(config, tmp_path / "home", "systemd", "render", "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    unit = (out / "bifrost-data.service").read_text()
    assert f' --config "{config}" --home /var/lib/bifrost daemon run data' in unit
    assert_verified([out / "bifrost-data.service"])
    warnings = json.loads(result.stdout)["warnings"]
    assert any(
        w.startswith(f"the config {config} is under /tmp") and "/etc/bifrost" in w for w in warnings
    ), warnings
    assert "warning: the config" in " ".join(result.stderr.split())
