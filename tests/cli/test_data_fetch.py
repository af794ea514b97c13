"""`bifrost data fetch` as a user runs it: the CLI as a subprocess against venue stubs on
loopback, storing into a fresh data dir through the file or through the data daemon.

The Binance and Alpaca stubs run as processes (the quarantine case drives the Binance stub
in this process, since it needs a test control). What the store holds is compared with
what the stub serves on its own REST endpoint, so both routes are held to one answer.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bifrost.clock import parse_instant
from bifrost.local_config import write_local_config
from tests.conftest import wait_for
from tests.venues import alpaca_stub
from tests.venues.binance_stub import BinanceStub

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
SINCE, UNTIL, LATER = "2024-01-01", "2024-03-01", "2024-03-02"
"""Sixty days of hourly bars (1,440: two pages of 1,000), then one day more."""
SILENT_FEED = """[feed]
symbols = ["ZZFEED"]
quotes_per_second = 0.001
"""
"""A feed that stays silent while a test runs, so a running data daemon records no live
bars beside the fetched ones."""
HOUR_NS = 3_600 * 10**9
HOUR_MS = 3_600_000


@contextmanager
def stub_process(module: str, directory: Path, symbols: str) -> Iterator[dict[str, str]]:
    """A venue stub as a process (its base URLs); always terminated afterwards."""
    ready = directory / f"{module}.ready"
    command = [sys.executable, "-m", f"tests.venues.{module}", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--ready-file", str(ready), "--symbols", symbols], cwd=ROOT
    )
    try:
        wait_for(ready.exists, timeout=20)
        yield json.loads(ready.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def binance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The Binance stub process: {"rest", "ws"}."""
    with stub_process(
        "binance_stub", tmp_path_factory.mktemp("binance"), "BTC-USDT,ETH-USDT"
    ) as urls:
        yield urls


def binance_venue(urls: dict[str, str]) -> str:
    """The `[venues.binance]` table pointing at a Binance stub."""
    return f"""
[venues.binance]
kind = "ccxt"
exchange = "binance"
symbols = ["BTC-USDT", "ETH-USDT"]
[venues.binance.urls]
rest = "{urls["rest"]}"
ws = "{urls["ws"]}"
"""


@dataclass(frozen=True)
class Bifrost:
    """The CLI against one config and one data dir."""

    config: Path
    home: Path

    def run(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "cli.main", "--config", str(self.config)]
        return subprocess.run(
            [*command, "--home", str(self.home), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT,
        )

    def json(self, *args: str) -> Any:
        """The JSON document of a command that must succeed."""
        result = self.run(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def fetch(self, *args: str) -> dict[str, Any]:
        """The one series of a `data fetch --json` report, and the route it took."""
        document = self.json("data", "fetch", *args)
        [series] = document["series"]
        return {**series, "via": document["via"]}

    def bars(self, symbol: str, timeframe: str) -> list[dict[str, Any]]:
        return self.json("data", "bars", symbol, "-t", timeframe)["bars"]


def offline(directory: Path, extra: str) -> Bifrost:
    """A config with the data service (not started) and `extra`, and an empty data dir."""
    home = directory / "home"
    home.mkdir()
    return Bifrost(write_local_config(directory, ("data",), feed=SILENT_FEED, extra=extra), home)


@pytest.fixture(params=["file", "daemon"])
def route(
    request: pytest.FixtureRequest, tmp_path: Path, binance: dict[str, str]
) -> Iterator[Bifrost]:
    """The same config and command lines with no daemon, or with the data daemon up."""
    cli = offline(tmp_path, binance_venue(binance))
    if request.param == "file":
        yield cli
        return
    try:
        up = cli.run("up", "--timeout", "60", "--json")
        assert up.returncode == 0, up.stderr
        yield cli
    finally:
        cli.run("down")


def ns(instant: str) -> int:
    return parse_instant(instant)


def served_klines(rest: str, symbol: str, start: str, end: str) -> list[dict[str, Any]]:
    """The hourly klines the stub serves for [start, end), as `data bars --json` rows."""
    rows: list[list[Any]] = []
    start_ms, end_ms = ns(start) // 10**6, ns(end) // 10**6
    while start_ms < end_ms:
        query = f"symbol={symbol.replace('-', '')}&interval=1h&limit=1000"
        query += f"&startTime={start_ms}&endTime={end_ms - 1}"
        with urllib.request.urlopen(f"{rest}/api/v3/klines?{query}", timeout=10) as answer:
            page = json.load(answer)
        rows += page
        start_ms = page[-1][0] + HOUR_MS
    return [
        {
            "symbol": symbol,
            "timeframe": "1h",
            "ts": row[0] * 10**6,
            **{name: float(value) for name, value in zip(VALUES, row[1:6], strict=True)},
        }
        for row in rows
    ]


VALUES = ("open", "high", "low", "close", "volume")


def test_fetch_stores_the_range_and_a_rerun_asks_only_for_what_is_missing(
    route: Bifrost, binance: dict[str, str], request: pytest.FixtureRequest
) -> None:
    via = request.node.callspec.params["route"]
    window = ("BTC-USDT", "--venue", "binance", "-t", "1h", "--since", SINCE)

    first = route.fetch(*window, "--until", UNTIL)
    stored = route.bars("BTC-USDT", "1h")
    again = route.fetch(*window, "--until", UNTIL)
    later = route.fetch(*window, "--until", LATER)
    series = route.json("data", "list")["series"]

    assert first["via"] == again["via"] == later["via"] == via
    assert first["ranges"] == [[ns(SINCE), ns(UNTIL)]]
    assert (first["pages"], first["bars_received"], first["rows_loaded"]) == (2, 1440, 1440)
    assert (first["rows_quarantined"], first["warnings"]) == (0, 0)
    assert stored == served_klines(binance["rest"], "BTC-USDT", SINCE, UNTIL)
    assert again["ranges"] == [] and again["pages"] == again["rows_loaded"] == 0
    last_stored = stored[-1]["ts"]
    assert later["ranges"] == [[last_stored + HOUR_NS, ns(LATER)]]
    assert (later["pages"], later["bars_received"], later["rows_loaded"]) == (1, 24, 24)
    assert series == [
        {
            "symbol": "BTC-USDT",
            "timeframe": "1h",
            "first": ns(SINCE),
            "last": ns(LATER) - HOUR_NS,
            "rows": 1464,
        }
    ]


BAD_INPUT = {
    "unknown venue": (("BTC-USDT", "--venue", "kraken"), "venue 'kraken' is not in"),
    "paper venue": (("BTC-USDT", "--venue", "paper"), "paper is the paper venue"),
    "since after until": (
        ("BTC-USDT", "--venue", "binance", "--since", "2024-03-01", "--until", "2024-01-01"),
        "--since must be before --until",
    ),
    "bad date": (
        ("BTC-USDT", "--venue", "binance", "--since", "soon"),
        "'soon' is not an ISO date",
    ),
    "bad timeframe": (
        ("BTC-USDT", "--venue", "binance", "-t", "1w"),
        "--timeframe: timeframe '1w'",
    ),
    "bad symbol": (
        ("BTC USDT", "--venue", "binance"),
        "SYMBOLS: symbol 'BTC USDT' is not a symbol",
    ),
    "symbol the venue lacks": (
        ("DOGE-USDT", "--venue", "binance"),
        "binance gives no bars of DOGE-USDT: unknown symbol DOGE-USDT",
    ),
}


@pytest.mark.parametrize("args, problem", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_names_the_problem_and_leaves_the_store_alone(
    args: tuple[str, ...], problem: str, tmp_path: Path, binance: dict[str, str]
) -> None:
    cli = offline(tmp_path, binance_venue(binance))
    good = ("--since", "2024-01-01", "--until", "2024-01-02", "-t", "1h")

    result = cli.run("data", "fetch", *good, *args)  # the last of a repeated option counts

    assert result.returncode != 0
    assert problem in " ".join(re.sub("[│╭╮╰╯─]", " ", result.stderr).split())
    assert not (cli.home / "data.duckdb").exists()


def test_alpaca_daily_bars_land_in_the_store(tmp_path: Path) -> None:
    with stub_process("alpaca_stub", tmp_path, "AAPL,MSFT") as urls:
        cli = offline(tmp_path, alpaca_venue(urls))
        keys = f"{alpaca_stub.TEST_API_KEY}\n{alpaca_stub.TEST_SECRET}\n"
        login = cli.run("venues", "login", "alpaca", "--stdin", stdin=keys)
        assert login.returncode == 0, login.stderr

        fetched = cli.fetch(
            "AAPL", "--venue", "alpaca", "--since", "2024-01-01", "--until", "2024-01-11"
        )
        stored = cli.bars("AAPL", "1d")

    assert fetched["via"] == "file" and fetched["ranges"] == [[ns("2024-01-01"), ns("2024-01-11")]]
    assert (fetched["pages"], fetched["rows_loaded"], fetched["rows_quarantined"]) == (1, 10, 0)
    assert [b["ts"] for b in stored] == [ns(f"2024-01-{day:02}") for day in range(1, 11)]
    assert all(b["low"] <= min(b["open"], b["close"]) <= b["high"] for b in stored)


def alpaca_venue(urls: dict[str, str]) -> str:
    """The `[venues.alpaca]` table pointing at an Alpaca stub."""
    endpoints = "\n".join(f'{name} = "{url}"' for name, url in urls.items())
    return f"""
[venues.alpaca]
kind = "alpaca"
symbols = ["AAPL", "MSFT"]
[venues.alpaca.urls]
{endpoints}
"""


@pytest.fixture
def binance_in_process() -> Iterator[BinanceStub]:
    """A Binance stub this test drives through its controls; always stopped."""
    stub = BinanceStub(("BTC-USDT",))
    try:
        stub.start()
        yield stub
    finally:
        stub.stop()


def test_an_invalid_bar_is_quarantined_and_the_rest_of_its_page_stored(
    binance_in_process: BinanceStub, tmp_path: Path
) -> None:
    bad = ns("2024-01-01T05:00")
    binance_in_process.invert_kline(bad // 10**6)
    cli = offline(tmp_path, binance_venue(binance_in_process.urls))
    window = ("BTC-USDT", "--venue", "binance", "-t", "1h", "--since", "2024-01-01")

    fetched = cli.fetch(*window, "--until", "2024-01-02")
    stored = cli.bars("BTC-USDT", "1h")
    quarantine = cli.json("data", "quarantine", "list")
    again = cli.fetch(*window, "--until", "2024-01-02")

    assert (fetched["pages"], fetched["bars_received"]) == (1, 24)
    assert (fetched["rows_loaded"], fetched["rows_quarantined"]) == (23, 1)
    assert [b["ts"] for b in stored] == [
        ns("2024-01-01") + hour * HOUR_NS for hour in range(24) if hour != 5
    ]
    [row] = quarantine["rows"]
    assert (row["symbol"], row["ts"], row["reason"]) == ("BTC-USDT", bad, "high_below_open_close")
    assert row["import_id"] == fetched["import_ids"][0]
    assert again["ranges"] == [] and again["rows_loaded"] == 0
