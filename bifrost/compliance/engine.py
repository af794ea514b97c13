"""The compliance checks every order passes after risk and before execution.

The engine keeps what the rules need from the bus: resting orders (execution's
order events), fills (for day trades), each account's equity and positions
(portfolio's P&L events) and last mids (quotes). `check` raises Rejected naming the
first rule that fired; rules run in a fixed order, so the reason is reproducible:

    restricted, market_hours, max_orders_per_day, wash_trade, pattern_day_trader,
    concentration; then `watch` (a hit, never a rejection).

Time is passed in (`now_ns`), so the calendar and day rules are tested with any clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from bifrost.compliance.config import ComplianceConfig
from bifrost.compliance.daytrades import DAY_NS, FillSide, day_trades, would_day_trade
from bifrost.compliance.hours import market_open
from bifrost.errors import Rejected
from bifrost.model.commands import SubmitOrder
from bifrost.model.instrument import Instrument
from bifrost.model.market import Side

OPEN_STATUSES = frozenset({"NEW", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED"})
FILL_MEMORY_NS = 10 * DAY_NS
"""Fills older than this cannot matter to a 5-business-day window and are dropped."""


def default_calendar(symbol: str) -> str:
    """The calendar of a symbol nobody described: crypto pairs 24/7, else XNYS."""
    return Instrument.default_for(symbol).calendar


@dataclass(slots=True)
class AccountView:
    """An account as the last P&L event showed it."""

    equity: float
    positions: dict[str, float] = field(default_factory=dict)
    marks: dict[str, float] = field(default_factory=dict)


class ComplianceEngine:
    """Checks orders against the compliance rules; plain data in, Rejected out."""

    def __init__(
        self,
        rules: ComplianceConfig,
        calendar_of: Callable[[str], str] = default_calendar,
    ) -> None:
        self.rules = rules
        self.calendar_of = calendar_of
        self.resting: dict[str, dict[str, Any]] = {}
        self.fills: dict[str, list[FillSide]] = {}
        self.trade_ids: set[str] = set()
        self.accounts: dict[str, AccountView] = {}
        self.mids: dict[str, float] = {}
        self.orders_today: dict[tuple[int, str], int] = {}

    # -- the checks ----------------------------------------------------------------------

    def check(self, order: SubmitOrder, now_ns: int) -> list[str]:
        """Raise Rejected naming the first rule the order breaks; else count it and
        return the hits it makes (`watch`)."""
        rules, symbol = self.rules, order.symbol
        if symbol in rules.restricted:
            self._reject("restricted", f"{symbol} is on the compliance restricted list")
        if rules.market_hours_only:
            calendar = self.calendar_of(symbol)
            if not market_open(calendar, now_ns):
                self._reject("market_hours", f"the {calendar} market of {symbol} is closed")
        day_key = (now_ns // DAY_NS, symbol)
        placed = self.orders_today.get(day_key, 0)
        if rules.max_orders_per_day and placed >= rules.max_orders_per_day:
            self._reject(
                "max_orders_per_day",
                f"{placed} {symbol} orders today already (limit {rules.max_orders_per_day})",
            )
        if rules.wash_trade_prevention:
            self._wash_trade(order)
        if rules.pdt_max_day_trades:
            self._pattern_day_trader(order, now_ns)
        if rules.max_concentration_pct:
            self._concentration(order)
        self.orders_today[day_key] = placed + 1
        return ["watch"] if symbol in rules.watch else []

    def _wash_trade(self, order: SubmitOrder) -> None:
        account, strategy = order.account or "paper", order.strategy_id
        side, limit = order.side.value, order.limit_price
        for resting in self.resting.values():
            if (
                resting["symbol"] != order.symbol
                or resting["side"] == side
                or resting.get("account") != account
                or (resting.get("strategy_id") or "") != strategy
            ):
                continue
            if crosses(side, order.type.value, limit, resting):
                self._reject(
                    "wash_trade",
                    f"it would cross own resting {resting['side']} order "
                    f"{resting['client_order_id']} in {order.symbol}",
                )

    def _pattern_day_trader(self, order: SubmitOrder, now_ns: int) -> None:
        account = order.account or "paper"
        fills = self.fills.get(account, [])
        if not would_day_trade(fills, order.symbol, order.side.value, now_ns):
            return
        view = self._account(account, "pattern_day_trader")
        rules = self.rules
        if view.equity >= rules.pdt_equity_threshold:
            return
        made = day_trades(fills, now_ns)
        if made >= rules.pdt_max_day_trades:
            self._reject(
                "pattern_day_trader",
                f"{made} day trades in 5 business days (limit {rules.pdt_max_day_trades} "
                f"while equity {view.equity:,.2f} < {rules.pdt_equity_threshold:,.2f})",
            )

    def _concentration(self, order: SubmitOrder) -> None:
        account, symbol = order.account or "paper", order.symbol
        view = self._account(account, "concentration")
        quantity = order.quantity
        held = view.positions.get(symbol, 0.0)
        after = held + (quantity if order.side is Side.BUY else -quantity)
        if abs(after) < abs(held) and after * held >= 0:
            return  # reducing a position never concentrates it
        price = (
            order.limit_price
            or order.stop_price
            or self.mids.get(symbol)
            or view.marks.get(symbol)
        )
        if not price:
            self._reject("concentration", f"no price for {symbol} to value the position")
        if view.equity <= 0:
            self._reject("concentration", f"equity of {account} is {view.equity:,.2f}")
        share = abs(after) * float(price) / view.equity * 100
        if share > self.rules.max_concentration_pct:
            self._reject(
                "concentration",
                f"{symbol} would be {share:.1f}% of equity "
                f"(limit {self.rules.max_concentration_pct:g}%)",
            )

    def _account(self, account: str, rule: str) -> AccountView:
        view = self.accounts.get(account)
        if view is None:  # fail closed: the rule cannot be judged without equity
            self._reject(rule, f"the equity of account {account} is not known yet")
        return view

    @staticmethod
    def _reject(rule: str, message: str) -> NoReturn:
        raise Rejected(message, {"rule": rule})

    # -- what the bus tells us -----------------------------------------------------------

    def on_order(self, order: dict[str, Any]) -> None:
        """An order changed state: keep the open ones (they may rest on the book)."""
        if order.get("status") in OPEN_STATUSES:
            self.resting[order["client_order_id"]] = order
        else:
            self.resting.pop(order["client_order_id"], None)

    def on_fill(self, fill: dict[str, Any], ts_ns: int) -> None:
        """A fill: remembered (once per trade id) for the day-trade count."""
        if fill["trade_id"] in self.trade_ids:
            return
        self.trade_ids.add(fill["trade_id"])
        account = fill.get("account") or "paper"
        kept = self.fills.setdefault(account, [])
        kept.append(FillSide(ts_ns, fill["symbol"], fill["side"]))
        horizon = ts_ns - FILL_MEMORY_NS
        if kept[0].ts_ns < horizon:
            self.fills[account] = [f for f in kept if f.ts_ns >= horizon]

    def on_pnl(self, body: dict[str, Any]) -> None:
        """Portfolio's P&L event (or reply): the account's equity and positions."""
        positions = body.get("positions") or []
        self.accounts[body["account"]] = AccountView(
            float(body["equity"]),
            {p["symbol"]: float(p["quantity"]) for p in positions},
            {p["symbol"]: float(p["mark"]) for p in positions},
        )

    def on_quote(self, symbol: str, mid: float) -> None:
        """The last mid of a symbol (values market orders)."""
        self.mids[symbol] = mid


def crosses(side: str, kind: str, limit: float | None, resting: dict[str, Any]) -> bool:
    """True when an order of `side`/`kind`/`limit` would trade against `resting`.

    A resting order without a limit price rests only if it is a market order (which
    crosses anything); a plain stop is not on the book until it triggers.
    """
    rest_kind, rest_limit = resting.get("type"), resting.get("limit_price")
    if rest_kind == "MARKET" or kind == "MARKET":
        return rest_kind == "MARKET" or rest_limit is not None
    if limit is None or rest_limit is None:
        return False
    return limit >= rest_limit if side == "BUY" else limit <= rest_limit
