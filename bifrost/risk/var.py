"""Value at risk and expected shortfall of a portfolio, from historical daily returns.

Scenario P&L: for each past day t, sum over positions of quantity * price * r_t
(the symbol's simple close-to-close return that day), over the days all symbols
share. Historical VaR at confidence c is the loss at the (1 - c) quantile of the
scenarios; CVaR is the mean loss beyond it. Parametric VaR assumes normal P&L with
the scenarios' mean mu and std sigma: VaR = -(mu + z sigma) and
CVaR = -(mu - sigma pdf(z) / (1 - c)), z the (1 - c) quantile of the standard
normal. Losses are positive numbers.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from bifrost.errors import BadRequest


def scenario_pnl(
    positions: dict[str, float], prices: dict[str, float], closes: dict[str, np.ndarray]
) -> np.ndarray:
    """P&L of today's positions under each past day's returns (aligned on the last days)."""
    held = {s: q for s, q in positions.items() if q}
    if not held:
        raise BadRequest("no open positions: nothing is at risk")
    missing = [s for s in held if s not in closes or len(closes[s]) < 3]
    if missing:
        raise BadRequest(f"not enough stored daily bars for {', '.join(missing)}")
    returns = {s: np.diff(closes[s]) / closes[s][:-1] for s in held}
    days = min(len(r) for r in returns.values())
    return sum(held[s] * prices[s] * returns[s][-days:] for s in held)  # type: ignore[return-value]


def value_at_risk(pnl: np.ndarray, confidence: float = 0.99) -> dict[str, Any]:
    """Historical and parametric VaR and CVaR of scenario P&L."""
    if not 0.5 < confidence < 1:
        raise BadRequest("confidence must be between 0.5 and 1 (e.g. 0.99)")
    if len(pnl) < 20:
        raise BadRequest(f"{len(pnl)} scenarios are too few for a VaR (need 20)")
    cutoff = np.quantile(pnl, 1 - confidence)
    tail = pnl[pnl <= cutoff]
    mu, sigma = float(np.mean(pnl)), float(np.std(pnl, ddof=1))
    normal = NormalDist()
    z = normal.inv_cdf(1 - confidence)
    return {
        "confidence": confidence,
        "scenarios": len(pnl),
        "historical_var": float(-cutoff),
        "historical_cvar": float(-np.mean(tail)),
        "parametric_var": -(mu + z * sigma),
        "parametric_cvar": -(mu - sigma * normal.pdf(z) / (1 - confidence)),
    }
