"""A bus client that answers from replies recorded on a real stack, so screens run with no daemon.

`tests/tui/record_replies.py` ran the TUI once against real daemons and kept what they
answered (`recorded/replies.json`) and what they published (`recorded/events.json`).
`FakeClient` is a `BifrostClient` whose transport is that recording: a call gets the
reply recorded for the same service, method and params (UNAVAILABLE when there is
none, as from a service that is not running), and a subscription is a real
`Subscriber` on an in-process socket that receives the recorded events of its
service and prefixes, in their recorded order. Everything above the transport (the
client's health and require, the gateways, the screens) is the real code.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from bifrost.bus import codec
from bifrost.bus.pubsub import Subscriber
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import Unavailable, error_from_wire
from tui.app import BifrostApp, make_app
from tui.bus import ClientFactory

RECORDED = Path(__file__).parent / "recorded"
BYTES_TAG = "$bytes"
"""A JSON map {"$bytes": base64} stands for bytes in a reply (an Arrow IPC frame of bars)."""
_feeds = itertools.count()


def to_json(value: Any) -> Any:
    """A reply as JSON-able data: bytes (and buffers) become {"$bytes": base64}."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


def from_json(value: Any) -> Any:
    """The reverse of `to_json`."""
    if isinstance(value, dict):
        if set(value) == {BYTES_TAG}:
            return base64.b64decode(value[BYTES_TAG])
        return {key: from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_json(item) for item in value]
    return value


def call_key(service: str, method: str, params: dict[str, Any] | None) -> str:
    """One call as a lookup key: service, method and params in a canonical order."""
    return json.dumps([service, method, to_json(params or {})], sort_keys=True)


@dataclass(frozen=True)
class Recording:
    """Replies by call and events in publishing order, as `record_replies.py` kept them."""

    replies: dict[str, dict[str, Any]]
    """call_key -> {"result": ...} or {"error": {code, message, details}}."""
    events: list[dict[str, Any]]
    """{"service", "topic", "type", "seq", "ts", "src", "cid", "body"}, oldest first."""

    @classmethod
    def load(cls, folder: Path = RECORDED) -> Recording:
        """Read `replies.json` and `events.json` of `folder`."""
        replies = json.loads((folder / "replies.json").read_text(encoding="utf-8"))
        events = json.loads((folder / "events.json").read_text(encoding="utf-8"))
        return cls(
            {
                call_key(r["service"], r["method"], r["params"]): r["reply"]
                for r in replies["replies"]
            },
            events["events"],
        )

    def services(self) -> set[str]:
        """Services that answered during the recording."""
        return {json.loads(key)[0] for key in self.replies}

    def reply(self, service: str, method: str, params: dict[str, Any] | None) -> Any:
        """The recorded result of this call; its recorded error, or UNAVAILABLE, raised."""
        reply = self.replies.get(call_key(service, method, params))
        if reply is None:
            raise Unavailable(
                f"{service} has no recorded reply to {method} {json.dumps(params or {})}",
                {"service": service, "method": method},
            )
        if "error" in reply:
            raise error_from_wire(reply["error"])
        return from_json(reply["result"])

    def events_of(self, service: str, prefixes: list[str]) -> list[dict[str, Any]]:
        """The recorded events `service` published under any of `prefixes`."""
        return [
            e
            for e in self.events
            if e["service"] == service and any(e["topic"].startswith(p) for p in prefixes)
        ]


def recorded_config(folder: Path = RECORDED) -> BifrostConfig:
    """The recording stack's config (its ports fixed; nothing listens on them)."""
    return load_config(folder / "config.toml")


class RecordedService:
    """One service's end of a FakeClient: `call` as `RpcClient.call`, from the recording."""

    def __init__(self, recording: Recording, service: str) -> None:
        self.recording = recording
        self.service = service

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_ms: int | None = None,
        idempotent: bool = False,
        cid: str | None = None,
        fail_fast: bool = False,
    ) -> Any:
        """The recorded reply (the timeout, retry and probe options change nothing here)."""
        return self.recording.reply(self.service, method, params)

    def close(self) -> None:
        """Nothing to close."""


class FakeClient(BifrostClient):
    """A BifrostClient whose calls and subscriptions are answered from a Recording."""

    def __init__(
        self,
        recording: Recording,
        config: BifrostConfig,
        timeout_ms: int = 3000,
        retries: int = 2,
    ) -> None:
        super().__init__(config, timeout_ms, retries)
        self.recording = recording

    def rpc(self, service: str) -> Any:
        """The recorded answers of `service` in place of a connection to it."""
        self.config.service(service)  # a service the config lacks is an error, as for real
        return RecordedService(self.recording, service)

    def subscribe(self, service: str, prefixes: Iterable[str]) -> Subscriber:
        """A real subscriber that has already received the recorded events it follows."""
        self.config.service(service)
        prefixes = list(prefixes) or [""]
        endpoint = f"inproc://recorded-{service}-{next(_feeds)}"
        feed = self._ctx.socket(zmq.XPUB)  # closed with the client's context
        feed.setsockopt(zmq.LINGER, 0)
        feed.setsockopt(zmq.SNDHWM, 0)
        feed.setsockopt(zmq.RCVTIMEO, 2000)
        feed.bind(endpoint)
        subscriber = Subscriber(self._ctx, [endpoint], prefixes)
        wanted = {p.encode() for p in prefixes}
        while wanted:  # PUB/SUB drops what is sent before a subscription arrives
            wanted.discard(feed.recv()[1:])
        for e in self.recording.events_of(service, prefixes):
            feed.send(
                codec.encode_event(
                    e["topic"], e["type"], e["seq"], e["ts"], e["src"], e["cid"], e["body"]
                )
            )
        return subscriber


def fake_clients(recording: Recording, config: BifrostConfig) -> ClientFactory:
    """The client factory the app is handed in tests: FakeClients of one recording."""

    def make(*, timeout_ms: int, retries: int) -> BifrostClient:
        return FakeClient(recording, config, timeout_ms, retries)

    return make


FROZEN_CLOCK = 1_000.0
"""The desk's monotonic clock in snapshots: every quote stays as fresh as it arrived."""


def recorded_app(home: Path) -> BifrostApp:
    """The TUI over the recorded stack: fake clients, a frozen desk clock, no animation."""
    config = recorded_config()
    app = make_app(config, home, fake_clients(Recording.load(), config), clock=lambda: FROZEN_CLOCK)
    app.animation_level = "none"  # the backtests' idle progress bar would move with time
    return app
