"""AlpacaVenue on the real alpaca-py clients against the Alpaca stub over loopback sockets."""

from __future__ import annotations

import json
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
from bifrost.model.instrument import AssetClass
from bifrost.model.market import Quote, Side, Trade
from bifrost.model.orders import Order, OrderStatus, OrderType, TimeInForce
from bifrost.venues.alpaca_venue import AlpacaVenue
from bifrost.venues.config import VenueConfig
from bifrost.venues.contract import VenueFill, VenueOrder
from bifrost.venues.credentials import Credentials
from bifrost.venues.errors import (
    VenueOrderNotFound,
    VenueRateLimited,
    VenueRejected,
    VenueUnavailable,
)
from tests.conftest import wait_for
from tests.venues.alpaca_stub import TEST_API_KEY, TEST_SECRET, AlpacaStub

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ("AAPL", "MSFT")
KEYS = Credentials(TEST_API_KEY, TEST_SECRET)
WRONG_KEYS = Credentials("wrong-key-id-9999", "wrong-secret-9999")


def venue_config(urls: dict[str, str], timeout: float = 3.0) -> VenueConfig:
    """The [venues.alpaca] table that points AlpacaVenue at a stub."""
    return VenueConfig(
        name="alpaca-paper",
        kind="alpaca",
        sandbox=True,
        symbols=SYMBOLS,
        urls=urls,
        timeout_seconds=timeout,
    )


@pytest.fixture
def stub() -> Iterator[AlpacaStub]:
    server = AlpacaStub(SYMBOLS)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def venue(stub: AlpacaStub) -> Iterator[AlpacaVenue]:
    alpaca = AlpacaVenue(venue_config(stub.urls), KEYS)
    try:
        yield alpaca
    finally:
        alpaca.close()


class StreamThread:
    """Runs one blocking stream method on a thread, keeping its events and its error."""

    def __init__(self, read: Callable[[Callable[[Any], None], threading.Event], None]) -> None:
        self.events: list[Any] = []
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(read,), daemon=True)
        self._thread.start()

    def _run(self, read: Callable[[Callable[[Any], None], threading.Event], None]) -> None:
        try:
            read(self.events.append, self.stop)
        except BaseException as exc:
            self.error = exc

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def ended(self) -> bool:
        return not self._thread.is_alive()

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "stream did not stop"


@pytest.fixture
def streams() -> Iterator[list[StreamThread]]:
    started: list[StreamThread] = []
    try:
        yield started
    finally:
        for stream in started:
            stream.close()


def order_stream(venue: AlpacaVenue, stub: AlpacaStub, streams: list[StreamThread]) -> StreamThread:
    """stream_orders running, once the stub counts it as a listener."""
    before = stub.trade_listeners()
    stream = StreamThread(venue.stream_orders)
    streams.append(stream)
    wait_for(lambda: stub.trade_listeners() > before or stream.ended())
    assert stream.error is None
    return stream


def limit_buy(cid: str, qty: float = 10, price: float = 150.0, symbol: str = "AAPL") -> Order:
    return Order(
        cid, symbol, Side.BUY, qty, OrderType.LIMIT, limit_price=price, tif=TimeInForce.DAY
    )


def assert_no_secrets(exc: BaseException, keys: Credentials = KEYS) -> None:
    for secret in keys.secrets():
        assert secret not in str(exc)
        assert secret not in repr(exc)
        assert secret not in json.dumps(getattr(exc, "details", {}), default=str)


# ---- instruments and data ----------------------------------------------------------------


def test_instruments_are_the_configured_tradable_equities_with_their_increments(venue):
    instruments = {i.symbol: i for i in venue.instruments()}

    assert set(instruments) == set(SYMBOLS)
    aapl = instruments["AAPL"]
    assert aapl.venue == "alpaca-paper"
    assert aapl.asset_class is AssetClass.EQUITY
    assert aapl.calendar == "XNYS"
    assert aapl.tick_size == 0.01
    assert aapl.lot_size == pytest.approx(1e-9)
    assert aapl.min_notional == 1.0


def test_instruments_of_a_whole_share_asset_trade_in_lots_of_one(stub, venue):
    stub.fractionable.discard("MSFT")

    msft = next(i for i in venue.instruments() if i.symbol == "MSFT")

    assert (msft.lot_size, msft.min_quantity, msft.min_notional) == (1.0, 1.0, 0.0)


def test_bars_follow_page_tokens_and_come_oldest_first(stub, venue):
    stub.bars_page_size = 7
    since = (time.time_ns() // 60_000_000_000 - 100) * 60_000_000_000

    bars = venue.bars("AAPL", "1m", since, None, 20)

    assert len(bars) == 20
    assert bars[0].ts == since
    assert [b.ts for b in bars] == [since + i * 60_000_000_000 for i in range(20)]
    assert all(b.symbol == "AAPL" and b.timeframe == "1m" for b in bars)


def test_bars_end_before_until(venue):
    since = (time.time_ns() // 3_600_000_000_000 - 10) * 3_600_000_000_000

    bars = venue.bars("MSFT", "1h", since, since + 3 * 3_600_000_000_000, 100)

    assert [b.ts for b in bars] == [since + i * 3_600_000_000_000 for i in range(3)]


def test_bars_of_an_unknown_timeframe_are_a_bad_request(venue):
    with pytest.raises(BadRequest, match="timeframe 2m"):
        venue.bars("AAPL", "2m", 0, None, 10)


def test_stream_market_emits_quotes_and_trades_stamped_by_the_venue(stub, venue, streams):
    stub.clock_skew_s = -4.0
    stream = StreamThread(lambda emit, stop: venue.stream_market(["AAPL"], emit, stop))
    streams.append(stream)
    wait_for(lambda: stub.data_subscribers() == 1)

    quote_ts = stub.publish_quote("AAPL", 150.0, 150.2, 3, 4)
    trade_ts = stub.publish_trade("AAPL", 150.2, 100)
    stub.publish_trade("MSFT", 400.0, 1)  # not subscribed
    wait_for(lambda: stream.of(Trade))

    assert stream.of(Quote) == [Quote("AAPL", 150.0, 150.2, 3.0, 4.0, quote_ts)]
    trade = stream.of(Trade)[0]
    assert (trade.symbol, trade.price, trade.size, trade.side, trade.ts) == (
        "AAPL",
        150.2,
        100.0,
        Side.BUY,
        trade_ts,
    )
    assert trade.ts < time.time_ns() - 3_000_000_000


def test_stream_market_stops_when_asked(stub, venue):
    stream = StreamThread(lambda emit, stop: venue.stream_market(["AAPL"], emit, stop))
    wait_for(lambda: stub.data_subscribers() == 1)

    started = time.monotonic()
    stream.close()

    assert time.monotonic() - started < 2
    assert stream.error is None
    wait_for(lambda: stub.data_subscribers() == 0)


# ---- orders -----------------------------------------------------------------------------


def test_submit_partial_fill_then_fill_arrive_as_orders_and_fills(stub, venue, streams):
    stream = order_stream(venue, stub, streams)

    ack = venue.submit(limit_buy("ord-1"))
    stub.fill("ord-1", "4", "149.95")
    stub.fill("ord-1", "6", "150.00")
    wait_for(lambda: any(o.status is OrderStatus.FILLED for o in stream.of(VenueOrder)))

    assert (ack.client_order_id, ack.status, ack.quantity, ack.limit_price) == (
        "ord-1",
        OrderStatus.ACCEPTED,
        Decimal("10"),
        Decimal("150"),
    )
    fills = stream.of(VenueFill)
    assert [(f.quantity, f.price) for f in fills] == [
        (Decimal("4"), Decimal("149.95")),
        (Decimal("6"), Decimal("150")),
    ]
    assert [f.trade_id for f in fills] == [f"{ack.venue_order_id}:4", f"{ack.venue_order_id}:10"]
    assert all(f.client_order_id == "ord-1" and f.fee == 0 for f in fills)
    statuses = [o.status for o in stream.of(VenueOrder)]
    assert statuses == [OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    assert stream.of(VenueOrder)[-1].avg_price == Decimal("149.98")
    assert stub.positions["AAPL"][0] == Decimal("10")


def test_stream_fills_and_fill_activities_share_trade_ids(stub, venue, streams):
    stream = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-ids"))
    stub.fill("ord-ids", "3", "150")
    stub.fill("ord-ids", "7", "150")
    wait_for(lambda: len(stream.of(VenueFill)) == 2)

    fresh = AlpacaVenue(venue_config(stub.urls), KEYS)  # knows no order ids yet
    try:
        reconciled = fresh.fills_since(0, ["AAPL"])
    finally:
        fresh.close()

    assert reconciled == stream.of(VenueFill)


def test_cancel_of_a_working_order_reports_it_canceled(stub, venue, streams):
    stream = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-cancel"))

    canceled = venue.cancel("ord-cancel", "AAPL")

    assert canceled.status is OrderStatus.CANCELED
    wait_for(lambda: stream.of(VenueOrder)[-1].status is OrderStatus.CANCELED)
    assert stub.order_status("ord-cancel") == "canceled"


def test_cancel_racing_a_fill_reports_the_order_filled(stub, venue, streams):
    stream = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-race", qty=5))
    stub.fill_on_cancel("ord-race")

    result = venue.cancel("ord-race", "AAPL")

    assert result.status is OrderStatus.FILLED
    assert result.filled == Decimal("5")
    wait_for(lambda: stream.of(VenueFill))
    assert all(o.status is not OrderStatus.CANCELED for o in stream.of(VenueOrder))


def test_cancel_of_an_unknown_order_is_not_found(venue):
    with pytest.raises(VenueOrderNotFound, match="nobody"):
        venue.cancel("nobody", "AAPL")


def test_order_of_an_unknown_client_id_is_not_found(venue):
    with pytest.raises(VenueOrderNotFound):
        venue.order("never-sent", "AAPL")


def test_a_retried_submit_returns_the_order_alpaca_already_has(stub, venue):
    first = venue.submit(limit_buy("ord-twice"))
    stub.fill("ord-twice", "2", "150")

    again = venue.submit(limit_buy("ord-twice"))

    assert again.venue_order_id == first.venue_order_id
    assert again.filled == Decimal("2")
    assert len(stub.orders) == 1


def test_open_orders_list_the_working_orders(stub, venue):
    venue.submit(limit_buy("ord-open-1"))
    venue.submit(limit_buy("ord-open-2", symbol="MSFT", price=400))
    venue.submit(limit_buy("ord-done"))
    stub.fill("ord-done", "10", "150")

    assert {o.client_order_id for o in venue.open_orders([])} == {"ord-open-1", "ord-open-2"}
    assert [o.client_order_id for o in venue.open_orders(["MSFT"])] == ["ord-open-2"]


def test_stop_and_stop_limit_orders_carry_their_prices(venue):
    stop = venue.submit(Order("ord-stop", "AAPL", Side.SELL, 1.0, OrderType.STOP, stop_price=140.0))
    stop_limit = venue.submit(
        Order(
            "ord-stop-limit",
            "AAPL",
            Side.SELL,
            1.0,
            OrderType.STOP_LIMIT,
            limit_price=139.5,
            stop_price=140.0,
        )
    )

    assert (stop.type, stop.stop_price) == (OrderType.STOP, Decimal("140"))
    assert (stop_limit.type, stop_limit.limit_price) == (OrderType.STOP_LIMIT, Decimal("139.5"))


def test_a_disconnect_mid_order_is_reported_and_the_missed_fills_are_recovered(
    stub, venue, streams
):
    stream = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-drop"))
    stub.fill("ord-drop", "4", "150")
    wait_for(lambda: stream.of(VenueFill))
    since = stream.of(VenueFill)[0].ts

    stub.drop_streams()
    wait_for(stream.ended)
    assert isinstance(stream.error, VenueUnavailable)
    assert "trade update stream dropped" in str(stream.error)
    stub.fill("ord-drop", "6", "150.10")  # while nobody listens

    assert venue.order("ord-drop", "AAPL").status is OrderStatus.FILLED
    recovered = venue.fills_since(since, ["AAPL"])
    assert [(f.quantity, f.price) for f in recovered] == [
        (Decimal("4"), Decimal("150")),
        (Decimal("6"), Decimal("150.1")),
    ]
    assert recovered[0] == stream.of(VenueFill)[0]
    again = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-after"))
    wait_for(lambda: again.of(VenueOrder))


def test_a_fill_sent_twice_is_emitted_twice_with_one_trade_id(stub, venue, streams):
    stream = order_stream(venue, stub, streams)
    venue.submit(limit_buy("ord-dup"))
    stub.duplicate_next_fill()

    stub.fill("ord-dup", "10", "150")
    wait_for(lambda: len(stream.of(VenueFill)) == 2)

    first, second = stream.of(VenueFill)
    assert first == second
    assert len(venue.fills_since(0, [])) == 1


def test_timestamps_are_the_venues_when_its_clock_is_skewed(stub, venue, streams):
    stub.clock_skew_s = 7.5
    stream = order_stream(venue, stub, streams)

    ack = venue.submit(limit_buy("ord-skew"))
    stub.fill("ord-skew", "10", "150")
    wait_for(lambda: stream.of(VenueFill))

    order = stub.orders[ack.venue_order_id]
    assert ack.ts == order.created_ns
    assert stream.of(VenueFill)[0].ts == order.filled_ns
    assert venue.fills_since(0, [])[0].ts == order.filled_ns
    assert ack.ts > time.time_ns() + 6_000_000_000


# ---- failures ---------------------------------------------------------------------------


def test_a_429_is_rate_limited_with_the_venues_retry_after_at_once(stub, venue):
    stub.rate_limit_next(429, retry_after=2.5)

    started = time.monotonic()
    with pytest.raises(VenueRateLimited) as caught:
        venue.submit(limit_buy("ord-429"))

    assert caught.value.retry_after_s == 2.5
    assert time.monotonic() - started < 1.0  # alpaca-py's own 3 s retry is off
    assert stub.orders == {}
    assert_no_secrets(caught.value)


def test_insufficient_buying_power_is_rejected_with_alpacas_words(stub, venue):
    stub.set_cash("1000")

    with pytest.raises(VenueRejected) as caught:
        venue.submit(limit_buy("ord-poor", qty=10, price=150))

    assert caught.value.reason == "insufficient buying power"
    assert caught.value.details["status"] == 403
    assert_no_secrets(caught.value)


def test_an_unknown_symbol_is_rejected_with_alpacas_words(venue):
    with pytest.raises(VenueRejected, match='asset "NOPE" not found'):
        venue.submit(limit_buy("ord-nope", symbol="NOPE"))


def test_an_order_below_the_minimum_value_is_rejected(venue):
    with pytest.raises(VenueRejected, match="cost basis must be >= 1"):
        venue.submit(
            Order("ord-tiny", "AAPL", Side.BUY, 0.001, OrderType.MARKET, tif=TimeInForce.DAY)
        )


def test_a_rejection_the_venue_chooses_carries_its_reason(stub, venue):
    stub.reject_next("account is not allowed to short", status=422)

    with pytest.raises(VenueRejected, match="account is not allowed to short"):
        venue.submit(limit_buy("ord-short"))


def test_a_refused_key_makes_the_venue_unavailable_naming_the_refusal(stub):
    alpaca = AlpacaVenue(venue_config(stub.urls), WRONG_KEYS)
    try:
        with pytest.raises(VenueUnavailable, match=r"API key refused: unauthorized\.") as caught:
            alpaca.balances()
    finally:
        alpaca.close()

    assert_no_secrets(caught.value, WRONG_KEYS)


def test_a_refused_key_on_the_trade_update_stream_is_unavailable(stub):
    alpaca = AlpacaVenue(venue_config(stub.urls), WRONG_KEYS)
    stream = StreamThread(alpaca.stream_orders)
    try:
        wait_for(stream.ended)
    finally:
        stream.close()
        alpaca.close()

    assert isinstance(stream.error, VenueUnavailable)
    assert "API key refused by the trade update stream" in str(stream.error)
    assert_no_secrets(stream.error, WRONG_KEYS)


def test_a_refused_key_on_the_market_data_stream_is_unavailable(stub):
    alpaca = AlpacaVenue(venue_config(stub.urls), WRONG_KEYS)
    stream = StreamThread(lambda emit, stop: alpaca.stream_market(["AAPL"], emit, stop))
    try:
        wait_for(stream.ended)
    finally:
        stream.close()
        alpaca.close()

    assert isinstance(stream.error, VenueUnavailable)
    assert "API key refused by the market data stream: auth failed" in str(stream.error)
    assert_no_secrets(stream.error, WRONG_KEYS)


def test_no_stored_key_is_unavailable_naming_the_login(stub):
    alpaca = AlpacaVenue(venue_config(stub.urls), None)

    with pytest.raises(VenueUnavailable, match="bifrost venues login alpaca-paper"):
        alpaca.instruments()


def test_an_answer_slower_than_the_timeout_is_unavailable(stub):
    alpaca = AlpacaVenue(venue_config(stub.urls, timeout=0.5), KEYS)
    stub.delay_next(1.5)
    started = time.monotonic()
    try:
        with pytest.raises(VenueUnavailable, match=r"no answer within 0\.5 s"):
            alpaca.positions()
    finally:
        alpaca.close()

    assert time.monotonic() - started < 2


def test_an_unreachable_venue_is_unavailable(stub):
    urls = dict(stub.urls)
    stub.stop()
    alpaca = AlpacaVenue(venue_config(urls, timeout=1), KEYS)
    try:
        with pytest.raises(VenueUnavailable, match=r"cannot reach 127\.0\.0\.1"):
            alpaca.balances()
        stream = StreamThread(alpaca.stream_orders)
        wait_for(stream.ended)
        stream.close()
    finally:
        alpaca.close()

    assert isinstance(stream.error, VenueUnavailable)
    assert "cannot open the trade update stream" in str(stream.error)


def test_balances_and_positions_are_decimals_with_shorts_negative(stub, venue):
    stub.set_cash("25000.55")
    stub.set_position("AAPL", "12", "150.25")
    stub.set_position("MSFT", "-3", "401.10")

    (cash,) = venue.balances()
    positions = {p.symbol: p for p in venue.positions()}

    assert (cash.asset, cash.free, cash.total) == ("USD", Decimal("25000.55"), Decimal("25000.55"))
    assert positions["AAPL"].quantity == Decimal("12")
    assert positions["AAPL"].avg_price == Decimal("150.25")
    assert positions["MSFT"].quantity == Decimal("-3")


# ---- the stub as a process --------------------------------------------------------------


@pytest.fixture
def stub_process(tmp_path: Path) -> Iterator[dict[str, str]]:
    ready = tmp_path / "alpaca.ready"
    command = [sys.executable, "-m", "tests.venues.alpaca_stub", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--ready-file", str(ready), "--symbols", "AAPL", "--auto-fill"], cwd=ROOT
    )
    try:
        wait_for(ready.exists, timeout=20)
        yield json.loads(ready.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.timeout(60)
def test_the_stub_process_fills_a_market_order_and_streams_quotes(stub_process):
    assert set(stub_process) == {"trading", "data", "trading_stream", "data_stream"}
    alpaca = AlpacaVenue(venue_config(stub_process), KEYS)
    market = StreamThread(lambda emit, stop: alpaca.stream_market(["AAPL"], emit, stop))
    try:
        alpaca.submit(Order("proc-1", "AAPL", Side.BUY, 2.0, OrderType.MARKET))
        filled = wait_for(
            lambda: alpaca.order("proc-1", "AAPL").status is OrderStatus.FILLED, timeout=10
        )
        wait_for(lambda: len(market.of(Quote)) >= 3, timeout=10)
    finally:
        market.close()
        alpaca.close()

    assert filled
    assert market.error is None
