"""The `[portfolio]` config section: the paper account the portfolio service books into."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    """The paper account the portfolio service books fills into."""

    account: str = "paper"
    base_currency: str = "USD"
    starting_cash: float = 100_000.0
    """Deposited once, when the ledger is empty."""
    snapshot_seconds: float = 60.0

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return asdict(self)
