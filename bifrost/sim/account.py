"""A simulated account: cash, positions, and the round-trip trades its fills make.

A trade runs from flat to flat: it opens with the fill that leaves a flat position,
and closes with the fill that brings it back to zero (a fill that flips the position
closes one trade and opens the next with the rest). Its pnl is everything realized
over that life, net of every commission paid on its fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bifrost.model.orders import Fill
from bifrost.sim.costs import CommissionModel


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed round trip."""

    symbol: str
    entry_ts: int
    exit_ts: int
    size: float
    """Largest absolute position held during the trade (negative sizes are shorts)."""
    direction: int
    entry_price: float
    exit_price: float
    pnl: float
    commission: float

    @property
    def return_pct(self) -> float:
        """pnl as a fraction of the money the entry put at work."""
        cost = abs(self.size) * self.entry_price
        return self.pnl / cost if cost else 0.0


@dataclass(slots=True)
class _OpenTrade:
    entry_ts: int
    direction: int
    quantity: float = 0.0  # absolute size now
    peak: float = 0.0
    entry_value: float = 0.0  # sum of entry fill notionals
    entry_quantity: float = 0.0
    exit_value: float = 0.0
    exit_quantity: float = 0.0
    commission: float = 0.0


@dataclass
class SimAccount:
    """Cash and positions of one simulated account."""

    cash: float
    commission_model: CommissionModel
    positions: dict[str, float] = field(default_factory=dict)
    trades: list[TradeRecord] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    _open: dict[str, _OpenTrade] = field(default_factory=dict)

    def position(self, symbol: str) -> float:
        """Signed quantity held (negative for a short)."""
        return self.positions.get(symbol, 0.0)

    def equity(self, marks: dict[str, float]) -> float:
        """Cash plus every position marked at `marks`."""
        return self.cash + sum(q * marks[s] for s, q in self.positions.items() if q)

    def affordable(self, price: float, fraction: float, lot: float) -> float:
        """Whole lots that `fraction` of the cash buys at `price`, commission included."""
        if self.cash <= 0 or price <= 0:
            return 0.0
        return self.commission_model.max_quantity(self.cash * fraction, price, lot)

    def apply(self, fill: Fill) -> None:
        """Book a fill: cash, position and the open trade."""
        signed = fill.signed_quantity
        self.cash -= signed * fill.price + fill.commission
        before = self.position(fill.symbol)
        after = before + signed
        self.positions[fill.symbol] = 0.0 if abs(after) < 1e-12 else after
        self.fills.append(fill)
        self._track(fill, before, self.positions[fill.symbol])

    def _track(self, fill: Fill, before: float, after: float) -> None:
        quantity = abs(fill.quantity)
        trade = self._open.get(fill.symbol)
        if trade is None or before == 0:
            trade = self._open[fill.symbol] = _OpenTrade(fill.ts, 1 if after > 0 else -1)
        opening = (fill.signed_quantity > 0) == (trade.direction > 0)
        closing_part = 0.0 if opening else min(quantity, abs(before))
        opening_part = quantity - closing_part
        share = fill.commission / quantity if quantity else 0.0
        if closing_part:
            trade.exit_value += closing_part * fill.price
            trade.exit_quantity += closing_part
            trade.commission += share * closing_part
            trade.quantity -= closing_part
        if trade.quantity <= 1e-12 and closing_part:
            self._close(fill.symbol, trade, fill.ts)
            if opening_part:  # flipped: the rest opens a new trade the other way
                trade = self._open[fill.symbol] = _OpenTrade(fill.ts, 1 if after > 0 else -1)
        if opening_part:
            trade.entry_value += opening_part * fill.price
            trade.entry_quantity += opening_part
            trade.commission += share * opening_part
            trade.quantity += opening_part
            trade.peak = max(trade.peak, trade.quantity)

    def _close(self, symbol: str, trade: _OpenTrade, ts: int) -> None:
        entry = trade.entry_value / trade.entry_quantity
        exit_ = trade.exit_value / trade.exit_quantity
        gross = (trade.exit_value - entry * trade.exit_quantity) * trade.direction
        self.trades.append(
            TradeRecord(
                symbol,
                trade.entry_ts,
                ts,
                trade.peak * trade.direction,
                trade.direction,
                entry,
                exit_,
                gross - trade.commission,
                trade.commission,
            )
        )
        del self._open[symbol]
