"""`bifrost compliance ...` and the order CLI against real daemons and the store file.

A restricted order exits 4 naming the rule; with the daemons stopped, `verify` walks
the file read-only, and after one audit row is changed with duckdb it exits 1 naming
that record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import duckdb

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

SERVICES = ("data", "portfolio", "execution", "risk", "compliance")
RULES = '[compliance]\nrestricted = ["BTC-USD"]\n'


def test_restricted_order_exits_4_and_tampering_is_named_by_verify(
    tmp_path: Path, home: Path
) -> None:
    config_path = write_config(tmp_path, services=SERVICES, extra=RULES)
    with services_running(load_config(config_path), home, SERVICES):
        time.sleep(0.3)
        rejected = bifrost(config_path, home, "order", "buy", "BTC-USD", "1", "--json")
        assert rejected.returncode == 4, rejected.stderr
        error = json.loads(rejected.stdout)["error"]
        assert (error["code"], error["details"]["rule"]) == ("REJECTED", "restricted")
        changed = bifrost(config_path, home, "compliance", "set", "watch", "AAPL,SPY", "--json")
        assert json.loads(changed.stdout)["rules"]["watch"] == ["AAPL", "SPY"], changed.stderr

    rules = bifrost(config_path, home, "compliance", "rules", "--json")  # offline now
    assert json.loads(rules.stdout)["changed"] == ["watch"], rules.stderr
    intact = bifrost(config_path, home, "compliance", "verify", "--json")
    assert intact.returncode == 0, intact.stderr
    assert json.loads(intact.stdout)["ok"] is True

    db = duckdb.connect(str(home / "compliance.duckdb"))
    try:
        db.execute("""UPDATE audit SET body = '{"forged":true}' WHERE record_id = 2""")
    finally:
        db.close()
    broken = bifrost(config_path, home, "compliance", "verify", "--json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)
    assert report["ok"] is False and report["broken"]["record_id"] == 2
    assert "content does not match its hash" in report["broken"]["problem"]
    shown = bifrost(config_path, home, "compliance", "verify")
    assert shown.returncode == 1 and "BROKEN at record 2" in shown.stderr


def test_report_with_a_bad_date_is_a_usage_error(tmp_path: Path, home: Path) -> None:
    config_path = write_config(tmp_path, services=SERVICES)
    result = bifrost(config_path, home, "compliance", "report", "--date", "31/01/2024")
    assert result.returncode == 2
    assert "is not a date" in result.stderr
