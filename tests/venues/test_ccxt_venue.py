"""CcxtVenue on ccxt's and ccxt.pro's own code against the Binance stub over loopback."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bifrost.errors import BadRequest
from bifrost.model.market import BookSnapshot, Quote, Side, Trade
from bifrost.model.orders import Order, OrderStatus, OrderType
from bifrost.venues.ccxt_venue import CcxtVenue
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import VenueFill, VenueOrder
from bifrost.venues.credentials import Credentials
from bifrost.venues.errors import VenueRateLimited, VenueRejected, VenueUnavailable
from tests.venues.binance_stub import TEST_API_KEY, TEST_SECRET, BinanceStub

SYMBOLS = ("BTC-USDT", "ETH-USDT")
CREDENTIALS = Credentials(TEST_API_KEY, TEST_SECRET)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub() -> Iterator[BinanceStub]:
    server = BinanceStub(SYMBOLS)
    server.start()
    yield server
    server.stop()


def make_venue(stub: BinanceStub, credentials: Credentials = CREDENTIALS) -> CcxtVenue:
    config = VenueConfig(
        "binance-test",
        kind="ccxt",
        exchange="binance",
        symbols=SYMBOLS,
        urls=stub.urls,
        timeout_seconds=5,
    )
    return CcxtVenue(config, credentials)


@pytest.fixture
def venue(stub: BinanceStub) -> Iterator[CcxtVenue]:
    made = make_venue(stub)
    yield made
    made.close()


class Stream:
    """A venue stream on a thread of its own, collecting what it emits."""

    def __init__(self, run: Callable[[Callable[[Any], None], threading.Event], None]) -> None:
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self.thread.start()

    def _run(self, run: Callable[[Callable[[Any], None], threading.Event], None]) -> None:
        try:
            run(self.events.append, self.stop)
        except BaseException as exc:
            self.error = exc

    def wait_for(self, check: Callable[[list[Any]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.events):
            assert time.monotonic() < deadline, f"timed out; saw {self.events}"
            time.sleep(0.02)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


def subscribed_order_stream(venue: CcxtVenue, stub: BinanceStub) -> Stream:
    """stream_orders running, once the stub has its user data subscription."""
    stream = Stream(venue.stream_orders)
    deadline = time.monotonic() + 10
    while stub.user_streams() == 0:
        if time.monotonic() > deadline or stream.error is not None:
            stream.close()
            raise AssertionError(f"no user data stream: {stream.error}")
        time.sleep(0.02)
    return stream


@pytest.fixture
def order_stream(venue: CcxtVenue, stub: BinanceStub) -> Iterator[Stream]:
    stream = subscribed_order_stream(venue, stub)
    yield stream
    stream.close()


def buy_limit(client_order_id: str, quantity: float = 0.01, price: float = 1000.0) -> Order:
    return Order(client_order_id, "BTC-USDT", Side.BUY, quantity, OrderType.LIMIT, price)


def fills_of(events: list[Any]) -> list[VenueFill]:
    return [e for e in events if isinstance(e, VenueFill)]


def statuses_of(events: list[Any], client_order_id: str) -> list[OrderStatus]:
    return [
        e.status
        for e in events
        if isinstance(e, VenueOrder) and e.client_order_id == client_order_id
    ]


def test_instruments_are_spot_markets_with_the_venues_filters(
    venue: CcxtVenue, stub: BinanceStub
) -> None:
    instruments = {i.symbol: i for i in venue.instruments()}

    btc = instruments["BTC-USDT"]
    assert (btc.venue, btc.asset_class.value, btc.calendar) == ("binance-test", "crypto", "24/7")
    assert (btc.tick_size, btc.lot_size, btc.min_quantity, btc.min_notional) == (
        0.01,
        0.00001,
        0.00001,
        5.0,
    )
    assert all(r.startswith("GET /api/v3/") for r in stub.requests), stub.requests


def test_bars_page_through_the_venue_oldest_first(venue: CcxtVenue) -> None:
    since_ns = (int(time.time()) // 60 - 1500) * 60 * 10**9

    bars = venue.bars("BTC-USDT", "1m", since_ns, None, 1200)

    assert len(bars) == 1200
    assert bars[0].ts == since_ns
    assert all(b.ts - a.ts == 60 * 10**9 for a, b in itertools.pairwise(bars))


def test_a_timeframe_the_exchange_does_not_serve_is_refused_naming_those_it_does(
    venue: CcxtVenue, stub: BinanceStub
) -> None:
    asked = len(stub.requests)

    with pytest.raises(BadRequest, match=r"binance-test has no 7m bars \(it has: .*1m.*1h"):
        venue.bars("BTC-USDT", "7m", 0, None, 10)

    assert not [r for r in stub.requests[asked:] if "klines" in r]


def test_submit_partial_fill_then_fill_stream_orders_and_fills(
    venue: CcxtVenue, stub: BinanceStub, order_stream: Stream
) -> None:
    ack = venue.submit(buy_limit("ord-1"))
    first = stub.fill("ord-1", "0.004", "1000")
    second = stub.fill("ord-1", "0.006", "999.5")
    order_stream.wait_for(lambda events: len(fills_of(events)) == 2)
    order_stream.wait_for(lambda events: OrderStatus.FILLED in statuses_of(events, "ord-1"))

    assert (ack.status, ack.client_order_id, ack.quantity) == (
        OrderStatus.ACCEPTED,
        "ord-1",
        Decimal("0.01"),
    )
    fills = fills_of(order_stream.events)
    assert [f.trade_id for f in fills] == [str(first), str(second)]
    assert [(f.quantity, f.price) for f in fills] == [
        (Decimal("0.004"), Decimal("1000")),
        (Decimal("0.006"), Decimal("999.5")),
    ]
    assert all(isinstance(f.fee, Decimal) and f.client_order_id == "ord-1" for f in fills)
    statuses = statuses_of(order_stream.events, "ord-1")
    assert statuses[-1] == OrderStatus.FILLED
    assert set(statuses) <= {OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED}


def test_cancel_that_meets_a_fill_reports_filled(
    venue: CcxtVenue, stub: BinanceStub, order_stream: Stream
) -> None:
    venue.submit(buy_limit("ord-race"))
    stub.fill("ord-race", "0.01", "1000")

    canceled = venue.cancel("ord-race", "BTC-USDT")

    assert canceled.status == OrderStatus.FILLED
    assert canceled.filled == Decimal("0.01")
    order_stream.wait_for(lambda events: OrderStatus.FILLED in statuses_of(events, "ord-race"))
    time.sleep(0.2)
    assert OrderStatus.CANCELED not in statuses_of(order_stream.events, "ord-race")


def test_cancel_of_an_open_order_reports_canceled(venue: CcxtVenue) -> None:
    venue.submit(buy_limit("ord-cancel"))

    canceled = venue.cancel("ord-cancel", "BTC-USDT")

    assert (canceled.status, canceled.client_order_id) == (OrderStatus.CANCELED, "ord-cancel")
    assert venue.open_orders(["BTC-USDT"]) == []


def test_dropped_stream_raises_unavailable_and_rest_returns_the_missed_fills(
    venue: CcxtVenue, stub: BinanceStub, order_stream: Stream
) -> None:
    since_ns = (stub.now_ms() - 1000) * 1_000_000
    venue.submit(buy_limit("ord-drop"))

    stub.drop_streams()
    order_stream.thread.join(10)
    missed = stub.fill("ord-drop", "0.01", "1000")

    assert isinstance(order_stream.error, VenueUnavailable)
    assert venue.order("ord-drop", "BTC-USDT").status == OrderStatus.FILLED
    fills = venue.fills_since(since_ns, ["BTC-USDT"])
    assert [(f.trade_id, f.client_order_id) for f in fills] == [(str(missed), "ord-drop")]
    again = subscribed_order_stream(venue, stub)
    try:
        venue.submit(buy_limit("ord-after"))
        again.wait_for(lambda events: "ord-after" in {e.client_order_id for e in events})
    finally:
        again.close()


@pytest.mark.parametrize("status", [429, 418])
def test_rate_limit_answer_is_venue_rate_limited_with_retry_after(
    venue: CcxtVenue, stub: BinanceStub, status: int
) -> None:
    venue.instruments()
    stub.rate_limit_next(status, retry_after=7)

    with pytest.raises(VenueRateLimited) as caught:
        venue.balances()

    assert caught.value.retry_after_s == 7


@pytest.mark.parametrize(
    ("arrange", "order", "reason"),
    [
        (
            lambda stub: stub.set_balance("USDT", "5"),
            buy_limit("ord-poor"),
            "Account has insufficient balance for requested action.",
        ),
        (
            lambda stub: stub.delist("ETH-USDT"),
            Order("ord-delisted", "ETH-USDT", Side.SELL, 0.1, OrderType.LIMIT, 2500.0),
            "Invalid symbol.",
        ),
        (lambda stub: None, buy_limit("ord-small", 0.001, 1000.0), "Filter failure: NOTIONAL"),
        (
            lambda stub: stub.reject_next("Market is closed."),
            buy_limit("ord-x"),
            "Market is closed.",
        ),
    ],
)
def test_rejected_order_carries_the_venues_reason(
    venue: CcxtVenue,
    stub: BinanceStub,
    arrange: Callable[[BinanceStub], None],
    order: Order,
    reason: str,
) -> None:
    venue.instruments()
    arrange(stub)

    with pytest.raises(VenueRejected) as caught:
        venue.submit(order)

    assert caught.value.reason == reason
    assert TEST_SECRET not in str(caught.value) and TEST_API_KEY not in str(caught.value)
    assert "signature" not in str(caught.value)


def test_symbol_the_venue_does_not_list_is_rejected(venue: CcxtVenue) -> None:
    with pytest.raises(VenueRejected, match="unknown symbol DOGE-USDT"):
        venue.submit(Order("ord-doge", "DOGE-USDT", Side.BUY, 10.0))


def test_fill_sent_twice_is_emitted_once(
    venue: CcxtVenue, stub: BinanceStub, order_stream: Stream
) -> None:
    venue.submit(buy_limit("ord-dup", 0.02))
    stub.duplicate_next_fill()
    first = stub.fill("ord-dup", "0.01", "1000")
    second = stub.fill("ord-dup", "0.01", "1000")
    order_stream.wait_for(lambda events: len(fills_of(events)) == 2)
    time.sleep(0.5)

    assert [f.trade_id for f in fills_of(order_stream.events)] == [str(first), str(second)]


@pytest.mark.parametrize("skew_s", [-5.0, 5.0])
def test_signed_requests_work_with_the_venues_clock_off_and_keep_its_timestamps(
    stub: BinanceStub, skew_s: float
) -> None:
    stub.clock_skew_s = skew_s
    venue = make_venue(stub)
    stream = subscribed_order_stream(venue, stub)
    try:
        ack = venue.submit(buy_limit("ord-skew"))
        stub.fill("ord-skew", "0.01", "1000")
        stream.wait_for(lambda events: len(fills_of(events)) == 1)
    finally:
        stream.close()
        venue.close()

    local_ns = time.time_ns()
    assert abs(ack.ts - (local_ns + skew_s * 1e9)) < 2e9
    assert abs(fills_of(stream.events)[0].ts - (local_ns + skew_s * 1e9)) < 2e9


def test_refused_timestamp_measures_the_clock_again_and_retries(stub: BinanceStub) -> None:
    stub.clock_skew_s = -5.0
    config = VenueConfig(
        "binance-test",
        kind="ccxt",
        exchange="binance",
        urls=stub.urls,
        options={"adjustForTimeDifference": False},
    )
    venue = CcxtVenue(config, CREDENTIALS)

    balances = venue.balances()

    assert balances
    assert stub.requests[-3:] == ["GET /api/v3/account", "GET /api/v3/time", "GET /api/v3/account"]


def test_refused_key_is_unavailable_naming_the_refusal(stub: BinanceStub) -> None:
    venue = make_venue(stub, Credentials("wrong-key-123456", TEST_SECRET))

    with pytest.raises(VenueUnavailable) as caught:
        venue.balances()

    message = str(caught.value)
    assert "API key refused: Invalid API-key, IP, or permissions for action." in message
    assert "wrong-key-123456" not in message and TEST_SECRET not in message
    assert TEST_SECRET not in repr(venue)


def test_wrong_secret_refuses_the_user_stream(stub: BinanceStub) -> None:
    venue = make_venue(stub, Credentials(TEST_API_KEY, "not-the-secret-0000"))
    stop = threading.Event()

    with pytest.raises(VenueUnavailable, match="API key refused: Signature"):
        venue.stream_orders(lambda event: None, stop)


def test_balances_and_positions_from_the_account(venue: CcxtVenue, stub: BinanceStub) -> None:
    stub.set_balance("ETH", "0")

    balances = {b.asset: b for b in venue.balances()}
    positions = venue.positions()

    assert balances["USDT"].total == Decimal("100000") and "ETH" not in balances
    assert [(p.symbol, p.quantity) for p in positions] == [("BTC-USDT", Decimal("1"))]


def test_stream_market_emits_quotes_trades_and_books(venue: CcxtVenue, stub: BinanceStub) -> None:
    stream = Stream(lambda emit, stop: venue.stream_market(["BTC-USDT"], emit, stop))
    try:
        deadline = time.monotonic() + 10
        kinds: set[type] = set()
        while kinds != {Quote, Trade, BookSnapshot}:
            assert time.monotonic() < deadline and stream.error is None, (kinds, stream.error)
            stub.publish_market_data()
            time.sleep(0.1)
            kinds = {type(e) for e in stream.events}
    finally:
        stream.close()

    book = next(e for e in stream.events if isinstance(e, BookSnapshot))
    assert book.symbol == "BTC-USDT" and book.bids[0][0] < book.asks[0][0]
    assert not stream.thread.is_alive()


def test_stub_process_writes_its_urls_and_serves_until_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    command = [sys.executable, "-m", "tests.venues.binance_stub", "--port", "0"]
    command += ["--ready-file", str(ready), "--symbols", "BTC-USDT", "--auto-fill"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.05)
        urls = json.loads(ready.read_text())
        config = VenueConfig(
            "stub",
            kind="ccxt",
            exchange="binance",
            symbols=("BTC-USDT",),
            urls=urls,
            timeout_seconds=5,
        )
        venue = CcxtVenue(config, CREDENTIALS)
        filled = venue.submit(Order("ord-auto", "BTC-USDT", Side.BUY, 0.01))
        assert filled.status == OrderStatus.FILLED
        venue.close()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
