"""Alpaca's two websockets read on the calling thread until `stop` is set.

alpaca-py's `run()` reconnects by itself after a drop and only logs it, so a gap in the
order stream would go unnoticed. Instead the stream's own coroutines (connect,
authenticate, subscribe, consume: alpaca-py's wire code) run one connection on an event
loop of this thread, and the end of that connection is reported as VenueUnavailable.
The venue session then reconnects and reconciles (open orders, fills since the drop).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import websockets

from bifrost.model.market import Quote, Side, Trade
from bifrost.venues.errors import VenueUnavailable

STOP_POLL_S = 0.05
"""How often a reading stream looks at its `stop` event."""


def websocket_params(timeout_s: float) -> dict[str, Any]:
    """alpaca-py's websocket settings with the venue's timeout on opening and closing."""
    return {
        "ping_interval": 10,
        "ping_timeout": 30,
        "max_queue": 1024,
        "open_timeout": timeout_s,
        "close_timeout": timeout_s,
    }


async def _until_set(stop: threading.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(STOP_POLL_S)


async def read_one_connection(
    venue: str,
    what: str,
    stream: Any,
    open_stream: Callable[[], Awaitable[None]],
    timeout_s: float,
    stop: threading.Event,
) -> None:
    """Open `stream` with `open_stream` (connect, authenticate, subscribe), consume it until
    `stop` is set and close it; VenueUnavailable names a refused key, an unreachable
    endpoint or a drop."""
    try:
        await asyncio.wait_for(open_stream(), timeout_s)
    except ValueError as exc:
        # alpaca-py's _auth raises ValueError with the venue's words (never the keys).
        await _close(stream)
        raise VenueUnavailable(venue, f"API key refused by the {what}: {exc}") from None
    except (TimeoutError, OSError, websockets.WebSocketException) as exc:
        await _close(stream)
        raise VenueUnavailable(venue, f"cannot open the {what}: {_describe(exc)}") from None
    reading = asyncio.ensure_future(stream._consume())
    watching = asyncio.ensure_future(_until_set(stop))
    await asyncio.wait({reading, watching}, return_when=asyncio.FIRST_COMPLETED)
    for task in (reading, watching):
        task.cancel()
    await asyncio.gather(reading, watching, return_exceptions=True)
    await _close(stream)
    if stop.is_set():
        return
    error = None if reading.cancelled() else reading.exception()
    if error is not None and not isinstance(error, OSError | websockets.WebSocketException):
        raise error
    raise VenueUnavailable(venue, f"the {what} dropped: {_describe(error)}")


async def _close(stream: Any) -> None:
    with contextlib.suppress(OSError, websockets.WebSocketException, TimeoutError):
        await stream.close()


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "connection ended"
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, websockets.ConnectionClosed):
        frame = error.rcvd or error.sent
        return f"closed with code {frame.code}" if frame else "closed without a close frame"
    return type(error).__name__


class MarketRecords:
    """Alpaca's stock quote (`q`) and trade (`t`) records as Quote and Trade.

    Alpaca's stock trades carry no aggressor side; it is taken from the last quote of the
    symbol (at or above the mid: a buyer lifted the offer) and is BUY before any quote.
    """

    def __init__(self) -> None:
        self._mids: dict[str, float] = {}

    def quote(self, raw: dict[str, Any]) -> Quote:
        """One `q` record; its `t` is the venue's msgpack timestamp, kept to the nanosecond."""
        quote = Quote(
            symbol=raw["S"],
            bid=float(raw["bp"]),
            ask=float(raw["ap"]),
            bid_size=float(raw["bs"]),
            ask_size=float(raw["as"]),
            ts=_ns(raw["t"]),
        )
        self._mids[quote.symbol] = quote.mid
        return quote

    def trade(self, raw: dict[str, Any]) -> Trade:
        """One `t` record."""
        price = float(raw["p"])
        mid = self._mids.get(raw["S"])
        side = Side.BUY if mid is None or price >= mid else Side.SELL
        return Trade(
            symbol=raw["S"],
            price=price,
            size=float(raw["s"]),
            side=side,
            trade_id=str(raw["i"]),
            ts=_ns(raw["t"]),
        )


def _ns(stamp: Any) -> int:
    """A msgpack Timestamp (what the data stream sends) in int ns."""
    return int(stamp.to_unix_nano())
