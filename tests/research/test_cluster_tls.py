"""A research cluster over mutual TLS: the scheduler and two workers started with the
commands of their systemd units, on loopback, with files from `bifrost keys research-tls`.

It gives the in-process sweep's answer, and it refuses a client that has no certificate
of its CA, as well as a key file others can read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509

from bifrost.backtest.runner import RunRequest
from bifrost.backtest.sweep import run_sweep
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import ConfigError, Conflict
from bifrost.local_config import free_ports, write_local_config
from bifrost.research.cluster import ResearchCluster, tls_security
from bifrost.research.config import TLS_FILES
from bifrost.research.tls import make_research_tls
from bifrost.strategy.bars import BarArrays
from bifrost.systemd import scheduler_command, worker_command

DASK = Path(sys.executable).parent / "dask"
DAY_NS = 86_400_000_000_000
REQUEST = RunRequest("sma_cross", ("AAA",), engine="vector", periods_per_year=252)
POINTS = [{"fast": fast, "slow": slow} for fast in range(3, 11) for slow in range(20, 25)]
REFUSED_WITHIN_S = 2


@dataclass
class Site:
    """One loopback host's config, data dir and research TLS files."""

    config: BifrostConfig
    home: Path
    files: dict[str, Path]


def write_site(directory: Path) -> Site:
    """A config whose [research] scheduler is tls:// on a free loopback port, served by
    this host's units (one worker process each), and the TLS files in its key store."""
    port = free_ports(1)[0]
    extra = (
        '[security]\nkeys_dir = "keys"\n\n'
        f'[research]\nscheduler = "tls://127.0.0.1:{port}"\n'
        'scheduler_host = "local"\nworker_hosts = ["local"]\nworkers = 1\n'
    )
    config = load_config(write_local_config(directory, services=(), extra=extra))
    home = directory / "home"
    files = config.research.tls_files(config.keys_dir(home), config.path.parent)
    make_research_tls(files)
    return Site(config, home, files)


def key_store(directory: Path) -> dict[str, Path]:
    """The research TLS files' default paths in a key store under `directory`."""
    return {name: directory / "keys" / file for name, file in TLS_FILES.items()}


def start(command: list[str], log: Path) -> subprocess.Popen:
    """`command` in its own process group, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to its group (a worker's nanny and its worker) if it lingers."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def logged(log: Path, text: str, within_s: float = 5) -> bool:
    """True once `text` is in `log` (a process writes it a moment after the event)."""
    deadline = time.monotonic() + within_s
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    return write_site(tmp_path_factory.mktemp("research-tls"))


@pytest.fixture(scope="module")
def cluster(site: Site) -> Iterator[ResearchCluster]:
    """The scheduler and two workers, and a client of them; all stopped afterwards."""
    logs = site.config.path.parent
    processes = [start(scheduler_command(site.config, DASK), logs / "scheduler.log")]
    try:
        for i in range(2):
            command = worker_command(site.config, "127.0.0.1", DASK)
            processes.append(start(command, logs / f"worker-{i}.log"))
        with ResearchCluster.open(site.config, site.home) as opened:
            try:
                opened.client.wait_for_workers(2, timeout=40)
            except TimeoutError:
                output = [p.read_text(errors="replace")[-2000:] for p in logs.glob("*.log")]
                pytest.fail("the workers did not join:\n" + "\n".join(output))
            yield opened
    finally:
        for process in reversed(processes):
            stop(process)


@pytest.fixture(scope="module")
def data() -> dict[str, BarArrays]:
    """300 daily bars of a noisy cycle."""
    rng = np.random.default_rng(3)
    n = 300
    steps = rng.normal(0.0002, 0.01, n) + 0.006 * np.sin(np.arange(n) / 12)
    close = 100 * np.exp(np.cumsum(steps))
    ts = (np.arange(n, dtype=np.int64) + 18_000) * DAY_NS
    return {"AAA": BarArrays(ts, close, close * 1.01, close * 0.99, close, np.ones(n))}


def test_make_research_tls_node_certificate_is_signed_by_the_ca_and_its_key_private(
    tmp_path: Path,
) -> None:
    made = make_research_tls(key_store(tmp_path))
    ca = x509.load_pem_x509_certificate(made.files["tls_ca"].read_bytes())
    node = x509.load_pem_x509_certificate(made.files["tls_cert"].read_bytes())
    node.verify_directly_issued_by(ca)
    assert made.files["tls_key"].stat().st_mode & 0o777 == 0o600
    assert node.not_valid_after_utc == made.expires


def test_make_research_tls_existing_files_are_a_conflict_without_force(tmp_path: Path) -> None:
    files = make_research_tls(key_store(tmp_path)).files
    before = files["tls_cert"].read_bytes()
    with pytest.raises(Conflict, match="--force"):
        make_research_tls(files)
    assert files["tls_cert"].read_bytes() == before
    make_research_tls(files, force=True)
    assert files["tls_cert"].read_bytes() != before
    assert files["tls_key"].stat().st_mode & 0o777 == 0o600


def test_tls_security_key_readable_by_others_is_refused_naming_the_chmod(
    tmp_path: Path,
) -> None:
    files = make_research_tls(key_store(tmp_path)).files
    files["tls_key"].chmod(0o644)
    with pytest.raises(ConfigError, match=f"chmod 600 {files['tls_key']}"):
        tls_security(files)


@pytest.mark.timeout(90)
def test_sweep_on_the_tls_cluster_equals_the_sweep_here(
    cluster: ResearchCluster, data: dict[str, BarArrays]
) -> None:
    assert cluster.address.startswith("tls://127.0.0.1:")
    assert cluster.workers == 2
    there = run_sweep(REQUEST, data, POINTS, cluster=cluster)
    assert there == run_sweep(REQUEST, data, POINTS)
    assert all(row["error"] is None for row in there)


@pytest.mark.timeout(30)
def test_plain_tcp_client_to_the_tls_scheduler_is_refused(
    cluster: ResearchCluster, site: Site
) -> None:
    from distributed import Client

    plain = site.config.research.scheduler.replace("tls://", "tcp://")
    with pytest.raises(OSError):
        Client(plain, timeout=REFUSED_WITHIN_S, set_as_default=False)


@pytest.mark.timeout(30)
def test_client_certificate_of_another_ca_is_refused_by_the_scheduler(
    cluster: ResearchCluster, site: Site, tmp_path: Path
) -> None:
    from distributed import Client

    # The stranger trusts the cluster's CA, so only the scheduler's check can stop it.
    stranger = {**make_research_tls(key_store(tmp_path)).files, "tls_ca": site.files["tls_ca"]}
    with pytest.raises(OSError):
        Client(
            site.config.research.scheduler,
            security=tls_security(stranger),
            timeout=REFUSED_WITHIN_S,
            set_as_default=False,
        )
    assert logged(site.config.path.parent / "scheduler.log", "certificate verify failed")
