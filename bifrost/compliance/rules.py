"""The compliance rules as data: typed parsing of a new value, and the admin's overrides.

Rules start from the config's `[compliance]` section; an admin changes one at run
time (`compliance.set_rule`), and the change is kept in the `rules` table of
compliance.duckdb so it outlives a restart. A stored value wins over the config's.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, fields, replace
from typing import Any

import duckdb

from bifrost.compliance.config import ComplianceConfig
from bifrost.errors import BadRequest

RULE_NAMES = tuple(f.name for f in fields(ComplianceConfig))
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_rule(name: str, value: Any) -> Any:
    """A rule value from text or JSON, typed like the ComplianceConfig field `name`."""
    kinds = {f.name: str(f.type) for f in fields(ComplianceConfig)}
    if name not in kinds:
        raise BadRequest(f"no compliance rule '{name}' (rules: {', '.join(RULE_NAMES)})")
    kind = kinds[name]
    if "tuple" in kind:
        return _symbols(name, value)
    if kind == "bool":
        return _flag(name, value)
    if isinstance(value, bool):
        raise BadRequest(f"compliance rule {name}={value!r} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRequest(f"compliance rule {name}={value!r} is not a number") from None
    if not math.isfinite(number):
        raise BadRequest(f"compliance rule {name}={value!r} is not a finite number")
    if number < 0:
        raise BadRequest(f"compliance rule {name} must not be negative (0 turns it off)")
    if kind == "int":
        if not number.is_integer():
            raise BadRequest(f"compliance rule {name}={value!r} must be a whole number")
        return int(number)
    return number


def _symbols(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        items = list(value)
    elif isinstance(value, str):
        items = value.split(",")
    else:
        raise BadRequest(f"compliance rule {name} takes a list of symbols (A,B,C)")
    if not all(isinstance(item, str) for item in items):
        raise BadRequest(f"compliance rule {name} takes a list of symbols (A,B,C)")
    symbols = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    for symbol in symbols:
        if len(symbol) > 32 or any(c.isspace() for c in symbol):
            raise BadRequest(f"compliance rule {name}: '{symbol}' is not a symbol")
    return symbols


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f"compliance rule {name}={value!r} must be true or false")


def with_rule(rules: ComplianceConfig, name: str, value: Any) -> ComplianceConfig:
    """The rules with one changed (checked and typed)."""
    return replace(rules, **{name: parse_rule(name, value)})


def rules_dict(rules: ComplianceConfig) -> dict[str, Any]:
    """The rules as plain JSON-ready data (lists, not tuples)."""
    out = asdict(rules)
    out["restricted"] = list(rules.restricted)
    out["watch"] = list(rules.watch)
    return out


def load_overrides(db: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rules an admin changed, as stored (name -> JSON value)."""
    rows = db.execute("SELECT name, value FROM rules ORDER BY name").fetchall()
    return {name: json.loads(value) for name, value in rows}


def save_override(db: duckdb.DuckDBPyConnection, name: str, value: Any) -> None:
    """Keep one changed rule."""
    plain = list(value) if isinstance(value, tuple) else value
    db.execute("INSERT OR REPLACE INTO rules VALUES (?, ?)", [name, json.dumps(plain)])


def effective_rules(configured: ComplianceConfig, overrides: dict[str, Any]) -> ComplianceConfig:
    """The config's rules with the stored overrides applied (a stale name is skipped)."""
    rules = configured
    for name, value in overrides.items():
        if name in RULE_NAMES:
            rules = with_rule(rules, name, value)
    return rules


def describe(configured: ComplianceConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """The rules in force, and which of them an admin changed from the config."""
    return {
        "rules": rules_dict(effective_rules(configured, overrides)),
        "changed": sorted(name for name in overrides if name in RULE_NAMES),
    }
