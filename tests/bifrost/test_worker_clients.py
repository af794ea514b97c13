"""Worker clients: one bus client per thread, made on first use and closed together."""

from __future__ import annotations

import threading
from pathlib import Path

from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.worker_clients import WorkerClients
from tests.conftest import write_config


def test_each_thread_gets_its_own_client_and_keeps_it(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, services=("data",)))
    made: list[BifrostClient] = []

    def new_client() -> BifrostClient:
        made.append(BifrostClient(config, timeout_ms=200))
        return made[-1]

    clients = WorkerClients(new_client)
    mine = clients.get()
    assert clients.get() is mine
    theirs: list[BifrostClient] = []
    thread = threading.Thread(target=lambda: theirs.append(clients.get()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine and made == [mine, theirs[0]]
    clients.close()
