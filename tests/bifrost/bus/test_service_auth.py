"""Methods one service alone may call: the service token, request signatures, the server's check."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.rpc import CallContext, Method, RpcClient, RpcServer
from bifrost.bus.schema import Schema
from bifrost.bus.service_auth import ServiceCallers, request_proof, service_token, token_path
from bifrost.errors import ConfigError, Forbidden
from bifrost.metrics import ServiceMetrics

CANCEL = Schema("order.cancel params", {"client_order_id": str})


def request(params: dict[str, Any], auth: bytes | None, method: str = "order.cancel") -> Any:
    """A request as the server sees it: encoded by a client, decoded from the wire."""
    return codec.decode_request(codec.encode_request(7, method, params, "cid-1", 1000, auth))


def test_service_token_is_created_private_once_and_read_back(tmp_path: Path) -> None:
    token = service_token(tmp_path / "home")
    assert len(token) == 32
    assert stat.S_IMODE(token_path(tmp_path / "home").stat().st_mode) == 0o600
    assert service_token(tmp_path / "home") == token
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["service.token"]


def test_service_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    service_token(tmp_path)
    os.chmod(token_path(tmp_path), 0o644)
    with pytest.raises(ConfigError, match=r"readable by group or others \(mode 0644\)"):
        service_token(tmp_path)


def test_service_token_that_is_not_32_bytes_of_hex_is_refused(tmp_path: Path) -> None:
    fd = os.open(token_path(tmp_path), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"short\n")
    os.close(fd)
    with pytest.raises(ConfigError, match="not 32 bytes of hex"):
        service_token(tmp_path)


def test_callers_on_loopback_admit_only_a_signature_over_these_params(tmp_path: Path) -> None:
    callers = ServiceCallers({"risk": "host-b"}, tmp_path)
    token = callers.token()
    params = {"client_order_id": "o-1", "quantity": 5.0, "limit_price": None}
    signed = request_proof(token, "order.cancel", "cid-1", params)
    assert callers.admits("risk", request(params, signed), "local", secured=False)
    assert not callers.admits("risk", request(params, None), "local", secured=False)
    changed = {**params, "quantity": 6000.0}
    assert not callers.admits("risk", request(changed, signed), "local", secured=False)
    other_method = request(params, signed, method="order.submit")
    assert not callers.admits("risk", other_method, "local", secured=False)
    forged = request_proof(os.urandom(32), "order.cancel", "cid-1", params)
    assert not callers.admits("risk", request(params, forged), "local", secured=False)


def test_callers_on_curve_go_by_the_authenticated_name_alone(tmp_path: Path) -> None:
    callers = ServiceCallers({"risk": "host-b"}, tmp_path)
    signed = request_proof(callers.token(), "order.cancel", "cid-1", {})
    assert callers.admits("risk", request({}, None), "host-b", secured=True)
    assert not callers.admits("risk", request({}, signed), "trader", secured=True)
    assert not callers.admits("compliance", request({}, None), "host-b", secured=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, zmq.Context, list[tuple[str, str]]]]:
    """An RpcServer on inproc, served from a thread, with one method only `risk` may call;
    yields its endpoint, its context and the refusals it reported."""
    ctx = zmq.Context()
    refused: list[tuple[str, str]] = []
    rpc = RpcServer(
        ctx,
        "inproc://service-auth",
        ServiceMetrics("execution"),
        refused=lambda method, cid, user, reason: refused.append((method, reason)),
        callers=ServiceCallers({"risk": "host-local"}, tmp_path / "home"),
    )

    def cancel(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return {"canceled": params["client_order_id"]}

    rpc.add(Method("order.cancel", cancel, CANCEL, role="trader", caller="risk"))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            if rpc.socket.poll(20):
                rpc.serve_pending()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield rpc.endpoint, ctx, refused
    finally:
        stop.set()
        thread.join(timeout=5)
        rpc.close()
        ctx.destroy(linger=0)


def test_server_answers_a_signed_call_and_forbids_an_unsigned_one(
    server: tuple[str, zmq.Context, list[tuple[str, str]]], tmp_path: Path
) -> None:
    endpoint, ctx, refused = server
    plain = RpcClient(ctx, endpoint, timeout_ms=2000)
    risk = RpcClient(ctx, endpoint, timeout_ms=2000, service_token=service_token(tmp_path / "home"))
    try:
        with pytest.raises(Forbidden, match="only from the risk service"):
            plain.call("order.cancel", {"client_order_id": "o-1"}, cid="c-plain")
        assert risk.call("order.cancel", {"client_order_id": "o-1"}) == {"canceled": "o-1"}
    finally:
        plain.close()
        risk.close()
    assert [method for method, _ in refused] == ["order.cancel"]
