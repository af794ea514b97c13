"""Plumbing shared by the venue stubs: an aiohttp app on its own thread and event loop.

A stub speaks one venue's HTTP and websocket wire format on 127.0.0.1 so the venue's real
client library talks to it over sockets. Tests drive it through its Python API; end-to-end
tests start it as a process (`python -m tests.venues.<stub> --port 0 --ready-file PATH`),
which writes one JSON line of its base URLs to the ready file once it listens and serves
until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"


class StubServer:
    """Runs an aiohttp application on 127.0.0.1 in a thread of its own until `stop`."""

    def __init__(self, app: web.Application, port: int = 0) -> None:
        self.app = app
        self.requested_port = port
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="venue-stub", daemon=True
        )

    def start(self) -> None:
        """Bind and serve; returns once the port is listening."""
        self._thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.requested_port)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]

    @property
    def running(self) -> bool:
        """Listening, and its loop still runs (a stopped loop would never answer a call)."""
        return bool(self.port) and self._thread.is_alive()

    def stop(self) -> None:
        """Close every connection and the loop; safe to call twice."""
        if not self._thread.is_alive():
            return
        if self._runner is not None:
            self.call(self._runner.cleanup(), timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        """Run `coroutine` on the stub's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def call_soon(self, function: Callable[[], Any]) -> None:
        """Run `function` on the stub's loop without waiting."""
        self.loop.call_soon_threadsafe(function)

    @property
    def http_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        """ws://127.0.0.1:PORT"""
        return f"ws://{HOST}:{self.port}"


def stub_arguments(description: str) -> argparse.Namespace:
    """The command line every stub process takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--ready-file", type=Path, required=True, help="where to write the URLs")
    parser.add_argument("--symbols", default="", help="Bifrost symbols, comma separated")
    parser.add_argument(
        "--auto-fill",
        action="store_true",
        help="fill orders at the stub's price and stream market data from a random walk",
    )
    return parser.parse_args()


def serve_until_terminated(
    start: Callable[[], dict[str, str]], stop: Callable[[], None], ready_file: Path
) -> None:
    """Start the stub, write its URLs as one JSON line to `ready_file`, serve until SIGTERM
    or SIGINT, then stop it."""
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    urls = start()
    temporary = ready_file.with_name(ready_file.name + ".tmp")
    temporary.write_text(json.dumps(urls) + "\n", encoding="utf-8")
    temporary.replace(ready_file)
    try:
        while not done.wait(0.5):
            pass
    finally:
        stop()
