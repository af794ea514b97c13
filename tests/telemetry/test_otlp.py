"""Spans of real orders through real daemons, sent over OTLP/HTTP to a collector on loopback.

Data, portfolio, execution, risk and compliance run from threads with `[telemetry]`
naming a small collector (tests.telemetry.otlp_receiver) that decodes what the
daemons' exporter posts. One scenario runs per module: a traced desk client places an
order, an untraced client places another, a restricted order is refused and health is
probed; the daemons then stop, which flushes their spans, and each test reads one part
of what the collector got.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import zmq

from bifrost.bus import codec, methods
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.errors import Rejected
from bifrost.model.commands import SubmitOrder
from bifrost.telemetry.spans import Tracing
from tests.bifrost.conftest import services_running
from tests.conftest import write_config
from tests.telemetry.otlp_receiver import (
    CLIENT,
    CONSUMER,
    PRODUCER,
    SERVER,
    OtlpReceiver,
    ReceivedSpan,
)

pytestmark = pytest.mark.timeout(60)

STACK = ("data", "portfolio", "execution", "risk", "compliance")
RULES = '[compliance]\nrestricted = ["BTC-USD"]\n'
BOGUS_TRACEPARENT = "00-not-a-trace-context-at-all"


@dataclass(frozen=True)
class Scenario:
    """What the scenario in the module doc left: the spans the collector received and
    compliance's trail of the day."""

    spans: list[ReceivedSpan]
    trail: list[dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The scenario in the module doc, run once."""
    base = tmp_path_factory.mktemp("otlp")
    home = base / "home"
    home.mkdir()
    receiver = OtlpReceiver()
    try:
        telemetry = f'[telemetry]\notlp_endpoint = "{receiver.url}"\n'
        config = load_config(write_config(base, services=STACK, extra=RULES + telemetry))
        desk = Tracing(config.telemetry, "desk")
        try:
            with (
                services_running(config, home, STACK) as plain,
                BifrostClient(config, timeout_ms=5000, tracing=desk) as traced,
            ):
                time.sleep(0.3)  # quotes reach execution, risk and compliance
                traced.call("risk", methods.ORDER_SUBMIT, buy("AAPL", "traced-1"))
                plain.call("risk", methods.ORDER_SUBMIT, buy("AAPL", "plain-1"))
                with pytest.raises(Rejected):
                    plain.call("risk", methods.ORDER_SUBMIT, buy("BTC-USD", "refused-1"))
                for _ in range(3):
                    plain.health("risk")
                risk_state_with_traceparent(plain, BOGUS_TRACEPARENT)
                trail = plain.call("compliance", methods.COMPLIANCE_REPORT, {})["records"]
        finally:
            assert desk.close(), "the desk's spans did not reach the collector"
        yield Scenario(receiver.received(), trail)
    finally:
        receiver.close()


@pytest.fixture
def spans(scenario: Scenario) -> list[ReceivedSpan]:
    """Every span the collector received."""
    return scenario.spans


def buy(symbol: str, client_order_id: str) -> dict[str, object]:
    return SubmitOrder.new(symbol, "BUY", 10, client_order_id=client_order_id).to_wire()


def risk_state_with_traceparent(client: BifrostClient, traceparent: str) -> None:
    """Call `risk.state` with a request that carries `traceparent`, as any peer may send."""
    ctx = zmq.Context()
    socket = ctx.socket(zmq.DEALER)
    try:
        socket.connect(client.config.service("risk").rpc)
        request = codec.encode_request(
            1, methods.RISK_STATE, {}, "bogus", 3000, traceparent=traceparent
        )
        socket.send(request)
        assert socket.poll(3000), "risk did not answer"
        assert codec.decode_reply(socket.recv())["ok"]
    finally:
        socket.close(linger=0)
        ctx.term()


def one(spans: list[ReceivedSpan], **wanted: object) -> ReceivedSpan:
    """The single span whose fields (and `order`, its client order id) are as wanted."""
    order = wanted.pop("order", None)
    found = [
        s
        for s in spans
        if all(getattr(s, key) == value for key, value in wanted.items())
        and (order is None or s.attributes.get("bifrost.client_order_id") == order)
    ]
    assert len(found) == 1, f"{len(found)} spans match {wanted} order={order}"
    return found[0]


def trace_of(spans: list[ReceivedSpan], span: ReceivedSpan) -> dict[str, ReceivedSpan]:
    """Every span of `span`'s trace, by span id."""
    return {s.span_id: s for s in spans if s.trace_id == span.trace_id}


def test_one_order_is_one_trace_across_risk_compliance_and_execution(
    spans: list[ReceivedSpan],
) -> None:
    desk = one(spans, service="bifrost-desk", kind=CLIENT, order="traced-1")
    trace = trace_of(spans, desk)
    risk = one(list(trace.values()), service="bifrost-risk", kind=SERVER)
    compliance = one(list(trace.values()), service="bifrost-compliance", kind=SERVER)
    execution = one(list(trace.values()), service="bifrost-execution", kind=SERVER)
    assert desk.parent_id == ""
    assert risk.parent_id == desk.span_id
    for served, method in ((compliance, "compliance.check"), (execution, "order.submit")):
        hop = trace[served.parent_id]
        assert (hop.service, hop.kind, hop.name) == ("bifrost-risk", CLIENT, method)
        assert hop.parent_id == risk.span_id
        assert served.name == method
    assert (desk.name, risk.name) == ("order.submit", "order.submit")


def test_every_span_of_an_order_names_its_service_method_cid_and_order(
    spans: list[ReceivedSpan],
) -> None:
    desk = one(spans, service="bifrost-desk", kind=CLIENT, order="traced-1")
    trace = trace_of(spans, desk).values()
    assert {s.attributes["bifrost.cid"] for s in trace} == {desk.attributes["bifrost.cid"]}
    assert {s.attributes.get("bifrost.client_order_id") for s in trace} == {"traced-1"}
    calls = [s for s in trace if s.kind in (CLIENT, SERVER)]
    assert {s.attributes["rpc.method"] for s in calls} == {"order.submit", "compliance.check"}
    servers = {s.service: s.attributes["rpc.service"] for s in trace if s.kind == SERVER}
    assert servers == {
        "bifrost-risk": "risk",
        "bifrost-compliance": "compliance",
        "bifrost-execution": "execution",
    }
    assert not any(s.error for s in trace)
    assert {s.attributes["bifrost.code"] for s in trace} == {"OK"}


def test_the_fill_is_a_hop_of_its_order_from_execution_to_the_portfolio_that_books_it(
    spans: list[ReceivedSpan],
) -> None:
    desk = one(spans, service="bifrost-desk", kind=CLIENT, order="traced-1")
    trace = list(trace_of(spans, desk).values())
    entered = one(trace, service="bifrost-execution", kind=SERVER)
    fill = one(trace, service="bifrost-execution", kind=PRODUCER)
    booked = one(trace, service="bifrost-portfolio", kind=CONSUMER)
    assert (fill.name, fill.parent_id) == ("order.fill", entered.span_id)
    assert (booked.name, booked.parent_id) == ("fill.book", fill.span_id)
    for span in (fill, booked):
        assert span.attributes["messaging.destination.name"].startswith("fill.")
        assert span.attributes["bifrost.trade_id"]


def test_the_compliance_trail_keeps_the_fill_without_its_trace_context(
    scenario: Scenario,
) -> None:
    fills = [
        r["body"]
        for r in scenario.trail
        if r["kind"] == "fill" and r["body"]["client_order_id"] == "traced-1"
    ]
    assert len(fills) == 1 and fills[0]["trade_id"]
    assert "traceparent" not in fills[0]


def test_order_from_an_untraced_client_starts_its_trace_at_risk(
    spans: list[ReceivedSpan],
) -> None:
    risk = one(spans, service="bifrost-risk", kind=SERVER, order="plain-1")
    trace = trace_of(spans, risk).values()
    assert risk.parent_id == ""
    assert {s.service for s in trace if s.kind == SERVER} == {
        "bifrost-risk",
        "bifrost-compliance",
        "bifrost-execution",
    }


def test_refused_order_ends_its_spans_in_error_and_never_reaches_execution(
    spans: list[ReceivedSpan],
) -> None:
    risk = one(spans, service="bifrost-risk", kind=SERVER, order="refused-1")
    trace = trace_of(spans, risk).values()
    compliance = one(list(trace), service="bifrost-compliance", kind=SERVER)
    assert (risk.error, risk.attributes["bifrost.code"]) == (True, "REJECTED")
    assert (compliance.error, compliance.attributes["bifrost.code"]) == (True, "REJECTED")
    assert "bifrost-execution" not in {s.service for s in trace}


def test_health_probes_make_no_traces(spans: list[ReceivedSpan]) -> None:
    assert not [s for s in spans if s.name in ("health", "ready", "metrics")]


def test_a_traceparent_that_does_not_parse_starts_a_new_trace(spans: list[ReceivedSpan]) -> None:
    state = one(spans, service="bifrost-risk", name="risk.state", kind=SERVER)
    assert state.parent_id == ""
    assert state.attributes["bifrost.cid"] == "bogus"
