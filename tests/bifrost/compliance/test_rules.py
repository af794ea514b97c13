"""Compliance rules from the config and at run time: typed values, clear errors, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.compliance.config import ComplianceConfig
from bifrost.compliance.rules import (
    describe,
    load_overrides,
    parse_rule,
    rules_dict,
    save_override,
    with_rule,
)
from bifrost.config import ConfigError, load_config
from bifrost.errors import BadRequest
from bifrost.store.database import open_store
from bifrost.store.schema import COMPLIANCE
from tests.conftest import write_config


def test_parse_rule_types_text_like_the_config_field() -> None:
    assert parse_rule("restricted", "NVDA, BTC-USD,") == ("NVDA", "BTC-USD")
    assert parse_rule("watch", ["SPY"]) == ("SPY",)
    assert parse_rule("max_orders_per_day", "5") == 5
    assert parse_rule("wash_trade_prevention", "off") is False
    assert parse_rule("market_hours_only", True) is True
    assert parse_rule("max_concentration_pct", "12.5") == 12.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("no_such_rule", "1", "no compliance rule 'no_such_rule'"),
        ("max_orders_per_day", "lots", "is not a number"),
        ("max_orders_per_day", "2.5", "must be a whole number"),
        ("pdt_equity_threshold", "-1", "must not be negative"),
        ("max_concentration_pct", "nan", "not a finite number"),
        ("market_hours_only", "maybe", "must be true or false"),
        ("restricted", 7, "takes a list of symbols"),
        ("restricted", "A B", "'A B' is not a symbol"),
        ("max_orders_per_day", True, "must be a number"),
    ],
)
def test_parse_rule_refuses_bad_values_naming_them(name: str, value: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_rule(name, value)


def test_overrides_are_kept_and_win_over_the_config(tmp_path: Path) -> None:
    db = open_store(tmp_path / "compliance.duckdb", migrations=COMPLIANCE)
    try:
        save_override(db, "restricted", ("NVDA",))
        save_override(db, "max_orders_per_day", 4)
        shown = describe(ComplianceConfig(restricted=("AAPL",)), load_overrides(db))
    finally:
        db.close()
    assert shown["rules"]["restricted"] == ["NVDA"]
    assert shown["rules"]["max_orders_per_day"] == 4
    assert shown["changed"] == ["max_orders_per_day", "restricted"]


def test_with_rule_changes_one_rule_only() -> None:
    changed = rules_dict(with_rule(ComplianceConfig(), "watch", "SPY"))
    assert changed == {**rules_dict(ComplianceConfig()), "watch": ["SPY"]}


def test_config_reads_the_compliance_section(tmp_path: Path) -> None:
    extra = '[compliance]\nrestricted = ["BTC-USD"]\nmarket_hours_only = true\n'
    config = load_config(write_config(tmp_path, extra=extra))
    assert config.compliance.restricted == ("BTC-USD",)
    assert config.compliance.market_hours_only is True
    assert config.to_dict()["compliance"]["restricted"] == ["BTC-USD"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("bogus = 1", "unknown key 'bogus'"),
        ('market_hours_only = "yes"', "key 'market_hours_only' must be bool"),
        ("max_orders_per_day = -2", "key 'max_orders_per_day' must not be negative"),
        ('restricted = ["", "X"]', "restricted must be a list of symbols"),
    ],
)
def test_config_refuses_a_bad_compliance_section(
    tmp_path: Path, section: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, extra=f"[compliance]\n{section}\n"))
