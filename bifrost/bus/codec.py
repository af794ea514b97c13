"""The one place that turns messages into bytes and back (MessagePack).

Unpacking treats every frame as untrusted: the frame size is capped before it is
read, msgpack's own length limits are set, map keys must be strings, ext types are
refused, and the result is checked against its message schema (envelope, request or
reply) before it is handed on. Any failure is a `BadRequest` that says what is wrong.

Wire shapes (DESIGN section 3):
- event envelope: a 7-item array `[v, type, seq, ts, src, cid, body]`; an array
  rather than a map because it is on the hottest path and its order is fixed.
- batch envelope: the same array with `type` = "batch" and body
  `{"type": T, "items": [body, ...]}`; item i has seq `seq + i`.
- RPC request: a map `{v, id, method, params, cid, deadline_ms}`, plus `auth` (bytes)
  when a service signs it for a method only that service may call.
- RPC reply: a map `{v, id, ok, result}` or `{v, id, ok: false, error}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any, NamedTuple

import msgpack

from bifrost.bus.schema import _SCALARS, ListOf, Optional, Schema, check_plain
from bifrost.errors import BadRequest, BifrostError

PROTOCOL_VERSION = 1
BATCH_TYPE = "batch"
MAX_REQUEST_BYTES = 1 << 20
"""Largest RPC request a service reads (1 MiB)."""
MAX_REPLY_BYTES = 256 << 20
"""Largest RPC reply a client reads (Arrow IPC results can be big)."""
MAX_EVENT_BYTES = 16 << 20
"""Largest event frame a subscriber reads."""


def _refuse_ext(code: int, data: bytes) -> Any:
    raise BadRequest(f"msgpack ext type {code} is not allowed")


def pack(value: Any) -> bytes:
    """Serialize plain data (maps, lists, str, bytes, numbers, bool, nil)."""
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def unpack(data: bytes, max_bytes: int) -> Any:
    """Deserialize one untrusted frame with size limits; raise BadRequest on anything odd."""
    size = len(data)
    if size > max_bytes:
        raise BadRequest(f"frame of {size} bytes exceeds the limit of {max_bytes}")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            ext_hook=_refuse_ext,
            timestamp=0,
            max_str_len=size,
            max_bin_len=size,
            max_array_len=size,
            max_map_len=size // 2,
            max_ext_len=0,
        )
    except BifrostError:
        raise
    except (
        ValueError,
        TypeError,
        msgpack.ExtraData,
        msgpack.FormatError,
        msgpack.StackError,
        UnicodeDecodeError,
    ) as exc:
        raise BadRequest(f"not a valid msgpack frame: {type(exc).__name__}: {exc}") from None


class Envelope(NamedTuple):
    """One event as published: protocol version, type, per-topic seq, time, source, cid, body."""

    v: int
    type: str
    seq: int
    ts: int
    src: str
    cid: str
    body: Any


def encode_envelope(type_: str, seq: int, ts: int, src: str, cid: str, body: Any) -> bytes:
    """Pack one event envelope."""
    packed: bytes = msgpack.packb(
        (PROTOCOL_VERSION, type_, seq, ts, src, cid, body), use_bin_type=True
    )
    return packed


EnvelopeEncoder = Callable[[str, int, int, str, str, Any], bytes]


def envelope_encoder() -> EnvelopeEncoder:
    """An `encode_envelope` with its own reusable Packer, for one thread only.

    Same bytes as `encode_envelope`, but `packb` builds a Packer on every call, which
    costs about as much as packing a quote; a publisher packs on one thread, so it
    keeps one. (A Packer is not thread-safe, hence not a module-level one.)
    """
    pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack

    def encode(type_: str, seq: int, ts: int, src: str, cid: str, body: Any) -> bytes:
        return pack((PROTOCOL_VERSION, type_, seq, ts, src, cid, body))

    return encode


def decode_envelope(data: bytes) -> Envelope:
    """Unpack and check an envelope; the body must be plain data."""
    raw = unpack(data, MAX_EVENT_BYTES)
    if type(raw) is not list or len(raw) != 7:
        raise BadRequest("envelope: expected a 7-item array [v,type,seq,ts,src,cid,body]")
    v, type_, seq, ts, src, cid, body = raw
    if type(v) is not int or type(type_) is not str or type(seq) is not int:
        raise BadRequest("envelope: v and seq must be integers, type a string")
    if type(ts) is not int or type(src) is not str or type(cid) is not str:
        raise BadRequest("envelope: ts must be an integer, src and cid strings")
    if v != PROTOCOL_VERSION:
        raise BadRequest(f"envelope: protocol version {v} is not {PROTOCOL_VERSION}")
    # The fast checks accept only what the schema accepts; anything else (nested
    # values, errors) takes the full check, which also words the error.
    if type_ == BATCH_TYPE:
        if not _is_flat_batch(body):
            BATCH_BODY.check(body, "batch")
    elif type(body) is not dict or not _SCALAR_TYPES.issuperset(map(type, body.values())):
        check_plain(body, "envelope.body")
    return Envelope(v, type_, seq, ts, src, cid, body)


BATCH_ITEMS = ListOf(dict)
BATCH_BODY = Schema("batch", {"type": str, "items": BATCH_ITEMS})
_SCALAR_TYPES = frozenset(_SCALARS)
_DICT_TYPE = frozenset((dict,))


def _is_flat_batch(body: Any) -> bool:
    """True if `body` is a batch body whose items are maps of scalars (the common case).

    A fast path for `BATCH_BODY.check`, which walks every value in Python and formats
    a field path for every item even when nothing is wrong.
    """
    if type(body) is not dict or len(body) != 2 or type(body.get("type")) is not str:
        return False
    items = body.get("items")
    if type(items) is not list or len(items) > BATCH_ITEMS.max_items:
        return False
    if not _DICT_TYPE.issuperset(map(type, items)):
        return False
    return _SCALAR_TYPES.issuperset(map(type, chain.from_iterable(map(dict.values, items))))


REQUEST = Schema(
    "request",
    {
        "v": int,
        "id": int,
        "method": str,
        "params": Optional(dict),
        "cid": Optional(str),
        "deadline_ms": Optional(int),
        "auth": Optional(bytes),
    },
)


@dataclass(frozen=True, slots=True)
class Request:
    """An RPC request after checking: method name, params map, correlation id, budget."""

    id: int
    method: str
    params: dict[str, Any]
    cid: str
    deadline_ms: int | None
    auth: bytes | None = None
    """A calling service's signature (bifrost.bus.service_auth); absent from other clients."""


def encode_request(
    id_: int,
    method: str,
    params: dict[str, Any],
    cid: str,
    deadline_ms: int | None,
    auth: bytes | None = None,
) -> bytes:
    """Pack one RPC request (`auth` only when a service signs it)."""
    request = {
        "v": PROTOCOL_VERSION,
        "id": id_,
        "method": method,
        "params": params,
        "cid": cid,
        "deadline_ms": deadline_ms,
    }
    if auth is not None:
        request["auth"] = auth
    return pack(request)


def decode_request(data: bytes) -> Request:
    """Unpack and check an RPC request; raises BadRequest naming the problem."""
    raw = REQUEST.check(unpack(data, MAX_REQUEST_BYTES))
    if raw["v"] != PROTOCOL_VERSION:
        raise BadRequest(f"request: protocol version {raw['v']} is not {PROTOCOL_VERSION}")
    deadline = raw.get("deadline_ms")
    if deadline is not None and deadline <= 0:
        raise BadRequest("request: deadline_ms must be positive")
    return Request(
        raw["id"],
        raw["method"],
        raw.get("params") or {},
        raw.get("cid") or "",
        deadline,
        raw.get("auth"),
    )


def request_id_of(data: bytes) -> int | None:
    """Best effort: the `id` of a request that failed to decode, so the reply can name it."""
    try:
        # The same limits as any untrusted frame (unpackb has no max_buffer_size).
        raw = unpack(data, MAX_REQUEST_BYTES)
    except Exception:
        return None
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if type(value) is int else None


def encode_ok(id_: int | None, result: Any) -> bytes:
    """Pack a successful reply."""
    return pack({"v": PROTOCOL_VERSION, "id": id_, "ok": True, "result": result})


def encode_error(id_: int | None, error: BifrostError) -> bytes:
    """Pack an error reply from a typed error."""
    return pack({"v": PROTOCOL_VERSION, "id": id_, "ok": False, "error": error.to_wire()})


def decode_reply(data: bytes) -> dict[str, Any]:
    """Unpack and check an RPC reply map."""
    raw = unpack(data, MAX_REPLY_BYTES)
    if type(raw) is not dict:
        raise BadRequest("reply: expected a map")
    for key in ("v", "ok"):
        if key not in raw:
            raise BadRequest(f"reply: missing field '{key}'")
    if type(raw["ok"]) is not bool:
        raise BadRequest("reply: 'ok' must be a boolean")
    if not raw["ok"] and type(raw.get("error")) is not dict:
        raise BadRequest("reply: an error reply needs an 'error' map")
    check_plain(raw.get("result"), "reply.result")
    return raw


MAX_WORK_BYTES = 64 << 20
"""Largest work message (a job, or a worker's result: a run with its equity curve)."""
WORK_KINDS = frozenset({"ready", "heartbeat", "result", "job"})
"""ready/heartbeat/result go from worker to broker; job/heartbeat from broker to worker."""
WORK_MESSAGE = Schema(
    "work message", {"v": int, "kind": str, "job": Optional(str), "body": Optional(dict)}
)


class WorkMessage(NamedTuple):
    """One message between the work broker and a backtest worker."""

    kind: str
    job: str | None
    body: dict[str, Any]


def encode_work(kind: str, job: str | None = None, body: dict[str, Any] | None = None) -> bytes:
    """Pack one work message: `{v, kind, job, body}`."""
    return pack({"v": PROTOCOL_VERSION, "kind": kind, "job": job, "body": body})


def decode_work(data: bytes, max_bytes: int = MAX_WORK_BYTES) -> WorkMessage:
    """Unpack and check a work message; raises BadRequest naming the problem."""
    raw = WORK_MESSAGE.check(unpack(data, max_bytes))
    if raw["v"] != PROTOCOL_VERSION:
        raise BadRequest(f"work message: protocol version {raw['v']} is not {PROTOCOL_VERSION}")
    if raw["kind"] not in WORK_KINDS:
        raise BadRequest(f"work message: unknown kind '{raw['kind']}'")
    if raw["kind"] in ("job", "result") and not raw.get("job"):
        raise BadRequest(f"work message: a {raw['kind']} needs a job id")
    return WorkMessage(raw["kind"], raw.get("job"), raw.get("body") or {})
