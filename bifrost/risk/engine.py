"""Pre-trade risk checks and the trading state (ACTIVE, REDUCING, HALTED).

The engine keeps what the checks need from the bus: positions (from fills), open
orders (from order events), last mids (from quotes). `check` raises Rejected with
the rule that fired; rules run in a fixed order, so a reason is reproducible.

An order that passed is `hold`-ed as open at once, before execution reports it, so
orders still on their way (risk forwards without waiting) count against the limits
of the next ones; `release` drops it when a later hop refuses it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, fields, replace
from enum import StrEnum
from typing import Any, NoReturn

from bifrost.errors import BadRequest, Rejected
from bifrost.model.commands import SubmitOrder
from bifrost.model.market import Side
from bifrost.model.money import plain_number
from bifrost.ratelimit import TokenBucket
from bifrost.risk.config import RiskConfig


class TradingState(StrEnum):
    """Whether orders may go out: all, only risk-reducing ones, or none."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


def parse_limit(name: str, value: Any) -> Any:
    """A limit value from text or JSON, typed like the RiskConfig field `name`."""
    kinds = {f.name: f.type for f in fields(RiskConfig)}
    if name not in kinds:
        raise BadRequest(f"no risk limit '{name}' (limits: {', '.join(kinds)})")
    kind = str(kinds[name])
    try:
        if "tuple" in kind:
            items = value if isinstance(value, list) else str(value).split(",")
            return tuple(str(s).strip() for s in items if str(s).strip())
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"risk limit {name}={value!r} is not a number") from None
    if not math.isfinite(number):  # NaN compares false (disabling a limit); inf breaks int()
        raise BadRequest(f"risk limit {name}={value!r} is not a finite number")
    if number < 0:
        raise BadRequest(f"risk limit {name} must not be negative")
    if kind == "int":
        if not number.is_integer():
            raise BadRequest(f"risk limit {name}={value!r} must be a whole number")
        return int(number)
    return number


class RiskEngine:
    """Checks orders against limits and the trading state; plain data in, Rejected out."""

    def __init__(self, limits: RiskConfig, state: TradingState = TradingState.ACTIVE) -> None:
        self.limits = limits
        self.state = state
        self.positions: dict[str, float] = {}
        self.open_orders: dict[str, dict[str, Any]] = {}
        self.holds: dict[str, dict[str, Any]] = {}
        """Orders that passed and are on their way to execution, which has not reported them."""
        self.mids: dict[str, float] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.day_pnl = 0.0

    def set_limits(self, changes: dict[str, Any]) -> RiskConfig:
        """Change limits (each checked and typed); returns the new set."""
        typed = {name: parse_limit(name, value) for name, value in changes.items()}
        self.limits = replace(self.limits, **typed)
        self.buckets.clear()
        return self.limits

    def limits_dict(self) -> dict[str, Any]:
        """The current limits as plain data."""
        out = asdict(self.limits)
        out["restricted_symbols"] = list(self.limits.restricted_symbols)
        return out

    # -- the checks -------------------------------------------------------------------

    def check(
        self, order: SubmitOrder, now: float | None = None, replacing: str | None = None
    ) -> None:
        """Raise Rejected naming the first rule the order breaks.

        `replacing` names the open order this one replaces: its remaining quantity is
        not counted as pending and it does not count as one more open order, since the
        replace cancels it.
        """
        symbol, quantity = order.symbol, order.quantity
        signed = quantity if order.side is Side.BUY else -quantity
        held = self.positions.get(symbol, 0.0)
        after = held + signed
        # Reducing: smaller and never across zero (a sell of 150 from a long of 100 opens
        # a short, which is new risk).
        reduces = abs(after) < abs(held) - 1e-12 and after * held >= 0
        limits = self.limits
        if self.state is TradingState.HALTED:
            self._reject("halted", "trading is halted (bifrost risk resume to restart)")
        if self.state is TradingState.REDUCING and not reduces:
            self._reject("reducing", f"only orders that reduce the {symbol} position are allowed")
        if symbol in limits.restricted_symbols:
            self._reject("restricted", f"{symbol} is on the restricted list")
        if quantity > limits.max_order_quantity:
            self._reject(
                "max_order_quantity",
                f"quantity {plain_number(quantity)} exceeds the limit of "
                f"{plain_number(limits.max_order_quantity)}",
            )
        price = self._price(order)
        notional = quantity * price
        if notional > limits.max_order_notional:
            self._reject(
                "max_order_notional",
                f"notional {notional:,.2f} exceeds the limit of {limits.max_order_notional:,.2f}",
            )
        self._collar(order, symbol)
        others = self.open_orders
        if replacing is not None:  # copied only then: the hot path is a new order
            others = {k: o for k, o in others.items() if k != replacing}
        self._exposure(symbol, signed, held, price, reduces, others)
        open_now = len(others) + len(self.holds)
        if open_now >= limits.max_open_orders:
            self._reject(
                "max_open_orders",
                f"{open_now} orders are open (limit {limits.max_open_orders})",
            )
        # Keyed as execution books the order (no account is "paper"), so a replace of
        # an order counts against the same bucket as the order it replaces.
        self._rate(order.strategy_id or order.account or "paper", now)

    def hold(self, order: SubmitOrder) -> None:
        """Count an order that passed as open until execution reports on it."""
        sign = 1 if order.side is Side.BUY else -1
        self.holds[order.client_order_id] = {
            "symbol": order.symbol,
            "signed_remaining": sign * order.quantity,
        }

    def release(self, client_order_id: str) -> None:
        """Forget an order a later hop refused (it never reached execution)."""
        self.holds.pop(client_order_id, None)

    def _price(self, order: SubmitOrder) -> float:
        price = order.limit_price or order.stop_price or self.mids.get(order.symbol)
        if not price:
            self._reject("no_price", f"no quote for {order.symbol} to value the order")
        return float(price)

    def _collar(self, order: SubmitOrder, symbol: str) -> None:
        mid = self.mids.get(symbol)
        for name in ("limit_price", "stop_price"):
            price = getattr(order, name)
            if price and mid:
                away = abs(price / mid - 1) * 100
                collar = self.limits.price_collar_pct
                if away > collar:
                    self._reject(
                        "price_collar",
                        f"{name} {plain_number(price)} is {away:.1f}% from the mid "
                        f"{plain_number(mid)} (collar {plain_number(collar)}%)",
                    )

    def _exposure(
        self,
        symbol: str,
        signed: float,
        held: float,
        price: float,
        reduces: bool,
        open_orders: dict[str, dict[str, Any]],
    ) -> None:
        limits = self.limits
        pending = sum(
            o["signed_remaining"]
            for orders in (open_orders, self.holds)
            for o in orders.values()
            if o["symbol"] == symbol
        )
        after = held + pending + signed
        if abs(after) > limits.max_position and not reduces:
            self._reject(
                "max_position",
                f"the {symbol} position would be {plain_number(after)} "
                f"(limit {plain_number(limits.max_position)})",
            )
        values = {
            s: q * self.mids.get(s, price if s == symbol else 0.0)
            for s, q in self.positions.items()
        }
        values[symbol] = values.get(symbol, 0.0) + signed * price
        gross, net = sum(abs(v) for v in values.values()), sum(values.values())
        if gross > limits.max_gross_exposure and not reduces:
            self._reject(
                "max_gross_exposure",
                f"gross exposure would be {gross:,.2f} (limit {limits.max_gross_exposure:,.2f})",
            )
        if abs(net) > limits.max_net_exposure and not reduces:
            self._reject(
                "max_net_exposure",
                f"net exposure would be {net:,.2f} (limit {limits.max_net_exposure:,.2f})",
            )

    def _rate(self, key: str, now: float | None) -> None:
        now = time.monotonic() if now is None else now
        rate = self.limits.max_orders_per_second
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket.full(rate, max(1.0, rate), now)
        if not bucket.take(now):
            self._reject("order_rate", f"more than {plain_number(rate)} orders a second from {key}")

    @staticmethod
    def _reject(rule: str, message: str) -> NoReturn:
        raise Rejected(message, {"rule": rule})

    def usage(self) -> dict[str, float]:
        """How much of each position and exposure limit is in use now."""
        values = [q * self.mids.get(s, 0.0) for s, q in self.positions.items()]
        return {
            "max_open_orders": float(len(self.open_orders)),
            "max_position": max((abs(q) for q in self.positions.values()), default=0.0),
            "max_gross_exposure": sum(abs(v) for v in values),
            "max_net_exposure": abs(sum(values)),
            "daily_loss_limit": max(0.0, -self.day_pnl),
        }

    # -- what the bus tells us --------------------------------------------------------

    def on_fill(self, fill: dict[str, Any]) -> None:
        """A fill moved a position."""
        signed = fill["quantity"] if fill["side"] == "BUY" else -fill["quantity"]
        self.positions[fill["symbol"]] = self.positions.get(fill["symbol"], 0.0) + signed

    def on_order(self, order: dict[str, Any]) -> None:
        """An order changed state: keep the open ones with what they still may fill."""
        self.holds.pop(order["client_order_id"], None)
        if order["status"] in ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"):
            remaining = (order["quantity"] or 0) - order["filled"]
            sign = 1 if order["side"] == "BUY" else -1
            self.open_orders[order["client_order_id"]] = {
                "symbol": order["symbol"],
                "signed_remaining": sign * remaining,
            }
        else:
            self.open_orders.pop(order["client_order_id"], None)

    def on_quote(self, symbol: str, mid: float) -> None:
        """The latest mid of a symbol."""
        self.mids[symbol] = mid

    def on_pnl(self, day_pnl: float) -> bool:
        """Day P&L from the portfolio; True when it breached the loss limit and halted."""
        self.day_pnl = day_pnl
        if -day_pnl >= self.limits.daily_loss_limit and self.state is not TradingState.HALTED:
            self.state = TradingState.HALTED
            return True
        return False
