"""The parity auditor: replay a live strategy through the backtester and diff, event by event.

The replay runs the same strategy class and parameters (the strategy service stored
them when it started the strategy) through the event engine over the bars recorded
while it ran, with the strategy's capital as cash, MARKET orders filling at the next
bar's open (which is when a live order placed at a bar's close meets the market), the
given cost model, and no closing of positions at the end (a live strategy keeps them).

Then each backtest order is paired with the first live order of the same symbol and
side placed within `match_bars` bars of it, and each pair is compared:

- orders: type and size (a size off by more than `size_tolerance`);
- fills: quantity (less filled than the backtest: a partial fill), time (a fill later
  than the backtest's by more than `latency_ms`: latency between signal and fill) and
  price (worse than the backtest's price, which already holds the modelled slippage,
  by more than `tolerance_bps`: slippage beyond the cost model);
- an order on one side only is a signal divergence.

Every divergence names its cause. Partial fills, latency and slippage are read off the
pair itself. A signal or size divergence is put down to, in this order: an earlier
partial fill whose shortfall is still held; a missed bar (a recorded outage in data.gaps
or a hole in the bar times) in the bars leading to it; a restart of the strategy (its
order correlation ids count again from 1 when its runner starts afresh) in that span;
else it is left "unexplained". Missed bars and restarts are also listed on their own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bifrost.audit.parity_sources import RecordedSession
from bifrost.backtest.engine import BacktestConfig, BacktestResult, run_backtest
from bifrost.errors import BadRequest
from bifrost.market.timeframes import timeframe_ns
from bifrost.model.orders import Fill, Order
from bifrost.sim.costs import parse_commission
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.loader import strategy_class

CAUSES = ("latency", "partial fill", "slippage", "missed bar", "restart", "sizing", "unexplained")
"""Every cause a divergence can be put down to."""

_CID_COUNT = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class ParitySettings:
    """The cost model of the replay and how far live may stray before it counts."""

    commission: str = "0"
    slippage_bps: float = 0.0
    latency_ms: float = 5_000.0
    tolerance_bps: float = 5.0
    size_tolerance: float = 0.02
    """Relative size difference allowed (live sizes at the signal's close, the backtest at
    the fill's open)."""
    match_bars: int = 3
    max_hole_bars: int = 5
    """A hole in the bar times of at most this many bars is a missed bar; a longer one
    (or one on a Saturday or Sunday, UTC) is taken as the market being closed."""


@dataclass(frozen=True)
class Divergence:
    """One difference between live and the replay, with its cause."""

    ts: int
    kind: str
    """bar, session, signal, order or fill."""
    cause: str
    symbol: str
    detail: str
    live: dict[str, Any] = field(default_factory=dict)
    backtest: dict[str, Any] = field(default_factory=dict)
    pnl_impact: float = 0.0
    """What the difference cost (negative) or gained live, in account currency, where
    it can be told (slippage, a partial fill's missing quantity at the later move)."""


@dataclass
class ParityReport:
    """The audit of one strategy: the pairs compared, the divergences and the P&L."""

    strategy_id: str
    strategy: str
    params: dict[str, Any]
    symbols: list[str]
    timeframe: str
    start_ns: int
    end_ns: int
    bars: int
    live_orders: int
    backtest_orders: int
    matched_orders: int
    live_fills: int
    backtest_fills: int
    live_pnl: float
    backtest_pnl: float
    divergences: list[Divergence]
    settings: ParitySettings

    @property
    def parity(self) -> bool:
        """True when nothing diverged."""
        return not self.divergences

    def causes(self) -> dict[str, int]:
        """How many divergences each cause accounts for."""
        counts: dict[str, int] = {}
        for divergence in self.divergences:
            counts[divergence.cause] = counts.get(divergence.cause, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """A plain map for JSON."""
        out = asdict(self)
        out["parity"] = self.parity
        out["causes"] = self.causes()
        out["pnl_difference"] = self.live_pnl - self.backtest_pnl
        return out


def bar_arrays(rows: list[dict[str, Any]]) -> BarArrays:
    """Recorded bars (plain maps) as the engine's arrays."""
    return BarArrays(
        np.array([r["ts"] for r in rows], dtype=np.int64),
        *(
            np.array([float(r[k]) for r in rows])
            for k in ("open", "high", "low", "close", "volume")
        ),
    )


def replay(session: RecordedSession, settings: ParitySettings) -> BacktestResult:
    """Run the live strategy's code and parameters over its recorded bars."""
    stored = session.strategy
    missing = [s for s, rows in session.bars.items() if not rows]
    if missing:
        raise BadRequest(
            f"no recorded {stored.timeframe} bars of {', '.join(missing)} "
            f"for {stored.strategy_id} in the range"
        )
    strategy = strategy_class(stored.name, stored.file)(**stored.params)
    config = BacktestConfig(
        cash=stored.capital,
        commission=parse_commission(settings.commission),
        slippage_bps=settings.slippage_bps,
        fill="next-open",
        close_at_end=False,
        timeframe=stored.timeframe,
    )
    return run_backtest(strategy, {s: bar_arrays(r) for s, r in session.bars.items()}, config)


def missed_bars(session: RecordedSession, settings: ParitySettings) -> list[Divergence]:
    """Recorded outages, and holes in each symbol's bar times, as missed-bar divergences."""
    step = timeframe_ns(session.strategy.timeframe)
    found = [
        Divergence(
            int(o["start_ns"]),
            "bar",
            "missed bar",
            o["symbol"],
            f"recorded outage of {o['source']} until {_when(int(o['end_ns']))}: {o['reason']}",
        )
        for o in session.outages
    ]
    for symbol, rows in session.bars.items():
        times = [int(r["ts"]) for r in rows]
        for before, after in itertools.pairwise(times):
            if (after - before) // step - 1 > settings.max_hole_bars:
                continue
            absent = [t for t in range(before + step, after, step) if not _weekend(t)]
            if absent:
                found += [
                    Divergence(t, "bar", "missed bar", symbol, "no bar recorded at this time")
                    for t in absent
                ]
    return found


def restarts(session: RecordedSession) -> list[int]:
    """Times of the first order after each restart of the strategy's runner."""
    out: list[int] = []
    last = 0
    for order in session.orders:
        match = _CID_COUNT.search(order["cid"] or "")
        if match is None:
            continue
        count = int(match.group(1))
        if count <= last:
            out.append(int(order["created_ns"]))
        last = count
    return out


@dataclass
class _LiveOrder:
    row: dict[str, Any]
    fills: list[dict[str, Any]]

    @property
    def created(self) -> int:
        return int(self.row["created_ns"])

    @property
    def filled(self) -> float:
        return float(sum(f["quantity"] for f in self.fills))

    def price(self) -> float:
        quantity = self.filled
        return sum(f["quantity"] * f["price"] for f in self.fills) / quantity if quantity else 0.0

    def last_fill(self) -> int:
        return max((int(f["ts_ns"]) for f in self.fills), default=0)


def audit(session: RecordedSession, settings: ParitySettings | None = None) -> ParityReport:
    """Replay `session` and diff it against what live did."""
    settings = settings or ParitySettings()
    result = replay(session, settings)
    step = timeframe_ns(session.strategy.timeframe)
    by_order: dict[str, list[dict[str, Any]]] = {}
    for fill in session.fills:
        by_order.setdefault(fill["client_order_id"], []).append(fill)
    live = [_LiveOrder(o, by_order.get(o["client_order_id"], [])) for o in session.orders]
    replayed = sorted(
        (o for o in result.orders if o.filled > 0 or o.status.value != "CANCELED"),
        key=lambda o: (o.created_ts, o.client_order_id),
    )
    bt_fills: dict[str, list[Fill]] = {}
    for bt_fill in result.fills:
        bt_fills.setdefault(bt_fill.client_order_id, []).append(bt_fill)

    gaps = missed_bars(session, settings)
    restart_times = restarts(session)
    divergences = list(gaps)
    divergences += [
        Divergence(t, "session", "restart", "", "the strategy's runner started afresh")
        for t in restart_times
    ]
    explainer = _Explainer([g.ts for g in gaps], restart_times, step, settings.match_bars)
    shortfall: dict[str, float] = {}
    used: set[int] = set()
    matched = 0
    for order in replayed:
        partner = _partner(order, live, used, step, settings)
        if partner is None:
            divergences.append(
                Divergence(
                    order.created_ts,
                    "signal",
                    explainer.cause(order.created_ts, shortfall.get(order.symbol, 0.0)),
                    order.symbol,
                    f"the backtest placed a {order.side.value} the live strategy did not",
                    backtest=_order_view(order),
                )
            )
            continue
        used.add(id(partner))
        matched += 1
        divergences += _compare(
            order, bt_fills.get(order.client_order_id, []), partner, settings, explainer, shortfall
        )
    for extra in live:
        if id(extra) not in used:
            divergences.append(
                Divergence(
                    extra.created,
                    "signal",
                    explainer.cause(extra.created, shortfall.get(extra.row["symbol"], 0.0)),
                    extra.row["symbol"],
                    f"the live strategy placed a {extra.row['side']} the backtest did not",
                    live=_live_view(extra),
                )
            )
    divergences.sort(key=lambda d: (d.ts, d.kind))
    return ParityReport(
        session.strategy.strategy_id,
        session.strategy.name,
        session.strategy.params,
        session.strategy.symbols,
        session.strategy.timeframe,
        session.start_ns,
        session.end_ns,
        sum(len(rows) for rows in session.bars.values()),
        len(session.orders),
        len(replayed),
        matched,
        len(session.fills),
        len(result.fills),
        _live_pnl(session),
        float(result.equity[-1]) - session.strategy.capital,
        divergences,
        settings,
    )


class _Explainer:
    """Puts a signal or size divergence down to what happened just before it."""

    def __init__(
        self, gaps: list[int], restart_times: list[int], step_ns: int, match_bars: int
    ) -> None:
        self.gaps = gaps
        self.step = step_ns
        self.span = step_ns * (match_bars + 1)
        self.restarts = restart_times

    def cause(self, ts: int, shortfall: float) -> str:
        if shortfall:
            return "partial fill"
        if any(ts - self.span <= g <= ts for g in self.gaps):
            return "missed bar"
        if any(ts - self.span <= r <= ts + self.span for r in self.restarts):
            return "restart"
        return "unexplained"


def _partner(
    order: Order, live: list[_LiveOrder], used: set[int], step: int, settings: ParitySettings
) -> _LiveOrder | None:
    for candidate in live:
        delay = candidate.created - order.created_ts
        if (
            id(candidate) not in used
            and candidate.row["symbol"] == order.symbol
            and candidate.row["side"] == order.side.value
            and -step <= delay <= step * settings.match_bars
        ):
            return candidate
    return None


def _compare(
    order: Order,
    fills: list[Fill],
    partner: _LiveOrder,
    settings: ParitySettings,
    explainer: _Explainer,
    shortfall: dict[str, float],
) -> list[Divergence]:
    """The divergences of one pair of orders and their fills."""
    out: list[Divergence] = []
    symbol, row = order.symbol, partner.row
    bt_view, live_view = _order_view(order, fills), _live_view(partner)
    if row["type"] != order.type.value:
        out.append(
            Divergence(
                partner.created,
                "order",
                "unexplained",
                symbol,
                f"type {row['type']} live, {order.type.value} in the backtest",
                live_view,
                bt_view,
            )
        )
    late_bars = round((partner.created - order.created_ts) / explainer.step)
    if late_bars:
        # The fill's time and price follow from the shifted signal: one divergence, its cause.
        out.append(
            Divergence(
                partner.created,
                "signal",
                explainer.cause(partner.created, shortfall.get(symbol, 0.0)),
                symbol,
                f"placed {late_bars:+d} bar(s) from the backtest's signal",
                live_view,
                bt_view,
            )
        )
        return out
    bt_quantity = float(sum(f.quantity for f in fills))
    live_ordered = float(row["quantity"])
    held_short = shortfall.get(symbol, 0.0)
    if bt_quantity and abs(live_ordered - bt_quantity) > settings.size_tolerance * bt_quantity:
        cause = "partial fill" if held_short else "sizing"
        out.append(
            Divergence(
                partner.created,
                "order",
                cause,
                symbol,
                f"size {live_ordered:g} live, {bt_quantity:g} in the backtest",
                live_view,
                bt_view,
            )
        )
    if not fills:
        return out
    bt_price = sum(f.quantity * f.price for f in fills) / bt_quantity
    bt_ts = max(f.ts for f in fills)
    live_filled = partner.filled
    if live_filled < live_ordered - 1e-9:
        out.append(
            Divergence(
                partner.last_fill() or partner.created,
                "fill",
                "partial fill",
                symbol,
                f"filled {live_filled:g} of {live_ordered:g} (status {row['status']})",
                live_view,
                bt_view,
            )
        )
    # What live holds less (or more) than the backtest after this pair; an exit that
    # then sells what is held differs in size because of it.
    sign = 1.0 if order.side.value == "BUY" else -1.0
    shortfall[symbol] = held_short + sign * (bt_quantity - live_filled)
    if abs(shortfall[symbol]) < 1e-9:
        shortfall[symbol] = 0.0
    if not partner.fills:
        return out
    delay_ms = (partner.last_fill() - bt_ts) / 1e6
    signal_to_fill_s = (partner.last_fill() - order.created_ts) / 1e9
    if delay_ms > settings.latency_ms:
        out.append(
            Divergence(
                partner.last_fill(),
                "fill",
                "latency",
                symbol,
                f"filled {delay_ms / 1000:g} s after the backtest's fill "
                f"(signal to fill {signal_to_fill_s:g} s)",
                live_view,
                bt_view,
            )
        )
    live_price = partner.price()
    adverse_bps = sign * (live_price - bt_price) / bt_price * 1e4
    if adverse_bps > settings.tolerance_bps:
        out.append(
            Divergence(
                partner.last_fill(),
                "fill",
                "slippage",
                symbol,
                f"price {live_price:g} live, {bt_price:g} in the backtest "
                f"({adverse_bps:.1f} bps worse, beyond the cost model)",
                live_view,
                bt_view,
                pnl_impact=-sign * (live_price - bt_price) * live_filled,
            )
        )
    return out


def _order_view(order: Order, fills: list[Fill] | None = None) -> dict[str, Any]:
    fills = fills or []
    quantity = sum(f.quantity for f in fills)
    return {
        "ts": order.created_ts,
        "side": order.side.value,
        "type": order.type.value,
        "quantity": quantity or order.quantity,
        "fill_ts": max((f.ts for f in fills), default=None),
        "fill_price": (sum(f.quantity * f.price for f in fills) / quantity) if quantity else None,
    }


def _live_view(order: _LiveOrder) -> dict[str, Any]:
    return {
        "ts": order.created,
        "side": order.row["side"],
        "type": order.row["type"],
        "quantity": float(order.row["quantity"]),
        "filled": order.filled,
        "status": order.row["status"],
        "fill_ts": order.last_fill() or None,
        "fill_price": order.price() or None,
    }


def _live_pnl(session: RecordedSession) -> float:
    """Live P&L as the runner counts it: cash flow of the fills plus what is held at the
    last recorded closes."""
    cash = 0.0
    held: dict[str, float] = {}
    for fill in session.fills:
        signed = fill["quantity"] if fill["side"] == "BUY" else -fill["quantity"]
        held[fill["symbol"]] = held.get(fill["symbol"], 0.0) + signed
        cash -= signed * fill["price"] + fill["commission"]
    marks = {s: float(rows[-1]["close"]) for s, rows in session.bars.items() if rows}
    return cash + sum(q * marks.get(s, 0.0) for s, q in held.items())


def _weekend(ts_ns: int) -> bool:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, dt.UTC).weekday() >= 5


def _when(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
