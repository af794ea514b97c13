"""A whole report from a small hand-made input, and its HTML page."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree

import numpy as np
import pytest

from bifrost.analytics.html import render_html
from bifrost.analytics.tearsheet import Benchmark, TearsheetInput, build_report
from bifrost.analytics.trades import round_trips
from bifrost.errors import NotFound

DAY = 86_400_000_000_000
START = 1_704_067_200_000_000_000  # 2024-01-01 UTC


def source(**changes: object) -> TearsheetInput:
    ts = START + np.arange(5) * DAY
    fills = [
        {
            "ts_ns": int(ts[0]),
            "side": "BUY",
            "quantity": 10,
            "price": 100.0,
            "commission": 1.0,
            "strategy_id": "s",
            "symbol": "AAPL",
        },
        {
            "ts_ns": int(ts[2]),
            "side": "SELL",
            "quantity": 10,
            "price": 110.0,
            "commission": 1.0,
            "strategy_id": "s",
            "symbol": "AAPL",
        },
    ]
    trades, lots = round_trips(fills)
    values = {
        "kind": "live",
        "subject": "live",
        "title": "test account",
        "ts": ts,
        "equity": np.array([1000.0, 1050.0, 1098.0, 1098.0, 1098.0]),
        "exposed": np.array([True, True, False, False, False]),
        "trades": trades,
        "traded_notional": 2100.0,
        "benchmark": Benchmark("SPY", ts, np.array([100.0, 101.0, 102.0, 101.0, 103.0])),
        "lots": lots,
    }
    values.update(changes)
    return TearsheetInput(**values)  # type: ignore[arg-type]


def test_report_summary_trades_and_exposure() -> None:
    report = build_report(source(), created_ns=7)
    summary = report["summary"]
    assert summary["total_return_pct"] == pytest.approx(9.8)
    assert summary["exposure_pct"] == pytest.approx(40.0)
    assert summary["turnover"] == pytest.approx(2100.0 / np.mean([1000, 1050, 1098, 1098, 1098]))
    assert summary["max_drawdown_pct"] == 0.0
    assert summary["annual_return_pct"] is None  # four days: too short to annualise
    assert summary["beta"] is not None
    assert report["trades"]["trades"] == 1
    assert report["trades"]["total_pnl"] == pytest.approx(98.0)
    assert report["attribution"]["by_symbol"][0]["realized"] == pytest.approx(98.0)
    assert report["benchmark"]["return_pct"] == pytest.approx(3.0)
    assert len(report["series"]["ts"]) == len(report["series"]["rolling_beta"]) == 5
    json.dumps(report, allow_nan=False)  # plain JSON: NaN became None


def test_missing_benchmark_is_noted_not_fatal() -> None:
    report = build_report(source(benchmark=Benchmark("SPY", error="no bars")), created_ns=7)
    assert report["benchmark"]["error"] == "no bars"
    assert report["summary"]["beta"] is None


def test_a_curve_without_points_is_not_found() -> None:
    empty = np.empty(0)
    with pytest.raises(NotFound, match="no equity"):
        build_report(source(ts=empty, equity=empty, exposed=empty), created_ns=7)


def test_html_report_is_self_contained_with_svg_charts() -> None:
    page = render_html(build_report(source(), created_ns=7))
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)
    assert len(charts) == 5
    for chart in charts:  # each one well-formed XML
        assert ElementTree.fromstring(chart).tag == "{http://www.w3.org/2000/svg}svg"
    assert "test account" in page and "Monthly returns" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in page


MINUTE = 60_000_000_000


def live_minutes(count: int) -> TearsheetInput:
    """A live account over `count` minutes that loses a little most minutes."""
    ts = START + np.arange(count) * MINUTE
    rng = np.random.default_rng(3)
    equity = 100_000.0 * np.cumprod(1 + rng.normal(-0.0004, 0.0002, count))
    return source(
        ts=ts,
        equity=equity,
        exposed=np.ones(count, dtype=bool),
        trades=[],
        lots=[],
        benchmark=Benchmark("SPY", ts, 500.0 + np.arange(count) * 0.01),
    )


def test_report_of_a_few_minutes_says_too_short_instead_of_annualising() -> None:
    summary = build_report(live_minutes(6), created_ns=7)["summary"]
    assert summary["too_short"] is not None and "too short" in summary["too_short"]
    assert "5 minutes" in summary["too_short"]
    annualised = ("sharpe", "sortino", "annual_volatility_pct", "annual_return_pct", "alpha_pct")
    assert {key: summary[key] for key in annualised} == dict.fromkeys(annualised)
    assert summary["calmar"] is None and summary["annual_turnover"] is None
    assert summary["total_return_pct"] < 0 and summary["beta"] is not None


def test_report_of_many_returns_over_hours_is_still_too_short() -> None:
    report = build_report(live_minutes(300), created_ns=7)
    assert report["summary"]["sharpe"] is None and report["summary"]["too_short"]
    rolling = [v for v in report["series"]["rolling_sharpe"] if v is not None]
    assert rolling == []


def test_report_over_two_months_of_daily_returns_is_annualised() -> None:
    days = 45
    ts = START + np.arange(days) * DAY
    equity = 1000.0 * np.cumprod(1 + np.where(np.arange(days) % 2, 0.01, -0.005))
    summary = build_report(
        source(ts=ts, equity=equity, exposed=np.ones(days, dtype=bool), trades=[], lots=[]),
        created_ns=7,
    )["summary"]
    assert summary["too_short"] is None
    assert summary["sharpe"] is not None and summary["annual_return_pct"] is not None


def test_html_report_of_a_short_span_says_so() -> None:
    page = render_html(build_report(live_minutes(6), created_ns=7))
    assert "too short to annualise" in page
