"""Per-client rate limits on a daemon's RPC socket: RATE_LIMITED with a retry-after."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import zmq

from bifrost.bus.rpc import RpcClient
from bifrost.config import load_config
from bifrost.errors import ConfigError, RateLimited
from tests.bifrost.conftest import DaemonThread
from tests.conftest import write_config


def test_client_over_its_rate_gets_rate_limited_others_are_served(tmp_path: Path, home) -> None:
    path = write_config(tmp_path)
    path.write_text(
        path.read_text().replace(
            'log_level = "warning"', 'log_level = "warning"\nrpc_rate_per_second = 5.0'
        )
    )
    config = load_config(path)
    thread = DaemonThread(config, home)
    thread.start()
    ctx = zmq.Context()
    try:
        greedy = RpcClient(ctx, config.services["data"].rpc, retries=0)
        limited = []
        for _ in range(30):
            try:
                greedy.call("ready", idempotent=True)
            except RateLimited as exc:
                limited.append(exc)
        assert 15 <= len(limited) <= 20  # a burst of 10 passes, then about 5 a second
        assert 0 < limited[0].details["retry_after_ms"] <= 200
        polite = RpcClient(ctx, config.services["data"].rpc, retries=0)
        assert polite.call("ready", idempotent=True) == {"ready": True}
        time.sleep(0.5)
        assert greedy.call("ready", idempotent=True) == {"ready": True}
    finally:
        ctx.destroy(linger=0)
        thread.stop()


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_non_positive_rate_in_config_is_refused(tmp_path: Path, rate: float) -> None:
    path = write_config(tmp_path)
    path.write_text(
        path.read_text().replace(
            'log_level = "warning"', f'log_level = "warning"\nrpc_rate_per_second = {rate}'
        )
    )
    with pytest.raises(ConfigError, match="rpc_rate_per_second"):
        load_config(path)
