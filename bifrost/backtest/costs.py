"""What trading costs: commission models, slippage models and position sizing.

Commission is charged per fill. Slippage moves the fill price against the trader
(buys higher, sells lower). Sizing turns "spend this share of my cash" into whole
lots that the cash can pay for, commission included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from bifrost.errors import BadRequest
from bifrost.model.market import Side


class CommissionModel(Protocol):
    """Commission of one fill."""

    def commission(self, quantity: float, price: float) -> float:
        """Money charged for a fill of `quantity` at `price`."""

    def max_quantity(self, cash: float, price: float, lot: float) -> float:
        """Most whole lots that `cash` pays for at `price`, this commission included."""


@dataclass(frozen=True, slots=True)
class PercentCommission:
    """A fraction of the traded notional (0.001 = 10 bps)."""

    rate: float = 0.0

    def commission(self, quantity: float, price: float) -> float:
        """rate * quantity * price."""
        return self.rate * quantity * price

    def max_quantity(self, cash: float, price: float, lot: float) -> float:
        """floor(cash / (price * (1 + rate)) / lot) * lot."""
        return whole_lots(cash / (price * (1 + self.rate)), lot)


@dataclass(frozen=True, slots=True)
class PerShareCommission:
    """So much per share (or unit), with a minimum per fill."""

    per_share: float = 0.005
    minimum: float = 1.0

    def commission(self, quantity: float, price: float) -> float:
        """max(minimum, per_share * quantity)."""
        return max(self.minimum, self.per_share * quantity)

    def max_quantity(self, cash: float, price: float, lot: float) -> float:
        """The largest lot count whose cost plus commission fits in `cash`."""
        quantity = whole_lots((cash - self.minimum) / price, lot)
        while quantity > 0 and quantity * price + self.commission(quantity, price) > cash:
            quantity -= lot
        return max(quantity, 0.0)


@dataclass(frozen=True, slots=True)
class FixedCommission:
    """A fixed amount per fill."""

    amount: float = 1.0

    def commission(self, quantity: float, price: float) -> float:
        """amount."""
        return self.amount

    def max_quantity(self, cash: float, price: float, lot: float) -> float:
        """floor((cash - amount) / price / lot) * lot."""
        return max(whole_lots((cash - self.amount) / price, lot), 0.0)


@dataclass(frozen=True, slots=True)
class FixedBpsSlippage:
    """Every fill moves `bps` basis points against the trader."""

    bps: float = 0.0

    def adjust(self, side: Side, price: float, spread: float = 0.0) -> float:
        """price * (1 ± bps / 10 000)."""
        sign = 1 if side is Side.BUY else -1
        return price * (1 + sign * self.bps / 10_000)


@dataclass(frozen=True, slots=True)
class SpreadSlippage:
    """Fills cross half the quoted spread (quote fills) plus `extra_bps`."""

    extra_bps: float = 0.0

    def adjust(self, side: Side, price: float, spread: float = 0.0) -> float:
        """price ± spread / 2, then ± extra_bps."""
        sign = 1 if side is Side.BUY else -1
        return (price + sign * spread / 2) * (1 + sign * self.extra_bps / 10_000)


def whole_lots(quantity: float, lot: float) -> float:
    """`quantity` rounded down to a whole number of lots (a tiny epsilon absorbs float noise)."""
    if lot <= 0:
        raise BadRequest("lot size must be positive")
    return math.floor(quantity / lot + 1e-9) * lot


def parse_commission(text: str) -> CommissionModel:
    """`0.001` or `0.1%` (percent), `0.005/share` or `0.005/share,min=1`, `1/order` (fixed)."""
    text = text.strip().lower()
    try:
        if text.endswith("/order"):
            return FixedCommission(float(text.removesuffix("/order")))
        if "/share" in text:
            rate, _, rest = text.partition("/share")
            minimum = float(rest.split("min=")[1]) if "min=" in rest else 0.0
            return PerShareCommission(float(rate), minimum)
        if text.endswith("%"):
            return PercentCommission(float(text[:-1]) / 100)
        return PercentCommission(float(text))
    except (ValueError, IndexError):
        raise BadRequest(
            f"commission '{text}' is not like 0.001, 0.1%, 0.005/share,min=1 or 1/order"
        ) from None
