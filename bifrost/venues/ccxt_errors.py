"""ccxt's exceptions as Bifrost venue errors, with messages that carry no secrets.

ccxt puts the request URL (with its signature) and the raw response body in its exception
messages; a venue error is built from the exchange's own `code` and `msg` only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bifrost.errors import BifrostError
from bifrost.venues.errors import (
    VenueOrderNotFound,
    VenueRateLimited,
    VenueRejected,
    VenueUnavailable,
)

DEFAULT_RETRY_AFTER_S = 1.0
KEY_REFUSED_CODES = frozenset({"-2014", "-2015", "-1022"})
"""Binance's answers to a bad API key or a bad signature: whichever ccxt class they come
as (it depends on the URL's host), the keys were refused."""

_JSON_BODY = re.compile(r"\{.*\}", re.DOTALL)


def exchange_answer(exc: Exception) -> tuple[str, str]:
    """The exchange's error code and message from a ccxt exception ("" when it has none).

    ccxt messages read `<exchange id> [status text] <body>`; only the body's JSON `code`
    and `msg` are kept (never the URL ccxt adds for network errors)."""
    match = _JSON_BODY.search(str(exc))
    if match is None:
        return "", ""
    try:
        body = json.loads(match.group(0))
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    nested = body.get("error")
    error: dict[str, Any] = nested if isinstance(nested, dict) else body
    message = error.get("msg") or error.get("message") or ""
    code = error.get("code")
    return ("" if code is None else str(code)), str(message)


def _plain_reason(exc: Exception, exchange_id: str) -> str:
    """The venue's words for errors ccxt raised with a plain message (no JSON body):
    ccxt's `<id> <msg>` form, without the id; nothing when it looks like a URL."""
    message = str(exc)
    if message.startswith(exchange_id + " "):
        message = message[len(exchange_id) + 1 :]
    if "://" in message or "?" in message:
        return ""
    return message.strip()


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds from a Retry-After header, else the default."""
    value = (headers or {}).get("Retry-After")
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER_S
    return seconds if seconds > 0 else DEFAULT_RETRY_AFTER_S


def translate(
    exc: Exception,
    venue: str,
    exchange_id: str,
    *,
    order_entry: bool = False,
    client_order_id: str = "",
    headers: Mapping[str, Any] | None = None,
) -> BifrostError:
    """The Bifrost error for a ccxt exception raised by a call to venue `venue`."""
    import ccxt  # type: ignore[import-untyped]

    code, message = exchange_answer(exc)
    reason = message or _plain_reason(exc, exchange_id) or type(exc).__name__
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return VenueRateLimited(venue, retry_after(headers), reason)
    if code in KEY_REFUSED_CODES or isinstance(exc, ccxt.AuthenticationError):
        return VenueUnavailable(venue, f"API key refused: {reason}")
    if isinstance(exc, ccxt.OrderNotFound):
        return VenueOrderNotFound(venue, client_order_id)
    if isinstance(exc, ccxt.InvalidNonce):
        return VenueUnavailable(venue, f"clock out of the venue's window: {reason}")
    if isinstance(exc, ccxt.NetworkError):
        return VenueUnavailable(venue, f"no answer ({type(exc).__name__})")
    if order_entry and isinstance(exc, ccxt.ExchangeError):
        # InsufficientFunds, InvalidOrder, BadSymbol, BadRequest and the exchange's other
        # refusals of an order: the order is rejected with the exchange's reason.
        return VenueRejected(venue, reason, {"code": code} if code else None)
    return VenueUnavailable(venue, f"{type(exc).__name__}: {reason}")
