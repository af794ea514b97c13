"""The one place that turns messages into bytes and back (MessagePack), wire contract v2.

Unpacking treats every frame as untrusted: the frame size is capped before it is
read, msgpack's length limits are the frame's own size (msgpack derives them from the
buffer), map keys must be strings, ext types are refused (so everything decoded is
plain data: maps, lists, str, bytes, numbers, bool, nil), and the result is checked
against its message's shape (event, request or reply) before it is handed on. Any
failure is a `BadRequest` that says what is wrong.

Wire shapes (v2; docs/ARCHITECTURE.md "Wire contract v2"):
- event: ONE frame, `topic UTF-8 | 0x00 | envelope`, so a SUB socket's prefix filter
  still works on the frame's start. The envelope is a 7-item array
  `[v, type, seq, ts, src, cid, body]`: an array rather than a map because it is on the
  hottest path and its order is fixed. It is packed as a fixarray, so its first two
  bytes are 0x97 and the version, which a subscriber checks before unpacking.
- batch: the same envelope with `type` = "batch" and a columnar body
  `{"type": T, "n": N, "columns": {field: [N values], ...}}`; event i has seq `seq + i`.
- RPC request: a map `{v, id, method, params, cid, deadline_ms}`, plus `auth` (bytes)
  when a service signs it, `bulk` (a list of names) when bulk frames follow it and
  `traceparent` (W3C trace context, a str) when the caller traces (bifrost.telemetry).
- RPC reply: a map `{v, id, ok, result}` (plus `bulk`) or `{v, id, ok: false, error}`.
- bulk payloads (Arrow IPC) travel as frames of their own after the request or reply
  map: name i of `bulk` is a top-level key of params/result whose value is frame i,
  sent and received without a copy and never packed into msgpack.

A peer that speaks another version gets an error naming both versions.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack

from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.errors import BadRequest, BifrostError

PROTOCOL_VERSION = 2
BATCH_TYPE = "batch"
TOPIC_END = b"\x00"
"""Ends the topic at the start of an event frame (a topic never holds a NUL)."""
MAX_REQUEST_BYTES = 1 << 20
"""Largest RPC request map a service reads (1 MiB); bulk frames are counted apart."""
MAX_REPLY_BYTES = 256 << 20
"""Largest RPC reply map a client reads."""
MAX_BULK_BYTES = 1 << 30
"""Largest bulk frame either side accepts (1 GiB of Arrow IPC)."""
MAX_EVENT_BYTES = 16 << 20
"""Largest event frame a subscriber reads."""
MAX_BATCH_EVENTS = 1_000_000
"""Most events one batch frame may carry."""

_DECODE_ERRORS = (
    ValueError,
    TypeError,
    msgpack.ExtraData,
    msgpack.FormatError,
    msgpack.StackError,
    UnicodeDecodeError,
)
_unpackb = msgpack.unpackb
_packers = threading.local()
"""Each thread's Packer: `packb` builds one (and its buffer) per call, which costs about as
much as packing a small map; a Packer is not thread-safe, so every thread has its own."""
_KEEP_PACKER_BYTES = 1 << 20
"""A Packer keeps its buffer at the largest message it packed: after one larger than
this, the thread's Packer is dropped so that memory goes back."""


def pack(value: Any) -> bytes:
    """Serialize plain data (maps, lists, str, bytes, numbers, bool, nil)."""
    try:
        pack_: Callable[[Any], bytes] = _packers.pack
    except AttributeError:
        pack_ = _packers.pack = msgpack.Packer(use_bin_type=True).pack
    packed = pack_(value)
    if len(packed) > _KEEP_PACKER_BYTES:
        del _packers.pack
    return packed


def unpack(data: bytes, max_bytes: int) -> Any:
    """Deserialize one untrusted frame with size limits; raise BadRequest on anything odd."""
    size = len(data)
    if size > max_bytes:
        raise BadRequest(f"frame of {size} bytes exceeds the limit of {max_bytes}")
    try:
        # msgpack >= 1.0 decodes str as str, refuses non-str map keys and caps every
        # length at the buffer's size; max_ext_len=0 refuses ext types and timestamps.
        return _unpackb(data, max_ext_len=0)
    except _DECODE_ERRORS as exc:
        raise BadRequest(f"not a valid msgpack frame: {type(exc).__name__}: {exc}") from None


# -- events ---------------------------------------------------------------------------------


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
    """Pack one event envelope (the part of an event frame after the topic)."""
    packed: bytes = msgpack.packb(
        (PROTOCOL_VERSION, type_, seq, ts, src, cid, body), use_bin_type=True
    )
    return packed


def topic_prefix(topic: str) -> bytes:
    """The bytes an event frame of `topic` starts with; ValueError for a topic with a NUL."""
    if "\x00" in topic:
        raise ValueError(f"a topic cannot hold a NUL character: {topic!r}")
    return topic.encode() + TOPIC_END


def encode_event(topic: str, type_: str, seq: int, ts: int, src: str, cid: str, body: Any) -> bytes:
    """One whole event frame: topic, NUL, envelope."""
    return topic_prefix(topic) + encode_envelope(type_, seq, ts, src, cid, body)


EventEncoder = Callable[[bytes, str, int, int, str, str, Any], bytes]


def event_encoder() -> EventEncoder:
    """`encode(prefix, type, seq, ts, src, cid, body)` with its own Packer, for one thread.

    `prefix` is `topic_prefix(topic)`, which a publisher keeps per topic. Same bytes as
    `encode_event`, but `packb` builds a Packer on every call, which costs about as much
    as packing a quote; a publisher packs on one thread, so it keeps one. (A Packer is
    not thread-safe, hence not a module-level one.)
    """
    pack_: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack
    version = PROTOCOL_VERSION

    def encode(
        prefix: bytes, type_: str, seq: int, ts: int, src: str, cid: str, body: Any
    ) -> bytes:
        return prefix + pack_((version, type_, seq, ts, src, cid, body))

    return encode


def columns_of(bodies: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The bodies of a batch as one list per field; every body must have the same fields."""
    names = list(bodies[0])
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for body in bodies:
        if len(body) != len(names):
            raise ValueError(f"every body of a batch needs the fields {names}; got {list(body)}")
        try:
            for name in names:
                columns[name].append(body[name])
        except KeyError:
            raise ValueError(
                f"every body of a batch needs the fields {names}; got {list(body)}"
            ) from None
    return columns


def batch_body(type_: str, count: int, columns: dict[str, list[Any]]) -> dict[str, Any]:
    """The body of a batch envelope: `count` events of `type_`, one list per field."""
    return {"type": type_, "n": count, "columns": columns}


_ENVELOPE_HEAD = b"\x97" + bytes((PROTOCOL_VERSION,))
"""How a v2 envelope starts: a msgpack array of 7 (0x97), then the version as a fixint."""


def decode_event(frame: bytes) -> tuple[str, list[Any]]:
    """Split and check one event frame: (topic, [v, type, seq, ts, src, cid, body]).

    The envelope comes back as the decoded list (not an Envelope) because this runs
    once per event and the subscriber builds its own object from it. A batch body has
    been checked to be columnar with `n` events.

    The array's length and version are read from the envelope's first two bytes before
    it is unpacked, so the decoded list needs only the types of its five header fields
    checked.
    """
    if len(frame) > MAX_EVENT_BYTES:
        raise BadRequest(f"frame of {len(frame)} bytes exceeds the limit of {MAX_EVENT_BYTES}")
    topic, sep, envelope = frame.partition(TOPIC_END)
    if not sep:
        raise BadRequest(
            "event frame has no topic end: a wire v1 event (topic and envelope in two "
            f"frames)? this subscriber speaks wire v{PROTOCOL_VERSION}"
        )
    if envelope[:2] != _ENVELOPE_HEAD:
        raise _bad_envelope_head(envelope)
    try:
        raw = _unpackb(envelope, max_ext_len=0)
        name = topic.decode()
    except _DECODE_ERRORS as exc:
        raise BadRequest(f"not a valid event frame: {type(exc).__name__}: {exc}") from None
    _, type_, seq, ts, src, cid, body = raw
    if not (
        type(type_) is str
        and type(seq) is int
        and type(ts) is int
        and type(src) is str
        and type(cid) is str
    ):
        raise BadRequest("envelope: v, seq and ts must be integers, type, src and cid strings")
    if type_ == BATCH_TYPE:
        _check_batch(body)
    return name, raw


def _bad_envelope_head(envelope: bytes) -> BadRequest:
    """The error for an envelope that does not start as a v2 one: wrong version or shape."""
    try:
        raw = _unpackb(envelope, max_ext_len=0)
    except _DECODE_ERRORS as exc:
        return BadRequest(f"not a valid event frame: {type(exc).__name__}: {exc}")
    if type(raw) is list and raw and type(raw[0]) is int and raw[0] != PROTOCOL_VERSION:
        return _wrong_version("envelope", raw[0])
    if type(raw) is list and len(raw) == 7 and type(raw[0]) is int:
        return BadRequest("envelope: not packed as a fixarray of 7 starting with the version")
    if type(raw) is list and len(raw) == 7:
        return BadRequest("envelope: v, seq and ts must be integers, type, src and cid strings")
    return BadRequest("envelope: expected a 7-item array [v,type,seq,ts,src,cid,body]")


def decode_envelope(data: bytes) -> Envelope:
    """Unpack and check an envelope alone (the bytes `encode_envelope` made)."""
    _, raw = decode_event(TOPIC_END + data)
    return Envelope(*raw)


def _check_batch(body: Any) -> None:
    if type(body) is not dict or type(body.get("type")) is not str:
        raise BadRequest("batch: expected a map {type, n, columns}")
    count, columns = body.get("n"), body.get("columns")
    if len(body) != 3 or type(count) is not int or type(columns) is not dict:
        raise BadRequest("batch: expected a map {type, n, columns}")
    if not 0 < count <= MAX_BATCH_EVENTS:
        raise BadRequest(f"batch: n must be 1 to {MAX_BATCH_EVENTS}, not {count}")
    for name, column in columns.items():
        if type(column) is not list or len(column) != count:
            raise BadRequest(f"batch: column '{name}' must be a list of {count} values")


def _wrong_version(what: str, version: Any) -> BadRequest:
    return BadRequest(
        f"{what}: protocol version {version} is not {PROTOCOL_VERSION} "
        f"(this peer speaks wire v{PROTOCOL_VERSION}; upgrade the other side)",
        {"version": version, "expected": PROTOCOL_VERSION},
    )


# -- bulk frames ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bulk:
    """A payload that travels as its own frame after an RPC request or reply, uncopied.

    Put one as a top-level value of params or of a result map; the other side finds the
    frame's bytes (a memoryview on the client, bytes on the server) under the same key.
    """

    data: Any
    """Any buffer: bytes, bytearray, memoryview."""


def split_bulk(values: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[Any]]:
    """(values without Bulk items, their names, their buffers) for a request or reply map."""
    names = [name for name, value in values.items() if type(value) is Bulk]
    if not names:
        return values, names, []
    plain = {name: value for name, value in values.items() if type(value) is not Bulk}
    return plain, names, [values[name].data for name in names]


def _join_bulk(what: str, names: Any, values: Any, frames: Sequence[Any]) -> None:
    """Put bulk frame i under `names[i]` of `values`; BadRequest if they do not match."""
    if names is None:
        if frames:
            raise BadRequest(f"{what} has {len(frames) + 1} frames, expected 1")
        return
    if type(names) is not list or not all(type(name) is str for name in names):
        raise BadRequest(f"{what}: 'bulk' must be a list of names")
    if len(names) != len(frames) or len(set(names)) != len(names):
        raise BadRequest(f"{what} names {len(names)} bulk frames but carries {len(frames)}")
    if type(values) is not dict:
        raise BadRequest(f"{what}: bulk frames need a map to go into")
    for name, data in zip(names, frames, strict=True):
        if len(data) > MAX_BULK_BYTES:
            raise BadRequest(f"{what}: bulk frame of {len(data)} bytes exceeds {MAX_BULK_BYTES}")
        if name in values:
            raise BadRequest(f"{what}: bulk frame '{name}' would replace a value")
        values[name] = data


# -- RPC ------------------------------------------------------------------------------------


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
        "bulk": Optional(ListOf(str)),
        "traceparent": Optional(str),
    },
)


class Request(NamedTuple):
    """An RPC request after checking: method name, params map, correlation id, budget.

    A tuple, built in one step per request (a frozen dataclass sets each field apart).
    """

    id: int
    method: str
    params: dict[str, Any]
    cid: str
    deadline_ms: int | None
    auth: bytes | None = None
    """A calling service's signature (bifrost.bus.service_auth); absent from other clients."""
    traceparent: str | None = None
    """The caller's W3C trace context, when it traces (untrusted: parsed only by the tracer)."""


def encode_request(
    id_: int,
    method: str,
    params: dict[str, Any],
    cid: str,
    deadline_ms: int | None,
    auth: bytes | None = None,
    bulk: Sequence[str] = (),
    traceparent: str | None = None,
) -> bytes:
    """Pack one RPC request map (`auth` only when a service signs it; `bulk` names the
    frames that follow it, see `split_bulk`; `traceparent` only when the caller traces)."""
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
    if bulk:
        request["bulk"] = list(bulk)
    if traceparent is not None:
        request["traceparent"] = traceparent
    return pack(request)


def decode_request(data: bytes, bulk: Sequence[bytes] = ()) -> Request:
    """Unpack and check an RPC request and its bulk frames; BadRequest naming the problem."""
    raw = unpack(data, MAX_REQUEST_BYTES)
    if not bulk and _is_plain_request(raw):  # the common case, checked in one expression
        deadline = raw["deadline_ms"]
        if deadline is None or deadline > 0:
            return _new_request(
                Request, (raw["id"], raw["method"], raw["params"], raw["cid"], deadline, None, None)
            )
    if type(raw) is dict and type(raw.get("v")) is int and raw["v"] != PROTOCOL_VERSION:
        raise _wrong_version("request", raw["v"])
    if not _is_plain_request(raw):
        REQUEST.check(raw)  # the full check, which also words the error
    deadline = raw.get("deadline_ms")
    if deadline is not None and deadline <= 0:
        raise BadRequest("request: deadline_ms must be positive")
    params = raw.get("params") or {}
    _join_bulk("request", raw.get("bulk"), params, bulk)
    cid = raw.get("cid") or ""
    return Request(
        raw["id"], raw["method"], params, cid, deadline, raw.get("auth"), raw.get("traceparent")
    )


_new_request = tuple.__new__
_PLAIN_REQUEST_FIELDS = frozenset(("v", "id", "method", "params", "cid", "deadline_ms"))


def _is_plain_request(raw: Any) -> bool:
    """True if `raw` is a request as RpcClient sends it without auth or bulk (the common
    case): a fast path for `REQUEST.check`, which walks every field in Python."""
    return (
        type(raw) is dict
        and raw.keys() == _PLAIN_REQUEST_FIELDS
        and raw["v"] == PROTOCOL_VERSION
        and type(raw["v"]) is int
        and type(raw["id"]) is int
        and type(raw["method"]) is str
        and type(raw["params"]) is dict
        and type(raw["cid"]) is str
        and (raw["deadline_ms"] is None or type(raw["deadline_ms"]) is int)
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


def encode_ok(id_: int | None, result: Any) -> list[Any]:
    """A successful reply's frames: the reply map, then one frame per Bulk in `result`."""
    reply: dict[str, Any] = {"v": PROTOCOL_VERSION, "id": id_, "ok": True, "result": result}
    if type(result) is not dict:
        return [pack(reply)]
    reply["result"], names, frames = split_bulk(result)
    if names:
        reply["bulk"] = names
    return [pack(reply), *frames]


def encode_error(id_: int | None, error: BifrostError) -> bytes:
    """Pack an error reply from a typed error (never with bulk frames)."""
    return pack({"v": PROTOCOL_VERSION, "id": id_, "ok": False, "error": error.to_wire()})


def decode_reply(data: bytes, bulk: Sequence[Any] = ()) -> dict[str, Any]:
    """Unpack and check an RPC reply map; its bulk frames go into its result."""
    raw = unpack(data, MAX_REPLY_BYTES)
    plain = type(raw) is dict and raw.get("ok") is True and not bulk and "bulk" not in raw
    if plain and raw.get("v") == PROTOCOL_VERSION:
        checked: dict[str, Any] = raw  # the common case: a plain successful reply
        return checked
    if type(raw) is not dict:
        raise BadRequest("reply: expected a map")
    for key in ("v", "ok"):
        if key not in raw:
            raise BadRequest(f"reply: missing field '{key}'")
    if raw["v"] != PROTOCOL_VERSION:
        raise _wrong_version("reply", raw["v"])
    if type(raw["ok"]) is not bool:
        raise BadRequest("reply: 'ok' must be a boolean")
    if not raw["ok"] and type(raw.get("error")) is not dict:
        raise BadRequest("reply: an error reply needs an 'error' map")
    _join_bulk("reply", raw.get("bulk"), raw.get("result"), bulk)
    return raw
