"""How each microstructure metric reads as text, in the order the CLI and the TUI show them."""

from __future__ import annotations

from typing import Any, NamedTuple


class MetricLabel(NamedTuple):
    """One metric's key in a metrics document, its label, its format and a shorter label."""

    key: str
    label: str
    pattern: str
    short: str = ""
    """The label where space is tight (the TUI's panel); empty when it is `label` itself."""


METRIC_LABELS = (
    MetricLabel("best_bid", "best bid", "{:,.2f}"),
    MetricLabel("best_ask", "best ask", "{:,.2f}"),
    MetricLabel("spread", "spread", "{:,.4f}"),
    MetricLabel("spread_bps", "spread (bps)", "{:.2f}"),
    MetricLabel("microprice", "microprice", "{:,.4f}"),
    MetricLabel("bid_depth", "bid depth", "{:,.2f}"),
    MetricLabel("ask_depth", "ask depth", "{:,.2f}"),
    MetricLabel("imbalance", "book imbalance", "{:+.3f}"),
    MetricLabel("top_imbalance", "touch imbalance", "{:+.3f}"),
    MetricLabel("realized_vol", "realized vol (window)", "{:.6f}", "realized vol"),
    MetricLabel("trade_sign_autocorr", "trade-sign autocorr", "{:+.3f}"),
    MetricLabel("kyle_lambda", "Kyle's lambda", "{:.3e}"),
    MetricLabel("amihud", "Amihud illiquidity", "{:.3e}", "Amihud"),
    MetricLabel("vpin", "VPIN", "{:.3f}"),
    MetricLabel("quotes", "quotes in window", "{:,}"),
    MetricLabel("trades", "trades in window", "{:,}"),
)


def metric_text(value: Any, pattern: str) -> str:
    """A metric as text ('-' when it could not be measured)."""
    return "-" if value is None else pattern.format(value)
