"""A collector that does not answer costs a traced daemon nothing but log lines.

The data service traces to a loopback port where nothing listens: its calls are
answered as usual, its stop waits for the last export no longer than the close timeout,
and what the SDK has to say about the failed export comes as the daemon's JSON lines.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bifrost.bus import methods
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.local_config import free_ports
from bifrost.telemetry.spans import CLOSE_TIMEOUT_S
from tests.bifrost.conftest import DaemonThread
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(30)


def test_a_collector_that_is_down_delays_a_stop_at_most_the_close_timeout(
    tmp_path: Path, home: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    nobody = free_ports(1)[0]
    telemetry = f'[telemetry]\notlp_endpoint = "http://127.0.0.1:{nobody}"\n'
    config = load_config(write_config(tmp_path, extra=telemetry))
    daemon = DaemonThread(config, home)
    daemon.start()
    try:
        with BifrostClient(config) as client:
            assert client.call("data", methods.JOBS_LIST) == []
    finally:
        stopping = time.monotonic()
        daemon.stop()
        took = time.monotonic() - stopping
    assert took < CLOSE_TIMEOUT_S + 1.5
    records = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line]
    problems = [r for r in records if r["event"] == "telemetry.problem"]
    assert problems and {r["service"] for r in problems} == {"data"}
