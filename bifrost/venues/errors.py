"""What a venue's failures become: Bifrost error codes that name the venue and its reason."""

from __future__ import annotations

from typing import Any

from bifrost.errors import NotFound, RateLimited, Rejected, Unavailable


class VenueRejected(Rejected):
    """The venue refused the order (insufficient balance, unknown symbol, below the minimum
    notional, ...); the message carries the venue's own reason."""

    def __init__(self, venue: str, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(
            f"{venue} rejected the order: {reason}", {"venue": venue, **(details or {})}
        )
        self.venue = venue
        self.reason = reason


class VenueUnavailable(Unavailable):
    """The venue cannot be reached, refused the connection or the keys, or is in
    maintenance: its orders are refused (fail closed) until it is back."""

    def __init__(self, venue: str, reason: str) -> None:
        super().__init__(f"venue {venue} is unavailable: {reason}", {"venue": venue})
        self.venue = venue
        self.reason = reason


class VenueRateLimited(RateLimited):
    """The venue answered 429 or 418: wait `retry_after_s` before the next request."""

    def __init__(self, venue: str, retry_after_s: float, reason: str = "") -> None:
        super().__init__(
            f"venue {venue} is rate limiting requests; retry after {retry_after_s:g} s"
            + (f" ({reason})" if reason else ""),
            {"venue": venue, "retry_after_s": retry_after_s},
        )
        self.venue = venue
        self.retry_after_s = retry_after_s


class VenueOrderNotFound(NotFound):
    """The venue knows no order with that client order id."""

    def __init__(self, venue: str, client_order_id: str) -> None:
        super().__init__(
            f"venue {venue} has no order {client_order_id}",
            {"venue": venue, "client_order_id": client_order_id},
        )
