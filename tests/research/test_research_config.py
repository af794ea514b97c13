"""The [research] section: a LocalCluster by default, and the bus's fail-closed rule for
a scheduler address (plain TCP only on loopback, TLS anywhere else)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.errors import ConfigError
from bifrost.local_config import write_local_config
from bifrost.research.config import ResearchConfig


def config_with(tmp_path: Path, research: str, services: tuple[str, ...] = ()) -> Path:
    return write_local_config(tmp_path, services, extra=f"[research]\n{research}\n")


def test_the_default_is_a_local_cluster_sized_to_the_machine(tmp_path: Path) -> None:
    config = load_config(write_local_config(tmp_path, ()))
    assert config.research == ResearchConfig()
    assert config.research.is_local and config.research.workers == 0


@pytest.mark.parametrize(
    "scheduler",
    ["tcp://127.0.0.1:8786", "tcp://127.0.0.3:9000", "tcp://localhost:8786", "tcp://[::1]:8786"],
)
def test_plain_tcp_is_allowed_on_loopback(tmp_path: Path, scheduler: str) -> None:
    config = load_config(config_with(tmp_path, f'scheduler = "{scheduler}"'))
    assert config.research.scheduler == scheduler and not config.research.uses_tls


@pytest.mark.parametrize(
    ("research", "problem"),
    [
        ('scheduler = "tcp://10.1.2.3:8786"', r"off loopback: use tls://10\.1\.2\.3:8786"),
        ('scheduler = "tcp://scheduler.lan:8786"', "off loopback"),
        ('scheduler = "udp://127.0.0.1:8786"', 'is not "local", tcp://HOST:PORT'),
        ('scheduler = "tls://10.1.2.3:99999"', "no valid port"),
        ("workers = -1", "workers = -1 must be 0"),
        ('worker_hosts = ["local"]', "need a scheduler address"),
        ('scheduler = "tls://10.1.2.3:8786"\nworker_hosts = ["nowhere"]', "'nowhere' is not"),
        (
            'scheduler = "tls://10.1.2.3:8786"\nscheduler_host = "local"',
            r"is not on scheduler_host 'local' \(127\.0\.0\.1\)",
        ),
        ("threads = 2", "unknown key 'threads'"),
    ],
)
def test_a_bad_research_section_names_the_problem(
    tmp_path: Path, research: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        load_config(config_with(tmp_path, research))
    assert "[research]" in caught.value.message


def test_tls_off_loopback_is_accepted_with_its_files_in_the_key_store(tmp_path: Path) -> None:
    config = load_config(config_with(tmp_path, 'scheduler = "tls://192.0.2.13:8786"'))
    files = config.research.tls_files(config.keys_dir(tmp_path), config.path.parent)
    assert files == {
        "tls_cert": tmp_path / "keys" / "research-tls.pem",
        "tls_key": tmp_path / "keys" / "research-tls.key",
        "tls_ca": tmp_path / "keys" / "research-ca.pem",
    }


def test_the_example_cluster_config_runs_its_scheduler_on_host_c() -> None:
    example = Path(__file__).resolve().parents[2] / "configs" / "cluster.example.toml"
    research = load_config(example).research
    assert research.scheduler == "tls://192.0.2.13:8786" and research.scheduler_host == "c"
    assert research.worker_hosts == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("text", "where"),
    [("[strategy]\nworkers = 2\n", "top level"), ("", "services.strategy")],
)
def test_the_keys_of_the_old_worker_broker_say_what_replaces_them(
    tmp_path: Path, text: str, where: str
) -> None:
    path = write_local_config(tmp_path, ("strategy",), extra=text)
    if not text:
        body = path.read_text().replace(
            "[services.strategy]", "[services.strategy]\nworker_port = 7164"
        )
        path.write_text(body)
    with pytest.raises(ConfigError, match=r"no longer read: .*\[research\]") as caught:
        load_config(path)
    assert where in caught.value.message
