"""Rules a strategy's parameter values must keep, declared beside the parameters.

A strategy lists them in its `constraints` class attribute:

    class SmaCross(Strategy):
        fast: int = 10
        slow: int = 30
        constraints = (at_least("fast", 1), at_least("slow", 1), less_than("fast", "slow"))

`Strategy(**params)` refuses values that break one with `InvalidParameter` naming the
parameter and the rule (`bifrost backtest run` exits 2, the RPC answers BAD_REQUEST);
sweeps and walk-forwards skip such grid points and count them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Params = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Constraint:
    """One rule over the parameter values, named by the parameter it is about."""

    parameter: str
    """The parameter a refusal names (the first one the rule reads)."""
    rule: str
    """The rule as a user reads it: `fast < slow`, `period >= 1`."""
    holds: Callable[[Params], bool]

    def broken_by(self, params: Params) -> str | None:
        """The refusal message when `params` break this rule, else None."""
        try:
            if self.holds(params):
                return None
        except (TypeError, ValueError, KeyError):
            pass  # a value the rule cannot compare breaks it too
        others = [name for name in _names(self.rule) if name != self.parameter and name in params]
        shown = ", ".join(f"{name}={params[name]!r}" for name in others)
        given = f"{self.parameter}={params.get(self.parameter)!r}"
        return f"parameter {given} breaks {self.rule}" + (f" ({shown})" if shown else "")


def _names(rule: str) -> list[str]:
    words = rule.replace("<", " ").replace(">", " ").replace("=", " ").split()
    return [word for word in words if word.isidentifier()]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def at_least(name: str, low: float) -> Constraint:
    """`name >= low`."""
    return Constraint(name, f"{name} >= {low:g}", lambda p: _finite(p[name]) and p[name] >= low)


def greater_than(name: str, low: float) -> Constraint:
    """`name > low`."""
    return Constraint(name, f"{name} > {low:g}", lambda p: _finite(p[name]) and p[name] > low)


def between(name: str, low: float, high: float) -> Constraint:
    """`low <= name <= high`."""
    return Constraint(
        name,
        f"{low:g} <= {name} <= {high:g}",
        lambda p: _finite(p[name]) and low <= p[name] <= high,
    )


def less_than(name: str, other: str) -> Constraint:
    """`name < other` (e.g. a fast window shorter than the slow one)."""
    return Constraint(name, f"{name} < {other}", lambda p: p[name] < p[other])


def first_broken(
    constraints: tuple[Constraint, ...], params: Params
) -> tuple[Constraint, str] | None:
    """The first rule `params` break, with its message; None when they keep every one."""
    for constraint in constraints:
        message = constraint.broken_by(params)
        if message is not None:
            return constraint, message
    return None
