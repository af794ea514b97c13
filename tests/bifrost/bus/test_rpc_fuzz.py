"""Fuzz of a running DataDaemon's RPC socket: garbage in, BAD_REQUEST out, service stays up.

Hypothesis draws frames a raw DEALER sends: wrong frame counts, bytes that are not
msgpack, frames over the 1 MiB request limit, ext types and msgpack Timestamps,
requests with wrongly typed fields, and well-formed requests with bad params or an
unknown method. Each must get an error reply (BAD_REQUEST, or UNKNOWN_METHOD for a
well-formed request naming no method) or be dropped and counted as a bad frame.
"""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bifrost.bus import codec
from bifrost.bus.rpc import RpcClient
from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.daemon import Daemon

BAD_REQUEST = "BAD_REQUEST"
UNKNOWN_METHOD = "UNKNOWN_METHOD"
Case = tuple[list[bytes], str]
"""Frames to send and the error code the reply must carry."""

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=16)
    | st.binary(max_size=16)
)
PLAIN = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
EXT = st.builds(msgpack.ExtType, st.integers(0, 127), st.binary(max_size=32))
TIMESTAMP = st.builds(msgpack.Timestamp, st.integers(0, 2**32 - 1), st.integers(0, 999_999_999))


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True, datetime=False)


def request(method: str = "health", **fields: Any) -> dict[str, Any]:
    return {
        "v": codec.PROTOCOL_VERSION,
        "id": 1,
        "method": method,
        "params": {},
        "cid": "fuzz",
        "deadline_ms": 1000,
        **fields,
    }


@st.composite
def wrong_frame_counts(draw: st.DrawFn) -> Case:
    """Two or more frames where the server expects one (or an empty delimiter and one)."""
    first = draw(st.binary(min_size=1, max_size=32))
    rest = draw(st.lists(st.binary(max_size=32), min_size=1, max_size=3))
    return [first, *rest], BAD_REQUEST


def not_msgpack() -> st.SearchStrategy[Case]:
    """Random bytes: nearly always invalid msgpack, and never a well-formed request map."""
    return st.binary(max_size=256).map(lambda data: ([data], BAD_REQUEST))


def oversized() -> st.SearchStrategy[Case]:
    """Frames just over the 1 MiB request limit: raw bytes, or a request with a huge param."""
    size = st.integers(codec.MAX_REQUEST_BYTES + 1, codec.MAX_REQUEST_BYTES + 4096)
    raw = size.map(lambda n: [b"\x00" * n])
    padded = size.map(lambda n: [pack(request(params={"pad": b"x" * n}))])
    return (raw | padded).map(lambda frames: (frames, BAD_REQUEST))


@st.composite
def with_ext_values(draw: st.DrawFn) -> Case:
    """An ext type or a Timestamp at the top, in a field, or deep in the params."""
    odd = draw(EXT | TIMESTAMP)
    where = draw(st.sampled_from(["top", "id", "params", "deep"]))
    value: Any = {
        "top": odd,
        "id": request(id=odd),
        "params": request(params={"when": odd}),
        "deep": request(method="snapshot", params={"prefix": [{"x": [odd]}]}),
    }[where]
    return [pack(value)], BAD_REQUEST


INT64 = st.integers(-(2**63), 2**63 - 1)
WRONG_TYPES = {
    "v": st.one_of(
        INT64.filter(lambda v: v != codec.PROTOCOL_VERSION), st.text(), st.floats(), st.none()
    ),
    "id": st.one_of(st.text(), st.floats(), st.booleans(), st.none(), st.lists(INT64)),
    "method": st.one_of(INT64, st.binary(), st.none(), st.lists(st.text(), max_size=2)),
    "params": st.one_of(st.lists(PLAIN, max_size=3), INT64, st.text(), st.binary()),
    "cid": st.one_of(INT64, st.binary(), st.lists(INT64, max_size=2)),
    "deadline_ms": st.one_of(st.integers(-(2**63), 0), st.text(), st.floats()),
}


@st.composite
def wrong_field_types(draw: st.DrawFn) -> Case:
    """A request map with a wrongly typed field, a missing field or an unknown one."""
    value = request(method=draw(st.sampled_from(["health", "snapshot", "nope"])))
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from([*WRONG_TYPES, "drop", "extra", "not a map"]))
        if change == "drop":
            value.pop(draw(st.sampled_from(["v", "id", "method"])), None)
        elif change == "extra":
            value["x-" + draw(st.text(max_size=8))] = draw(PLAIN)
        elif change == "not a map":
            value = draw(st.lists(PLAIN, max_size=4) | SCALARS)
            break
        else:
            value[change] = draw(WRONG_TYPES[change])
    return [pack(value)], BAD_REQUEST


def wrong_value_for(spec: Any) -> st.SearchStrategy[Any]:
    """Values that do not match one field spec of a params Schema."""
    while isinstance(spec, Optional):
        spec = spec.spec
    if spec is bytes:
        return INT64
    if isinstance(spec, ListOf | Schema) or spec in (dict, list):
        return INT64 | st.binary(min_size=1)
    return st.binary() | st.lists(INT64, min_size=1, max_size=3)


def bad_params(methods: dict[str, Schema]) -> st.SearchStrategy[Case]:
    """Well-formed requests to real methods whose params break the method's schema."""

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        name = draw(st.sampled_from(sorted(methods)))
        schema = methods[name]
        params: dict[str, Any] = {}
        if schema.fields and draw(st.booleans()):
            field = draw(st.sampled_from(sorted(schema.fields)))
            params[field] = draw(wrong_value_for(schema.fields[field]))
        else:
            params["zz-" + draw(st.text(max_size=8))] = draw(PLAIN)
        request_id = draw(st.integers(0, 2**31))
        return [codec.encode_request(request_id, name, params, "fuzz", 1000)], BAD_REQUEST

    return build()


def unknown_methods(known: set[str]) -> st.SearchStrategy[Case]:
    """Well-formed requests naming a method the service does not have."""
    names = st.text(max_size=24).filter(lambda name: name not in known)
    params = st.dictionaries(st.text(max_size=8), PLAIN, max_size=3)
    return st.builds(
        lambda name, p: ([codec.encode_request(7, name, p, "fuzz", 1000)], UNKNOWN_METHOD),
        names,
        params,
    )


def metric_total(daemon: Daemon, name: str, **labels: str) -> float:
    """A metric of the daemon summed over every label set that matches `labels`."""
    return sum(
        sample.value
        for family in daemon.metrics.registry.collect()
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def bad_frames_total(daemon: Daemon) -> float:
    return metric_total(daemon, "bifrost_bad_frames_total")


def test_rpc_fuzz_garbage_frames_get_error_replies_and_daemon_stays_ready(
    module_data_daemon: Daemon,
) -> None:
    daemon = module_data_daemon
    assert daemon.rpc is not None
    schemas = {name: method.params for name, method in daemon.rpc.methods.items()}
    ctx = zmq.Context()
    sent: list[str] = []
    cases = st.one_of(
        wrong_frame_counts(),
        not_msgpack(),
        oversized(),
        with_ext_values(),
        wrong_field_types(),
        bad_params(schemas),
        unknown_methods(set(schemas)),
    )

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(cases)
    def one_frame(case: Case) -> None:
        frames, expected = case
        dropped_before = bad_frames_total(daemon)
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        try:
            dealer.connect(daemon.spec.rpc)
            dealer.send_multipart(frames)
            sent.append(expected)
            if not dealer.poll(3000):
                assert bad_frames_total(daemon) > dropped_before, "no reply and not counted"
                return
            reply = codec.decode_reply(dealer.recv_multipart()[-1])
        finally:
            dealer.close(linger=0)
        assert reply["ok"] is False
        assert reply["error"]["code"] == expected, reply["error"]
        assert reply["error"]["message"]

    try:
        one_frame()
        client = RpcClient(ctx, daemon.spec.rpc, name="data", timeout_ms=2000)
        try:
            assert client.call("health")["state"] == "ready"
            assert client.call("ready") == {"ready": True}
        finally:
            client.close()
    finally:
        ctx.destroy(linger=0)
    assert len(sent) >= 300
    assert daemon.state == "ready"
    # Refused frames are counted as bad frames; bad params as BAD_REQUEST answers.
    refused = metric_total(daemon, "bifrost_bad_frames_total") + metric_total(
        daemon, "bifrost_rpc_requests_total", code=BAD_REQUEST
    )
    assert refused >= sent.count(BAD_REQUEST)
    unknown = metric_total(daemon, "bifrost_rpc_requests_total", code=UNKNOWN_METHOD)
    assert unknown >= sent.count(UNKNOWN_METHOD)


@pytest.mark.parametrize(
    "frames",
    [
        [b"\xc1"],
        [pack(msgpack.Timestamp(0, 0))],
        [pack(msgpack.ExtType(1, b"x"))],
        [b"\x00" * (codec.MAX_REQUEST_BYTES + 1)],
        [b"id", b"payload"],
        [pack(request(id="1"))],
    ],
    ids=["reserved-byte", "timestamp", "ext", "oversized", "two-frames", "string-id"],
)
def test_rpc_fuzz_known_garbage_is_refused_and_counted(
    module_data_daemon: Daemon, zmq_ctx: zmq.Context, frames: list[bytes]
) -> None:
    before = bad_frames_total(module_data_daemon)
    dealer = zmq_ctx.socket(zmq.DEALER)
    dealer.connect(module_data_daemon.spec.rpc)
    dealer.send_multipart(frames)
    assert dealer.poll(3000)
    reply = codec.decode_reply(dealer.recv_multipart()[-1])
    assert reply["error"]["code"] == BAD_REQUEST
    assert bad_frames_total(module_data_daemon) == before + 1
