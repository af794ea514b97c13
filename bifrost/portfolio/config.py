"""The `[portfolio]` config section: the paper account the portfolio service books into."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    """The paper account the portfolio service books fills into."""

    account: str = "paper"
    base_currency: str = "USD"
    starting_cash: float = 100_000.0
    """Deposited once, when the ledger is empty."""
    snapshot_seconds: float = 60.0
    rates: dict[str, float] = field(default_factory=dict)
    """Fixed rates to the base currency by currency (`USDT = 1.0` for a USD book that
    trades USDT pairs); a live `CUR-BASE` quote replaces one as it comes."""

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return asdict(self)
