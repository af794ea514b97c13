"""Transaction cost analysis of live and paper fills against recorded quotes.

For a fill of q at price p on side s (+1 buy, -1 sell) of an order submitted at t0:

    arrival mid A    mid of the last recorded quote at or before t0 (the order journal
                     keeps no quote, so data.duckdb's recorded quotes are the reference)
    fill mid M       mid of the last recorded quote at or before the fill
    shortfall        s * (p - A) * q,  in bps  s * (p - A) / A * 10 000
    slippage         s * (p - M) * q,  in bps  s * (p - M) / M * 10 000
    fees             the fill's commission,    in bps  c / (q * p) * 10 000

A quote older than `STALE_NS` before its instant is no reference (the value is None).
Totals weight by notional: shortfall bps = sum(shortfall) / sum(q * A) * 10 000 over the
fills that have A (slippage likewise with M, fees over every fill); total cost bps is
shortfall bps + fees bps. Positive numbers are costs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

STALE_NS = 60 * 1_000_000_000
"""A quote more than a minute older than the instant it prices is not used."""
BPS = 10_000.0


class QuoteBook:
    """Recorded mids per symbol, asked for the last one at or before an instant."""

    def __init__(self) -> None:
        self._series: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, symbol: str, ts: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> None:
        """Quotes of one symbol (any order; merged with what the book has)."""
        old_ts, old_mid = self._series.get(symbol, (np.empty(0, np.int64), np.empty(0)))
        all_ts = np.concatenate([old_ts, np.asarray(ts, dtype=np.int64)])
        mids = (np.asarray(bid, dtype=np.float64) + np.asarray(ask, dtype=np.float64)) / 2
        all_mid = np.concatenate([old_mid, mids])
        order = np.argsort(all_ts, kind="stable")
        self._series[symbol] = (all_ts[order], all_mid[order])

    def mid_at(self, symbol: str, ts: int) -> float | None:
        """Mid of the last quote at or before `ts`, unless older than STALE_NS (or none)."""
        series = self._series.get(symbol)
        if series is None:
            return None
        times, mids = series
        i = int(np.searchsorted(times, ts, side="right")) - 1
        if i < 0 or ts - int(times[i]) > STALE_NS:
            return None
        return float(mids[i])


def fill_costs(fill: dict[str, Any], submitted_ns: int | None, quotes: QuoteBook) -> dict[str, Any]:
    """One fill's arrival and fill mids and its costs in money and bps."""
    sign = 1.0 if fill["side"] == "BUY" else -1.0
    qty, price, fee = float(fill["quantity"]), float(fill["price"]), float(fill["commission"])
    arrival = None if submitted_ns is None else quotes.mid_at(fill["symbol"], submitted_ns)
    at_fill = quotes.mid_at(fill["symbol"], int(fill["ts_ns"]))
    notional = qty * price
    return {
        "trade_id": fill["trade_id"],
        "client_order_id": fill["client_order_id"],
        "strategy": fill["strategy_id"] or "manual",
        "symbol": fill["symbol"],
        "side": fill["side"],
        "quantity": qty,
        "price": price,
        "ts_ns": int(fill["ts_ns"]),
        "submitted_ns": submitted_ns,
        "arrival_mid": arrival,
        "fill_mid": at_fill,
        "notional": notional,
        "shortfall": None if arrival is None else sign * (price - arrival) * qty,
        "shortfall_bps": None if arrival is None else sign * (price - arrival) / arrival * BPS,
        "slippage": None if at_fill is None else sign * (price - at_fill) * qty,
        "slippage_bps": None if at_fill is None else sign * (price - at_fill) / at_fill * BPS,
        "fees": fee,
        "fees_bps": fee / notional * BPS if notional else None,
    }


def summarize(costs: list[dict[str, Any]]) -> dict[str, Any]:
    """Notional-weighted totals of per-fill costs (see the module doc)."""
    with_arrival = [c for c in costs if c["arrival_mid"] is not None]
    with_mid = [c for c in costs if c["fill_mid"] is not None]
    shortfall = sum(c["shortfall"] for c in with_arrival)
    slippage = sum(c["slippage"] for c in with_mid)
    fees = sum(c["fees"] for c in costs)
    notional = sum(c["notional"] for c in costs)
    arrival_notional = sum(c["quantity"] * c["arrival_mid"] for c in with_arrival)
    mid_notional = sum(c["quantity"] * c["fill_mid"] for c in with_mid)
    shortfall_bps = shortfall / arrival_notional * BPS if arrival_notional else None
    fees_bps = fees / notional * BPS if notional else None
    return {
        "fills": len(costs),
        "fills_with_arrival": len(with_arrival),
        "notional": notional,
        "shortfall": shortfall,
        "shortfall_bps": shortfall_bps,
        "slippage": slippage,
        "slippage_bps": slippage / mid_notional * BPS if mid_notional else None,
        "fees": fees,
        "fees_bps": fees_bps,
        "total_cost_bps": None if shortfall_bps is None else shortfall_bps + (fees_bps or 0.0),
    }


def transaction_costs(
    fills: list[dict[str, Any]], submitted: dict[str, int], quotes: QuoteBook
) -> dict[str, Any]:
    """Per-fill costs, the totals, and the totals by symbol and by strategy.

    `submitted` maps client order ids to the instant each order was entered.
    """
    costs = [fill_costs(f, submitted.get(f["client_order_id"]), quotes) for f in fills]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for by in ("symbol", "strategy"):
        groups: dict[str, list[dict[str, Any]]] = {}
        for cost in costs:
            groups.setdefault(cost[by], []).append(cost)
        grouped[f"by_{by}"] = [{by: k, **summarize(v)} for k, v in sorted(groups.items())]
    return {"summary": summarize(costs), **grouped, "fills": costs}
