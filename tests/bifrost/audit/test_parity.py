"""The parity auditor over paper sessions written with the stores' own code in a tmp home."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from bifrost.audit.parity import ParityReport, ParitySettings, audit, restarts
from bifrost.audit.parity_report import render_html
from bifrost.audit.parity_sources import load_session
from bifrost.backtest.engine import BacktestConfig, run_backtest
from bifrost.errors import Unavailable
from bifrost.model.orders import Fill, Order, OrderStatus
from bifrost.sql.console import SqlConsole
from bifrost.store.bars import upsert_bar_rows
from bifrost.store.database import open_store
from bifrost.store.live_strategies import StoredStrategy, add_running
from bifrost.store.orders import OrderJournal, fill_row, order_row
from bifrost.store.schema import EXECUTION, STRATEGY
from bifrost.strategy.builtin.sma_cross import SmaCross
from tests.cli.test_stack import bifrost
from tests.conftest import write_config

MINUTE = 60 * 10**9
START = 1_764_583_200 * 10**9  # Monday 2025-12-01 10:00 UTC
STRATEGY_ID = "sma_cross-abc123"
CAPITAL = 10_000.0


def minute_bars(count: int = 240) -> list[dict]:
    """One-minute bars of a slow wave, so the averages cross a few times."""
    rows = []
    for k in range(count):
        close = 100.0 + 5.0 * math.sin(k / 12.0) + 0.01 * k
        rows.append(
            {
                "symbol": "SPY",
                "timeframe": "1m",
                "ts": START + k * MINUTE,
                "open": close - 0.05,
                "high": close + 0.2,
                "low": close - 0.2,
                "close": close,
                "volume": 1_000.0,
            }
        )
    return rows


def paper_session(bars: list[dict]) -> tuple[list[Order], list[Fill]]:
    """What a paper session of sma_cross(5, 20) on `bars` did: its orders and fills."""
    from bifrost.audit.parity import bar_arrays

    config = BacktestConfig(cash=CAPITAL, close_at_end=False, timeframe="1m")
    result = run_backtest(SmaCross(fast=5, slow=20), {"SPY": bar_arrays(bars)}, config)
    orders = [o for o in result.orders if o.filled > 0]
    for order in orders:
        order.strategy_id = STRATEGY_ID
    fills = [replace(f, strategy_id=STRATEGY_ID) for f in result.fills]
    return orders, fills


def write_home(home: Path, bars: list[dict], orders: list[Order], fills: list[Fill]) -> None:
    """The strategy, data and execution stores as the services leave them."""
    strategy_db = open_store(home / "strategy.duckdb", migrations=STRATEGY)
    stored = StoredStrategy(
        STRATEGY_ID,
        "sma_cross",
        None,
        ["SPY"],
        "1m",
        {"fast": 5, "slow": 20, "allow_short": False},
        CAPITAL,
    )
    add_running(strategy_db, stored, START)
    strategy_db.close()
    data_db = open_store(home / "data.duckdb")
    upsert_bar_rows(data_db, bars)
    data_db.close()
    execution_db = open_store(home / "execution.duckdb", migrations=EXECUTION)
    journal = OrderJournal(execution_db, home / "execution.log")
    order_rows = [order_row(o, f"{STRATEGY_ID}-{n}", o.created_ts) for n, o in enumerate(orders, 1)]
    journal.commit(order_rows, [fill_row(f, "default", "fill") for f in fills])
    journal.close()
    execution_db.close()


def run_audit(home: Path) -> ParityReport:
    session = load_session(SqlConsole(home, None), STRATEGY_ID)
    return audit(session, ParitySettings())


@pytest.mark.timeout(30)
def test_a_session_filled_within_the_cost_model_reports_parity(tmp_path: Path) -> None:
    bars = minute_bars()
    orders, fills = paper_session(bars)
    assert len(orders) >= 4
    # Live prices a basis point worse than the model: within the 5 bps tolerance.
    nudged = [
        replace(f, price=f.price * (1.0001 if f.side.value == "BUY" else 0.9999)) for f in fills
    ]
    write_home(tmp_path, bars, orders, nudged)
    report = run_audit(tmp_path)
    assert report.parity, [d.detail for d in report.divergences]
    assert report.matched_orders == report.live_orders == report.backtest_orders == len(orders)
    assert report.live_pnl == pytest.approx(report.backtest_pnl, abs=20.0)  # 1 bp a fill
    assert "Parity" in render_html(report)


@pytest.mark.timeout(30)
def test_latency_a_partial_fill_and_a_dropped_bar_each_report_their_cause(
    tmp_path: Path,
) -> None:
    bars = minute_bars()
    orders, fills = paper_session(bars)
    buys = [k for k, f in enumerate(fills) if f.side.value == "BUY"]
    partial, late = buys[0], buys[-1]
    # A partial fill: the first entry got half; its exit sold what was held.
    half = fills[partial].quantity // 2
    fills[partial] = replace(fills[partial], quantity=half)
    entry = next(o for o in orders if o.client_order_id == fills[partial].client_order_id)
    entry.filled, entry.status = half, OrderStatus.CANCELED
    exit_fill = partial + 1
    fills[exit_fill] = replace(fills[exit_fill], quantity=half)
    exit_order = next(o for o in orders if o.client_order_id == fills[exit_fill].client_order_id)
    exit_order.quantity = exit_order.filled = half
    # Latency: the last entry filled three minutes after the bar it should have.
    fills[late] = replace(fills[late], ts=fills[late].ts + 3 * MINUTE)
    # A dropped bar: a minute missing from the recorded data two bars after a fill that
    # is neither of the above; the next crossing is further away than the slow average.
    quiet = next(k for k in range(len(fills)) if k not in (partial, exit_fill, late))
    dropped = fills[quiet].ts + 2 * MINUTE
    recorded = [b for b in bars if b["ts"] != dropped]
    write_home(tmp_path, recorded, orders, fills)

    report = run_audit(tmp_path)
    causes = {(d.kind, d.cause) for d in report.divergences}
    assert ("bar", "missed bar") in causes
    assert ("fill", "partial fill") in causes
    assert ("order", "partial fill") in causes  # the exit sold the half that was held
    assert ("fill", "latency") in causes
    assert "unexplained" not in report.causes()
    [missed] = [d for d in report.divergences if d.kind == "bar"]
    assert missed.ts == dropped
    [latency] = [d for d in report.divergences if d.cause == "latency"]
    assert latency.ts == fills[late].ts
    assert "latency" in render_html(report) and not report.parity


def test_a_restart_shows_as_the_order_count_starting_again() -> None:
    from bifrost.audit.parity_sources import RecordedSession

    orders = [
        {"cid": f"{STRATEGY_ID}-{n}", "created_ns": t}
        for n, t in ((1, 10), (2, 20), (1, 30), (2, 40))
    ]
    stored = StoredStrategy(STRATEGY_ID, "sma_cross", None, ["SPY"], "1m", {}, CAPITAL)
    assert restarts(RecordedSession(stored, 0, 100, {}, orders, [])) == [30]


@pytest.mark.timeout(40)
def test_the_command_prints_the_audit_as_json_and_html(tmp_path: Path) -> None:
    bars = minute_bars()
    orders, fills = paper_session(bars)
    home = tmp_path / "home"
    write_home(home, bars, orders, fills)
    page = tmp_path / "parity.html"
    result = bifrost(
        write_config(tmp_path), home, "audit", "parity", STRATEGY_ID, "--json", "--html", str(page)
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["parity"] is True and document["strategy_id"] == STRATEGY_ID
    assert "Parity audit" in page.read_text()
    missing = bifrost(write_config(tmp_path), home, "audit", "parity", "nope", "--json")
    assert missing.returncode == 1 and "no live strategy" in missing.stdout


@pytest.mark.timeout(120)
def test_the_command_gives_the_same_audit_through_the_running_services(tmp_path: Path) -> None:
    bars = minute_bars()
    orders, fills = paper_session(bars)
    home = tmp_path / "home"
    write_home(home, bars, orders, fills)
    config_path = write_config(tmp_path, ("data", "strategy", "execution"))
    window = ("--from", "2025-12-01T00:00:00", "--to", "2025-12-02T00:00:00")
    offline = bifrost(config_path, home, "audit", "parity", STRATEGY_ID, *window, "--json")
    assert offline.returncode == 0, offline.stderr
    up = bifrost(config_path, home, "up", "--timeout", "90", "--json")
    try:
        assert up.returncode == 0, up.stderr
        for store, migrations in (("execution", EXECUTION), ("strategy", STRATEGY)):
            with pytest.raises(Unavailable):  # held by its daemon: only RPC can read it
                open_store(home / f"{store}.duckdb", read_only=True, migrations=migrations)
        online = bifrost(config_path, home, "audit", "parity", STRATEGY_ID, *window, "--json")
    finally:
        bifrost(config_path, home, "down")
    assert online.returncode == 0, online.stderr
    assert json.loads(online.stdout) == json.loads(offline.stdout)
