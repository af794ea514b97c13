"""Config of backtest workers: the strategy service's worker_port and the [strategy] table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import load_config
from bifrost.errors import ConfigError
from bifrost.local_config import write_local_config
from bifrost.strategy.config import StrategyConfig


def test_worker_port_is_optional_and_off_by_default(tmp_path: Path) -> None:
    config = load_config(write_local_config(tmp_path, ("data", "strategy")))
    assert config.service("strategy").worker is None
    assert config.strategy == StrategyConfig()
    assert config.to_dict()["strategy"]["workers"] == 0


def test_worker_port_gives_the_worker_endpoint(tmp_path: Path) -> None:
    path = write_local_config(
        tmp_path, ("strategy",), worker_port=True, extra="[strategy]\nworkers = 2\n"
    )
    config = load_config(path)
    spec = config.service("strategy")
    assert spec.worker == f"tcp://127.0.0.1:{spec.worker_port}"
    assert config.strategy.workers == 2
    assert config.to_dict()["services"]["strategy"]["worker"] == spec.worker


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("[strategy]\nworkers = 2\n", "needs .services.strategy. worker_port"),
        ("[strategy]\nworkers = -1\n", "workers must be >= 0"),
        ("[strategy]\nheartbeat_seconds = 0\n", "heartbeat_seconds > 0"),
        ("[strategy]\nmax_attempts = 0\n", "max_attempts >= 1"),
        ("[strategy]\nthreads = 2\n", "unknown key 'threads'"),
        ("[strategy]\nworkers = 'two'\n", "must be int"),
    ],
)
def test_bad_strategy_settings_are_named(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write_local_config(tmp_path, ("strategy",), extra=extra))


def test_worker_port_belongs_to_the_strategy_service_and_must_be_free(tmp_path: Path) -> None:
    path = write_local_config(tmp_path, ("data", "strategy"), worker_port=True)
    text = path.read_text()
    rpc = load_config(path).service("data").rpc_port
    port = load_config(path).service("strategy").worker_port
    path.write_text(text.replace(f"worker_port = {port}", f"worker_port = {rpc}"))
    with pytest.raises(ConfigError, match=r"worker_port .* already used by services.data"):
        load_config(path)
    moved = text.replace(f"worker_port = {port}\n", "").replace(
        "[services.data]\n", f"[services.data]\nworker_port = {port}\n"
    )
    path.write_text(moved)
    with pytest.raises(ConfigError, match="only the strategy service has a worker_port"):
        load_config(path)
    path.write_text(text.replace(f"worker_port = {port}", "worker_port = 70000"))
    with pytest.raises(ConfigError, match="worker_port 70000 is not a port number"):
        load_config(path)
