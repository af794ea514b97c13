"""The `[risk]` config section: the pre-trade limits the risk service starts with."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Pre-trade limits the risk service starts with (changeable at run time)."""

    max_order_quantity: float = 10_000.0
    max_order_notional: float = 1_000_000.0
    max_position: float = 50_000.0
    """Largest absolute quantity held in one symbol."""
    max_gross_exposure: float = 5_000_000.0
    max_net_exposure: float = 2_500_000.0
    max_open_orders: int = 200
    price_collar_pct: float = 5.0
    """A limit or stop price must be within this % of the last quote's mid."""
    max_orders_per_second: float = 100.0
    """Per strategy (or account for manual orders)."""
    restricted_symbols: tuple[str, ...] = ()
    daily_loss_limit: float = 10_000.0
    """Loss (in the base currency) since the start of the UTC day that halts trading."""

    @classmethod
    def from_table(cls, values: dict[str, Any]) -> RiskConfig:
        """The config of a `[risk]` table whose keys and value types are already checked."""
        return cls(**{**values, "restricted_symbols": tuple(values.get("restricted_symbols", ()))})

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return {**asdict(self), "restricted_symbols": list(self.restricted_symbols)}
