"""Tests of bifrost/config.py: loading, checking every key, and resolving paths."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bifrost.config import (
    DEFAULT_CONFIG,
    PROJECT_ROOT,
    SERVICE_NAMES,
    BifrostConfig,
    load_config,
    resolve_config_path,
    resolve_home,
)
from bifrost.errors import ConfigError
from tests.conftest import write_config

MINIMAL = """
[site]
host = "local"

[hosts.local]
address = "127.0.0.1"

[services.data]
host = "local"
rpc_port = 17101
pub_port = 17102
http_port = 17103
"""


def write(tmp_path: Path, text: str, name: str = "bifrost.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    """The message of the ConfigError that loading `text` raises; it must name the file."""
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = caught.value.message
    assert str(path) in message
    return message


def test_load_config_local_toml_loads_every_service_on_loopback() -> None:
    config = load_config(PROJECT_ROOT / "configs" / "local.toml")
    assert set(config.services) == set(SERVICE_NAMES)
    assert all(config.hosts[s.host].is_loopback for s in config.services.values())
    assert config.service("data").rpc == "tcp://127.0.0.1:7101"
    assert config.feed.prices["AAPL"] == 190.0
    assert "feed-stats" in [j.name for j in config.jobs_of("data")]


def test_load_config_cluster_example_loads_three_hosts() -> None:
    config = load_config(PROJECT_ROOT / "configs" / "cluster.example.toml")
    assert set(config.hosts) == {"a", "b", "c"}
    assert {s.name for s in config.services_on("a")} == {"data", "news"}
    assert len(config.services_on("b")) == 4
    assert config.service("risk").address == "192.0.2.12"
    assert not config.hosts["a"].is_loopback


def test_load_config_no_path_uses_packaged_local_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIFROST_CONFIG", raising=False)
    assert load_config().path == DEFAULT_CONFIG.resolve()


def test_load_config_test_fixture_config_loads(config: BifrostConfig, config_path: Path) -> None:
    assert config.path == config_path.resolve()
    assert config.site.log_level == "warning"
    assert config.feed.symbols == ("AAPL", "MSFT", "BTC-USD")


def test_load_config_minimal_file_fills_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.site.log_level == "info"
    assert config.feed.symbols == ("AAPL", "MSFT", "NVDA", "SPY", "BTC-USD")
    assert config.service("data").watchdog_seconds == 10.0
    assert config.jobs == {}


def test_load_config_unknown_top_level_key_names_key_and_file(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + "\n[surprise]\nx = 1\n")
    assert "unknown key 'surprise'" in message


def test_load_config_unknown_service_key_names_key_and_table(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + 'colour = "red"\n')
    assert "[services.data]" in message
    assert "unknown key 'colour'" in message


def test_load_config_unknown_feed_key_names_key(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL + '\n[feed]\nsymbol = ["AAPL"]\n')
    assert "[feed]" in message
    assert "unknown key 'symbol'" in message


def test_load_config_wrong_type_names_key_and_types(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace("rpc_port = 17101", 'rpc_port = "17101"'))
    assert "key 'rpc_port' must be int, not str" in message


def test_load_config_bool_for_int_is_wrong_type(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace("rpc_port = 17101", "rpc_port = true"))
    assert "key 'rpc_port' must be int, not bool" in message


def test_load_config_int_for_float_is_accepted(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + "watchdog_seconds = 3\n"))
    assert config.service("data").watchdog_seconds == 3


def test_load_config_missing_required_key_names_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace("http_port = 17103\n", ""))
    assert "missing key 'http_port'" in message


def test_load_config_dangling_service_host_names_it(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('host = "local"\nrpc', 'host = "nowhere"\nrpc'))
    assert "[services.data]" in message
    assert "host 'nowhere'" in message


def test_load_config_site_host_not_in_hosts_is_error(tmp_path: Path) -> None:
    message = load_error(tmp_path, MINIMAL.replace('[site]\nhost = "local"', '[site]\nhost = "b"'))
    assert "[site]" in message
    assert "host 'b'" in message


def test_load_config_dangling_job_service_names_it(tmp_path: Path) -> None:
    job = '\n[jobs.nightly]\nservice = "risk"\ntask = "x"\nevery_seconds = 5\n'
    message = load_error(tmp_path, MINIMAL + job)
    assert "[jobs.nightly]" in message
    assert "service 'risk'" in message


def test_load_config_job_with_both_schedules_is_error(tmp_path: Path) -> None:
    job = '\n[jobs.j]\nservice = "data"\ntask = "x"\nevery_seconds = 5\ncron = "0 * * * *"\n'
    assert "exactly one of every_seconds or cron" in load_error(tmp_path, MINIMAL + job)


def test_load_config_job_with_no_schedule_is_error(tmp_path: Path) -> None:
    job = '\n[jobs.j]\nservice = "data"\ntask = "x"\n'
    assert "exactly one of every_seconds or cron" in load_error(tmp_path, MINIMAL + job)


def test_load_config_cron_with_four_fields_is_error(tmp_path: Path) -> None:
    job = '\n[jobs.j]\nservice = "data"\ntask = "x"\ncron = "0 * * *"\n'
    assert "five fields" in load_error(tmp_path, MINIMAL + job)


def test_load_config_unknown_service_name_is_error(tmp_path: Path) -> None:
    text = MINIMAL.replace("[services.data]", "[services.oracle]")
    assert "unknown service 'oracle'" in load_error(tmp_path, text)


def test_load_config_port_out_of_range_is_error(tmp_path: Path) -> None:
    text = MINIMAL.replace("pub_port = 17102", "pub_port = 70000")
    assert "pub_port 70000 is not a port number" in load_error(tmp_path, text)


def test_load_config_port_reused_names_both_owners(tmp_path: Path) -> None:
    text = MINIMAL.replace("pub_port = 17102", "pub_port = 17101")
    message = load_error(tmp_path, text)
    assert "pub_port 17101" in message
    assert "services.data.rpc_port" in message


def test_load_config_host_address_not_ip_is_error(tmp_path: Path) -> None:
    text = MINIMAL.replace('address = "127.0.0.1"', 'address = "localhost"')
    assert "address 'localhost' is not an IP" in load_error(tmp_path, text)


def test_load_config_bad_log_level_is_error(tmp_path: Path) -> None:
    text = MINIMAL.replace("[site]\n", '[site]\nlog_level = "loud"\n')
    assert "log_level 'loud'" in load_error(tmp_path, text)


def test_load_config_empty_symbols_is_error(tmp_path: Path) -> None:
    assert "symbols" in load_error(tmp_path, MINIMAL + "\n[feed]\nsymbols = []\n")


def test_load_config_non_positive_price_is_error(tmp_path: Path) -> None:
    text = MINIMAL + "\n[feed]\n[feed.prices]\nAAPL = -1.0\n"
    assert "prices must map symbols to positive numbers" in load_error(tmp_path, text)


def test_load_config_bool_price_is_error(tmp_path: Path) -> None:
    text = MINIMAL + "\n[feed]\n[feed.prices]\nAAPL = true\n"
    assert "prices must map symbols to positive numbers" in load_error(tmp_path, text)


def test_load_config_zero_quote_rate_is_error(tmp_path: Path) -> None:
    text = MINIMAL + "\n[feed]\nquotes_per_second = 0\n"
    assert "quotes_per_second must be positive" in load_error(tmp_path, text)


def test_load_config_hosts_not_a_table_is_error(tmp_path: Path) -> None:
    text = "hosts = 5\n" + MINIMAL.replace('[hosts.local]\naddress = "127.0.0.1"\n', "")
    assert "[hosts] must be a table" in load_error(tmp_path, text)


def test_load_config_invalid_toml_names_file(tmp_path: Path) -> None:
    assert "not valid TOML" in load_error(tmp_path, "[site\nhost = ")


def test_load_config_missing_file_is_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_config(missing)
    assert str(missing) in caught.value.message


def test_config_service_unknown_name_lists_configured(config: BifrostConfig) -> None:
    with pytest.raises(ConfigError, match=r"service 'risk' is not in .*configured: data"):
        config.service("risk")


def test_config_services_on_unknown_host_is_error(config: BifrostConfig) -> None:
    with pytest.raises(ConfigError, match="host 'mars'"):
        config.services_on("mars")


def test_config_is_frozen(config: BifrostConfig) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.site = config.site  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.service("data").rpc_port = 1  # type: ignore[misc]


def test_config_to_dict_is_json_ready(config: BifrostConfig) -> None:
    view = json.loads(json.dumps(config.to_dict()))
    data = config.service("data")
    assert view["services"]["data"]["rpc"] == data.rpc
    assert view["services"]["data"]["http"] == data.http
    assert view["feed"]["symbols"] == ["AAPL", "MSFT", "BTC-USD"]


def test_write_config_two_services_get_distinct_ports(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ("data", "news")))
    ports = {p for s in config.services.values() for p in (s.rpc_port, s.pub_port, s.http_port)}
    assert len(ports) == 6


def test_resolve_config_path_explicit_beats_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIFROST_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path(tmp_path / "cli.toml") == (tmp_path / "cli.toml").resolve()


def test_resolve_config_path_env_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIFROST_CONFIG", str(tmp_path / "env.toml"))
    assert resolve_config_path() == (tmp_path / "env.toml").resolve()


def test_resolve_config_path_nothing_given_is_packaged_local(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BIFROST_CONFIG", raising=False)
    assert resolve_config_path() == DEFAULT_CONFIG.resolve()


def test_resolve_home_explicit_beats_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIFROST_HOME", str(tmp_path / "env"))
    assert resolve_home(tmp_path / "cli") == (tmp_path / "cli").resolve()


def test_resolve_home_env_beats_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIFROST_HOME", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_home() == (tmp_path / "env").resolve()


def test_resolve_home_xdg_data_home_gets_bifrost_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BIFROST_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve_home() == (tmp_path / "xdg" / "bifrost").resolve()


def test_resolve_home_nothing_set_is_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BIFROST_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_home() == (tmp_path / ".local" / "share" / "bifrost").resolve()


@pytest.mark.parametrize("seconds", ["0", "-5", "0.0"])
def test_load_config_job_interval_not_positive_is_error(tmp_path: Path, seconds: str) -> None:
    job = f'\n[jobs.j]\nservice = "data"\ntask = "x"\nevery_seconds = {seconds}\n'
    message = load_error(tmp_path, MINIMAL + job)
    assert "[jobs.j]" in message
    assert "every_seconds must be positive" in message
