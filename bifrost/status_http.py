"""The HTTP side door of a daemon: /health, /ready and /metrics for probes and Prometheus.

Served from a background thread by the standard library's threading HTTP server;
it only reads state the daemon publishes to it, so it can never block the bus loop.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class StatusHttpServer:
    """Serves the three read-only endpoints from callables given by the daemon."""

    def __init__(
        self,
        address: str,
        port: int,
        health: Callable[[], dict[str, Any]],
        is_ready: Callable[[], bool],
        metrics: Callable[[], bytes],
    ) -> None:
        routes: dict[str, Callable[[], tuple[int, str, bytes]]] = {
            "/health": lambda: (200, "application/json", json.dumps(health()).encode()),
            "/ready": lambda: (
                (200, "application/json", b'{"ready": true}')
                if is_ready()
                else (503, "application/json", b'{"ready": false}')
            ),
            "/metrics": lambda: (200, PROMETHEUS_TEXT, metrics()),
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                status, kind, body = route() if route else (404, "text/plain", b"not found\n")
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # probes every few seconds would drown the JSON log

        self._server = ThreadingHTTPServer((address, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll interval lets close() return at once instead of after 0.5 s.
            target=self._server.serve_forever,
            args=(0.05,),
            name="status-http",
            daemon=True,
        )

    def start(self) -> None:
        """Begin serving in the background."""
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port; idempotent."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
