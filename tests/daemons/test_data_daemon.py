"""The data daemon end to end: live recording and 1m bars, bars over RPC, replay, inbox."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from bifrost.bus import topics
from bifrost.bus.pubsub import Subscriber
from bifrost.client import BifrostClient
from bifrost.clock import SimulatedClock
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BadRequest, NotFound
from bifrost.market.gateway import DataGateway
from bifrost.market.sample import daily_bars, xnys_sessions
from bifrost.store.database import open_store
from bifrost.store.ticks import trades_to_bars
from daemons.data import DataDaemon, store_path
from tests.bifrost.conftest import DaemonThread
from tests.conftest import JOBS, write_config

MINUTE_NS = 60_000_000_000
INBOX_JOB = '\n[jobs.data-inbox]\nservice = "data"\ntask = "import_inbox"\nevery_seconds = 3600\n'


@pytest.fixture
def config(tmp_path: Path) -> BifrostConfig:
    return load_config(write_config(tmp_path, extra=JOBS + INBOX_JOB))


@pytest.fixture
def running(config: BifrostConfig, home: Path) -> Iterator[DaemonThread]:
    """A data daemon serving from a thread; stopped at teardown."""
    thread = DaemonThread(config, home)
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def client(config: BifrostConfig) -> Iterator[BifrostClient]:
    with BifrostClient(config, timeout_ms=5000) as bus:
        yield bus


def write_daily_csv(folder: Path, symbol: str, sessions: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{symbol}.csv"
    daily_bars(symbol, sessions, 100.0, 0.1, 0.2, seed=3).write_csv(path)
    return path


def test_live_minute_bars_match_recorded_trades(config: BifrostConfig, home: Path) -> None:
    start = 1_700_000_040 * 1_000_000_000  # a whole minute
    clock = SimulatedClock(start)
    daemon = DataDaemon(config, "data", home, clock=clock)
    ctx = zmq.Context()
    try:
        daemon.start()
        subscriber = Subscriber(ctx, [config.services["data"].pub], [topics.BAR + "."])
        subscriber.poll(200)  # let the subscription reach the publisher
        for _ in range(650):  # 65 simulated seconds in 100 ms steps
            clock.advance_by(100_000_000)
            daemon.publish_due()
        daemon.record()
        published = [e.body for e in subscriber.poll(1000) if e.topic == "bar.1m.AAPL"]
        subscriber.close()
        rebuilt = trades_to_bars(daemon.db, "AAPL", "1m", start, start + MINUTE_NS)
        stored = daemon.catalog.bars("AAPL", "1m")
    finally:
        daemon.stop()
        ctx.destroy(linger=0)
    assert [b["ts"] for b in published] == [start]
    assert rebuilt.height == 1
    for column in ("open", "high", "low", "close", "volume"):
        assert published[0][column] == rebuilt[column][0] == stored[column][0]


def test_stop_flushes_every_published_quote_and_trade(config: BifrostConfig, home: Path) -> None:
    thread = DaemonThread(config, home)
    daemon = thread.start()
    time.sleep(1.5)
    thread.stop()
    assert isinstance(daemon, DataDaemon)
    with open_store(store_path(home), read_only=True) as db:
        quotes = db.execute("SELECT count(*) FROM quotes").fetchall()[0][0]
        trades = db.execute("SELECT count(*) FROM trades").fetchall()[0][0]
    assert quotes == daemon.feed.quotes > 0
    assert trades == daemon.feed.trades > 0


def test_bars_offline_and_through_daemon_are_equal(
    config: BifrostConfig, home: Path, tmp_path: Path
) -> None:
    sessions = xnys_sessions("2023-01-03", "2023-12-29")
    paths = [write_daily_csv(tmp_path / "in", s, sessions) for s in ("AAA", "BBB")]
    with BifrostClient(config, timeout_ms=500) as bus:
        offline = DataGateway(bus, home)
        assert offline.via == "file"
        report = offline.import_files(paths)
        offline_series = offline.series()
        offline_bars = offline.bars("AAA", "1d")
    assert report["rows_loaded"] == 2 * len(sessions)
    thread = DaemonThread(config, home)
    thread.start()
    try:
        with BifrostClient(config, timeout_ms=5000) as bus:
            online = DataGateway(bus, home)
            assert online.via == "daemon"
            assert online.series() == offline_series
            assert online.bars("AAA", "1d").equals(offline_bars)
            weekly_ns = online.bars("AAA", "7d")
    finally:
        thread.stop()
    assert weekly_ns["volume"].sum() == offline_bars["volume"].sum()


def test_bars_of_symbols_through_daemon_equal_the_file_in_one_request(
    config: BifrostConfig, home: Path, tmp_path: Path
) -> None:
    sessions = xnys_sessions("2023-01-03", "2023-06-30")
    paths = [write_daily_csv(tmp_path / "in", s, sessions) for s in ("AAA", "BBB", "CCC")]
    with BifrostClient(config, timeout_ms=500) as bus:
        offline = DataGateway(bus, home)
        offline.import_files(paths)
        expected = offline.bars_of_symbols(["CCC", "AAA"], "7d")
    thread = DaemonThread(config, home)
    thread.start()
    try:
        with BifrostClient(config, timeout_ms=5000) as bus:
            online = DataGateway(bus, home)
            assert online.via == "daemon"
            got = online.bars_of_symbols(["CCC", "AAA"], "7d")
            single = online.bars("AAA", "7d")
    finally:
        thread.stop()
    assert list(got) == ["CCC", "AAA"]
    assert all(got[s].equals(expected[s]) for s in expected)
    assert got["AAA"].equals(single)


def test_replay_publishes_bars_in_time_then_symbol_order(
    config: BifrostConfig, home: Path, tmp_path: Path, client: BifrostClient
) -> None:
    sessions = xnys_sessions("2024-03-01", "2024-03-28")
    paths = [write_daily_csv(tmp_path / "in", s, sessions) for s in ("ZZZ", "AAA")]
    DataGateway(client, home).import_files(paths)
    thread = DaemonThread(config, home)
    thread.start()
    try:
        subscriber = client.subscribe("data", [topics.REPLAY + "."])
        subscriber.poll(200)
        started = client.call("data", "data.replay", {"symbols": ["ZZZ", "AAA"]})
        events = []
        deadline = time.monotonic() + 10
        while not any(e.topic == started["end_topic"] for e in events):
            assert time.monotonic() < deadline, "replay did not finish"
            events += subscriber.poll(200)
        subscriber.close()
    finally:
        thread.stop()
    bars = [(e.body["ts"], e.body["symbol"]) for e in events if e.type == "bar"]
    assert started["bars"] == len(bars) == 2 * len(sessions)
    assert bars == sorted(bars)
    assert {e.cid for e in events} == {started["replay_id"]}


def test_inbox_job_files_good_and_bad_files_with_reports(
    running: DaemonThread, home: Path, client: BifrostClient
) -> None:
    inbox = home / "inbox"
    write_daily_csv(inbox, "MSFT", xnys_sessions("2024-01-02", "2024-01-31"))
    (inbox / "junk.csv").write_bytes(b"\x00\x01\x02 not a csv \xff\xfe")
    old = time.time() - 60
    for path in inbox.iterdir():
        os.utime(path, (old, old))
    result = client.call("data", "jobs.run", {"name": "data-inbox"})["result"]
    assert result == {"done": ["MSFT.csv"], "failed": ["junk.csv"]}
    assert (inbox / "done" / "MSFT.csv.report.json").exists()
    assert "junk.csv" in (inbox / "failed" / "junk.csv.report.json").read_text()
    series = client.call("data", "data.list")["series"]
    assert [(s["symbol"], s["rows"]) for s in series] == [("MSFT", 21)]


def test_bars_of_unknown_symbol_is_not_found_and_daemon_stays_up(
    running: DaemonThread, client: BifrostClient
) -> None:
    with pytest.raises(NotFound, match="NOPE"):
        client.call("data", "data.bars", {"symbol": "NOPE", "timeframe": "1d"})
    assert client.health("data")["state"] == "ready"


def test_import_of_binary_file_is_bad_request_and_store_unchanged(
    running: DaemonThread, client: BifrostClient, tmp_path: Path
) -> None:
    good = write_daily_csv(tmp_path, "GOOD", xnys_sessions("2024-01-02", "2024-01-12"))
    client.call("data", "data.import", {"paths": [str(good)]})
    junk = tmp_path / "BAD.csv"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(BadRequest, match=r"BAD\.csv"):
        client.call("data", "data.import", {"paths": [str(good), str(junk)]})
    series = client.call("data", "data.list")["series"]
    assert [(s["symbol"], s["rows"]) for s in series] == [("GOOD", 9)]
    assert client.health("data")["state"] == "ready"


def test_live_feed_starts_from_the_last_stored_close(config: BifrostConfig, home: Path) -> None:
    sessions = xnys_sessions("2024-11-01", "2024-12-31")
    with BifrostClient(config, timeout_ms=500) as offline:
        gateway = DataGateway(offline, home)
        gateway.import_files([write_daily_csv(home / "csv", "AAPL", sessions)])
        stored = gateway.bars("AAPL", "1d")["close"][-1]
    assert abs(stored - 190.0) > 10  # the config's [feed.prices] would start elsewhere
    thread = DaemonThread(config, home)
    thread.start()
    ctx = zmq.Context()
    try:
        subscriber = Subscriber(ctx, [config.services["data"].pub], ["quote.AAPL", "quote.MSFT"])
        deadline = time.monotonic() + 10
        first: dict[str, dict] = {}
        while len(first) < 2 and time.monotonic() < deadline:
            for event in subscriber.poll(200):
                first.setdefault(event.body["symbol"], event.body)
        subscriber.close()
    finally:
        thread.stop()
        ctx.term()
    mid = {s: (q["bid"] + q["ask"]) / 2 for s, q in first.items()}
    assert mid["AAPL"] == pytest.approx(stored, rel=0.02)  # a few seconds of moves at most
    assert mid["MSFT"] == pytest.approx(420.0, rel=0.02)  # no bars: the configured price
