"""Every order change goes through risk: replace and cancel on real daemons.

A resting limit buy of 5 AAPL is replaced in ways that break each risk rule and two
compliance rules: each replace is REJECTED naming its rule and the original order,
read back from execution, is exactly as it was. A valid replace works, the replaced
order's remaining quantity is not counted twice, a cancel passes in every trading
state, and a plain client calling execution's order-changing methods is FORBIDDEN,
logged and counted.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from bifrost.bus import codec
from bifrost.bus.service_auth import request_proof, service_token
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import Forbidden, NotFound, Rejected
from bifrost.risk.engine import TradingState
from tests.bifrost.conftest import DaemonThread, risk_client
from tests.conftest import write_config

pytestmark = pytest.mark.timeout(90)

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
ORDER_CHANGES = ("order.submit", "order.replace", "order.cancel", "orders.cancel_all")


@dataclass
class Desk:
    """The trading services serving from threads, a client, and the resting order."""

    bus: BifrostClient
    threads: dict[str, DaemonThread]
    original: dict[str, Any]

    def mid(self, symbol: str = "AAPL") -> float:
        topics = self.bus.call("data", "snapshot", {"prefix": f"quote.{symbol}"})["topics"]
        quote = topics[f"quote.{symbol}"]["body"]
        return (quote["bid"] + quote["ask"]) / 2

    def order(self, client_order_id: str) -> dict[str, Any]:
        return dict(self.bus.call("execution", "order.get", {"client_order_id": client_order_id}))

    def limits(self, **changes: Any) -> None:
        self.bus.call("risk", "risk.limits", {"set": changes})

    def rest(self, client_order_id: str, symbol: str = "AAPL", quantity: float = 5.0) -> dict:
        """A limit buy 2% under the mid: inside the collar, and it rests."""
        order = {
            "client_order_id": client_order_id,
            "symbol": symbol,
            "side": "BUY",
            "quantity": quantity,
            "type": "LIMIT",
            "limit_price": round(self.mid(symbol) * 0.98, 2),
        }
        placed = dict(self.bus.call("risk", "order.submit", order))
        assert placed["status"] == "ACCEPTED", placed
        return placed


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, services=SERVICES))


@pytest.fixture
def desk(config: BifrostConfig, home: Path) -> Iterator[Desk]:
    """Data, portfolio, execution, risk and compliance; stopped in reverse, even on failure."""
    threads: dict[str, DaemonThread] = {}
    try:
        for name in SERVICES:
            thread = DaemonThread(config, home, name)
            if name == "execution":
                thread.daemon.log.stream = io.StringIO()
            thread.start()
            threads[name] = thread
        with BifrostClient(config, timeout_ms=5000) as bus:
            time.sleep(0.3)  # quotes reach risk, execution and compliance
            desk = Desk(bus, threads, {})
            desk.original = desk.rest("orig")
            yield desk
    finally:
        for thread in reversed(threads.values()):
            thread.stop()


def assert_unchanged(desk: Desk) -> None:
    """The original order is as it was entered and nothing replaced it."""
    now = desk.order("orig")
    keys = ("quantity", "limit_price", "status", "filled", "side", "symbol")
    assert {k: now[k] for k in keys} == {k: desk.original[k] for k in keys}
    with pytest.raises(NotFound):
        desk.order("orig.r")


def halt(desk: Desk) -> None:
    """HALTED with the order still open (the kill switch would cancel it): the state a
    failed cancel-all leaves, set on the risk daemon's engine itself."""
    desk.threads["risk"].daemon.engine.state = TradingState.HALTED  # type: ignore[attr-defined]


def one_open_order_allowed(desk: Desk) -> None:
    desk.rest("other", "MSFT", 1.0)
    desk.limits(max_open_orders=1)  # "other" alone fills it, "orig" aside


def rate_spent(desk: Desk) -> None:
    desk.limits(max_orders_per_second=0.001)
    desk.rest("other", "MSFT", 1.0)  # takes the one order the rate allows


ARRANGE: dict[str, tuple[Callable[[Desk], Any], Callable[[Desk], dict[str, Any]]]] = {
    "max_order_quantity": (
        lambda d: d.limits(max_order_quantity=100),
        lambda d: {"quantity": 6000.0},
    ),
    "max_order_notional": (
        lambda d: d.limits(max_order_notional=2000),
        lambda d: {"quantity": 20.0},
    ),
    "price_collar": (lambda d: None, lambda d: {"limit_price": round(d.mid() * 0.9, 2)}),
    "max_position": (lambda d: d.limits(max_position=8), lambda d: {"quantity": 10.0}),
    "max_gross_exposure": (
        lambda d: d.limits(max_gross_exposure=1000),
        lambda d: {"quantity": 10.0},
    ),
    "max_net_exposure": (
        lambda d: d.limits(max_net_exposure=1000),
        lambda d: {"quantity": 10.0},
    ),
    "restricted": (lambda d: d.limits(restricted_symbols="AAPL"), lambda d: {"quantity": 6.0}),
    "max_open_orders": (one_open_order_allowed, lambda d: {"quantity": 6.0}),
    "order_rate": (rate_spent, lambda d: {"quantity": 6.0}),
    "reducing": (
        lambda d: d.bus.call("risk", "risk.reduce", {"reason": "test"}),
        lambda d: {"quantity": 6.0},
    ),
    "halted": (halt, lambda d: {"quantity": 6.0}),
}


@pytest.mark.parametrize("rule", sorted(ARRANGE))
def test_replace_breaking_a_risk_rule_is_rejected_and_the_order_unchanged(
    desk: Desk, rule: str
) -> None:
    arrange, changes = ARRANGE[rule]
    arrange(desk)
    params = {"client_order_id": "orig", **changes(desk)}
    with pytest.raises(Rejected) as caught:
        desk.bus.call("risk", "order.replace", params)
    assert caught.value.details["rule"] == rule
    assert_unchanged(desk)


@pytest.mark.parametrize(
    ("rule", "value", "changes"),
    [
        ("restricted", "AAPL", {"quantity": 6.0}),
        ("max_concentration_pct", 1.0, {"quantity": 10.0}),  # 10 AAPL > 1% of 100,000
    ],
)
def test_replace_breaking_a_compliance_rule_is_rejected_and_the_order_unchanged(
    desk: Desk, rule: str, value: Any, changes: dict[str, Any]
) -> None:
    desk.bus.call("compliance", "compliance.set_rule", {"rule": rule, "value": value})
    with pytest.raises(Rejected, match=r"compliance|equity") as caught:
        desk.bus.call("risk", "order.replace", {"client_order_id": "orig", **changes})
    assert caught.value.details["rule"] in ("restricted", "concentration")
    assert_unchanged(desk)


def test_valid_replace_enters_the_changed_order_and_cancels_the_original(desk: Desk) -> None:
    price = round(desk.mid() * 0.97, 2)
    params = {"client_order_id": "orig", "quantity": 8.0, "limit_price": price}
    replaced = desk.bus.call("risk", "order.replace", params)
    assert (replaced["client_order_id"], replaced["status"]) == ("orig.r", "ACCEPTED")
    assert (replaced["quantity"], replaced["limit_price"], replaced["side"]) == (8.0, price, "BUY")
    assert desk.order("orig")["status"] == "CANCELED"


def test_replace_does_not_count_the_replaced_orders_remaining_quantity(desk: Desk) -> None:
    # 5 resting + 10 would be 15 > 10; the replace cancels the 5, so 10 is the position.
    desk.limits(max_position=10, max_open_orders=1)
    replaced = desk.bus.call("risk", "order.replace", {"client_order_id": "orig", "quantity": 10.0})
    assert (replaced["client_order_id"], replaced["quantity"]) == ("orig.r", 10.0)


@pytest.mark.parametrize("state", ["risk.reduce", "halt"])
def test_cancel_passes_through_risk_in_every_trading_state(desk: Desk, state: str) -> None:
    if state == "halt":
        halt(desk)
    else:
        desk.bus.call("risk", state, {})
    canceled = desk.bus.call("risk", "order.cancel", {"client_order_id": "orig"})
    assert canceled["client_order_id"] == "orig"
    assert desk.order("orig")["status"] == "CANCELED"


def forbidden_count(desk: Desk) -> float:
    text = desk.threads["execution"].daemon.metrics.render().decode()
    lines = [x for x in text.splitlines() if 'reason="forbidden"' in x and "_total" in x]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0  # a label appears when used


def order_change(method: str) -> dict[str, Any]:
    return {
        "order.submit": {"symbol": "AAPL", "side": "BUY", "quantity": 1.0},
        "order.replace": {"client_order_id": "orig", "quantity": 6000.0},
        "order.cancel": {"client_order_id": "orig"},
        "orders.cancel_all": {},
    }[method]


@pytest.mark.parametrize("method", ORDER_CHANGES)
def test_plain_client_calling_execution_to_change_orders_is_forbidden_logged_and_counted(
    desk: Desk, method: str
) -> None:
    before = forbidden_count(desk)
    with pytest.raises(Forbidden, match="only from the risk service"):
        desk.bus.call("execution", method, order_change(method), cid=f"direct-{method}")
    assert_unchanged(desk)
    assert forbidden_count(desk) == before + 1
    stream = desk.threads["execution"].daemon.log.stream.getvalue()  # type: ignore[attr-defined]
    records = [json.loads(line) for line in stream.splitlines() if line.startswith("{")]
    refused = [r for r in records if r["event"] == "auth.forbidden"]
    assert refused[-1]["cid"] == f"direct-{method}" and refused[-1]["method"] == method


def test_signature_from_another_token_or_for_other_params_is_forbidden(
    desk: Desk, config: BifrostConfig, home: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "other-home"
    with risk_client(config, elsewhere) as forger, pytest.raises(Forbidden):
        forger.call("execution", "order.cancel", {"client_order_id": "orig"})
    # Signed with risk's own token, but for other params than the request carries.
    proof = request_proof(service_token(home), "order.cancel", "c1", {"client_order_id": "x"})
    frame = codec.encode_request(1, "order.cancel", {"client_order_id": "orig"}, "c1", 2000, proof)
    ctx = zmq.Context()
    try:
        dealer = ctx.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(config.service("execution").rpc)
        dealer.send(frame)
        assert dealer.poll(3000), "execution did not answer"
        reply = codec.decode_reply(dealer.recv())
    finally:
        ctx.destroy(linger=0)
    assert reply["error"]["code"] == "FORBIDDEN"
    assert_unchanged(desk)
