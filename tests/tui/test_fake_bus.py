"""The recorded bus the snapshots run on answers as the recorded stack did."""

from __future__ import annotations

import pytest

from bifrost.bus import methods
from bifrost.bus.poller import EventPoller
from bifrost.errors import Unavailable
from tests.tui.fake_bus import FakeClient, Recording, recorded_config
from tui.feed import FOLLOW

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def recording() -> Recording:
    return Recording.load()


def test_fake_client_answers_a_recorded_call_and_health(recording) -> None:
    with FakeClient(recording, recorded_config()) as client:
        limits = client.call("risk", methods.RISK_LIMITS, {})
        assert limits["max_open_orders"] > 0
        assert client.answers("risk")
        assert client.health("data")["state"] == "ready"


def test_fake_client_without_a_recorded_reply_is_unavailable(recording) -> None:
    with FakeClient(recording, recorded_config()) as client, pytest.raises(Unavailable):
        client.call("risk", methods.RISK_LIMITS, {"set": {"max_open_orders": 1}})


def test_fake_subscriptions_deliver_the_recorded_events_on_the_first_poll(recording) -> None:
    config = recorded_config()
    expected = sum(len(recording.events_of(s, list(p))) for s, p in FOLLOW.items())
    with FakeClient(recording, config) as client:
        poller = EventPoller(client.subscribe(s, p) for s, p in FOLLOW.items())
        with poller:
            events = poller.poll(1000)
            assert len(events) == expected > 0
            assert {e.topic.partition(".")[0] for e in events} >= {"quote", "order", "pnl"}
            assert poller.poll(50) == []
