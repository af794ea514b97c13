"""What trading costs: commission models, slippage models and position sizing.

Commission is charged per fill. Slippage moves the fill price against the trader
(buys higher, sells lower). Sizing turns "spend this share of my cash" into whole
lots that the cash can pay for, commission included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from bifrost.errors import BadRequest, InvalidParameter
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


MAX_COMMISSION_RATE = 0.05
"""The largest percent commission a backtest takes: 5 % of notional. `--commission 10`
would be 1000 %, a slip for 0.1 % (`0.1%`) or 10 bps (`0.001`)."""
MAX_SLIPPAGE_BPS = 500.0
"""The largest slippage a backtest takes: 500 bps (5 %) against the trader per fill."""


def parse_commission(text: str) -> CommissionModel:
    """`0.001` or `0.1%` (percent), `0.005/share` or `0.005/share,min=1`, `1/order` (fixed).

    Refused with InvalidParameter naming `--commission`: text in none of these forms, a
    negative or non-finite amount, or a percent above MAX_COMMISSION_RATE.
    """
    text = text.strip().lower()
    try:
        if text.endswith("/order"):
            model: CommissionModel = FixedCommission(float(text.removesuffix("/order")))
        elif "/share" in text:
            rate, _, rest = text.partition("/share")
            minimum = float(rest.split("min=")[1]) if "min=" in rest else 0.0
            model = PerShareCommission(float(rate), minimum)
        elif text.endswith("%"):
            model = PercentCommission(float(text[:-1]) / 100)
        else:
            model = PercentCommission(float(text))
    except (ValueError, IndexError):
        raise InvalidParameter(
            "commission",
            f"--commission '{text}' is not like 0.001, 0.1%, 0.005/share,min=1 or 1/order",
        ) from None
    _check_commission(text, model)
    return model


def _check_commission(text: str, model: CommissionModel) -> None:
    names = getattr(model, "__slots__", ())
    amounts = [v for v in (getattr(model, n) for n in names) if isinstance(v, float)]
    if not all(math.isfinite(v) and v >= 0 for v in amounts):
        raise InvalidParameter(
            "commission", f"--commission '{text}' must be finite and not negative", ">= 0"
        )
    if isinstance(model, PercentCommission) and model.rate > MAX_COMMISSION_RATE:
        rule = f"0 <= commission <= {MAX_COMMISSION_RATE:.0%} of notional"
        raise InvalidParameter(
            "commission",
            f"--commission '{text}' reads as {model.rate:.4g} = {model.rate:.4%} of notional; "
            f"the limit is {MAX_COMMISSION_RATE:.0%} (for 0.1% write 0.1% or 0.001)",
            rule,
        )


def check_slippage(bps: float) -> float:
    """`bps` when it is a slippage a backtest takes (0 to MAX_SLIPPAGE_BPS), else
    InvalidParameter naming `--slippage`."""
    if not (math.isfinite(bps) and 0 <= bps <= MAX_SLIPPAGE_BPS):
        raise InvalidParameter(
            "slippage_bps",
            f"--slippage {bps:g} bps must be between 0 and {MAX_SLIPPAGE_BPS:g} bps "
            f"({MAX_SLIPPAGE_BPS / 10_000:.0%})",
            f"0 <= slippage <= {MAX_SLIPPAGE_BPS:g} bps",
        )
    return bps


def describe_commission(model: CommissionModel) -> str:
    """The commission as it was read: `0.1% of notional (0.001)`, `0.005/share, min 1`."""
    if isinstance(model, PercentCommission):
        return f"{model.rate * 100:g}% of notional ({model.rate:g})"
    if isinstance(model, PerShareCommission):
        return f"{model.per_share:g}/share, min {model.minimum:g}"
    if isinstance(model, FixedCommission):
        return f"{model.amount:g}/order"
    return type(model).__name__


def describe_slippage(bps: float) -> str:
    """The slippage as it was read: `5 bps (0.0005)`."""
    return f"{bps:g} bps ({bps / 10_000:g})"
