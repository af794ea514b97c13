"""The `[compliance]` config section: the rules the compliance service starts with."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bifrost.errors import BadRequest


@dataclass(frozen=True, slots=True)
class ComplianceConfig:
    """Compliance rules the compliance service starts with (an admin may change them)."""

    restricted: tuple[str, ...] = ()
    """Symbols no order may trade (rule `restricted`)."""
    watch: tuple[str, ...] = ()
    """Symbols whose orders pass but are recorded as hits and raise `alert.compliance`."""
    max_orders_per_day: int = 0
    """Orders a UTC day per symbol; 0 means no limit."""
    wash_trade_prevention: bool = True
    """Refuse an order that would cross a resting order of its own account and strategy."""
    pdt_max_day_trades: int = 3
    """Day trades allowed in 5 rolling business days while equity is under the threshold
    (the pattern-day-trader rule); 0 turns the rule off."""
    pdt_equity_threshold: float = 25_000.0
    market_hours_only: bool = False
    """Orders only while the instrument's exchange is open (24/7 calendars always are)."""
    max_concentration_pct: float = 0.0
    """Largest position value after an order, in % of equity; 0 means no limit."""

    @classmethod
    def from_table(cls, values: dict[str, Any]) -> ComplianceConfig:
        """The config of a `[compliance]` table whose keys and value types are already
        checked; BadRequest names the value that makes no sense."""
        values = dict(values)
        for key in ("restricted", "watch"):
            if key in values:
                if not all(isinstance(s, str) and s.strip() for s in values[key]):
                    raise BadRequest(f"{key} must be a list of symbols")
                values[key] = tuple(s.strip() for s in values[key])
        for key, value in values.items():
            if type(value) in (int, float) and value < 0:  # bool is an int, but never negative
                raise BadRequest(f"key '{key}' must not be negative")
        for f in fields(cls):
            if str(f.type) == "float" and f.name in values:
                values[f.name] = float(values[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view."""
        return {**asdict(self), "restricted": list(self.restricted), "watch": list(self.watch)}
