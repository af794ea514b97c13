"""Record what a real stack answers and publishes to the TUI, for the snapshot tests.

Run once, then commit `tests/tui/recorded/`:

    .venv/bin/python -m tests.tui.record_replies

It starts every service on loopback (threads, as the daemon tests do) over a fresh data
dir with the sample data, runs two backtests and two optimisation studies, trains a
small model until it signals, starts a live strategy, places paper orders (a fill, a
resting limit, a compliance rejection) and lets the synthetic feed and news run. Then
it plays every scene of `tests/tui/scenes.py` at both snapshot sizes with clients
that keep each reply, while a follower keeps the events the desk reads.

What it writes is normalised so that it reads the same however often it is recorded:
times of the recording day move to 2025-11-25 14:30 UTC, events keep only what the
desk shows (first and last quotes, last trades, the last P&L, every order and alert,
recent headlines) numbered from 1 per topic, and the config's ports are fixed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.poller import EventPoller
from bifrost.bus.pubsub import Event
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import BifrostError, Timeout, Unavailable
from bifrost.local_config import TEST_FEED, write_local_config
from tests.tui.fake_bus import RECORDED, call_key, to_json
from tests.tui.scenes import SCENES, SIZES, play
from tui.bus import ClientFactory
from tui.feed import FOLLOW

SERVICES = (
    "data",
    "news",
    "portfolio",
    "execution",
    "compliance",
    "risk",
    "strategy",
    "ml",
    "analytics",
    "microstructure",
)
"""Every service, each started after those it calls."""
FEED = TEST_FEED.replace(
    "[feed.prices]", 'book_levels = 5\nbar_timeframes = ["1s", "1m"]\n\n[feed.prices]'
)
EXTRA = """
[news]
synthetic_per_minute = 60

[compliance]
restricted = ["BTC-USD"]
"""
ANCHOR_NS = 1_764_081_000_000_000_000
"""2025-11-25 14:30:00 UTC: the recording's start moves here."""
DAY_NS = 86_400 * 10**9
SECOND_NS = 10**9
SCENE_TIMEOUT_S = 90.0


class ReplyLog:
    """The last reply to each distinct call, from any thread."""

    def __init__(self) -> None:
        self.replies: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def keep(self, service: str, method: str, params: Any, reply: dict[str, Any]) -> None:
        """Remember `reply` (a result or a service's refusal) for this call."""
        entry = {"service": service, "method": method, "params": to_json(params or {})}
        with self.lock:
            self.replies[call_key(service, method, params)] = entry | {"reply": reply}


class RecordingService:
    """A real connection to one service that keeps every reply in a ReplyLog."""

    def __init__(self, connection: Any, service: str, log: ReplyLog) -> None:
        self.connection = connection
        self.service = service
        self.log = log

    def call(self, method: str, params: dict[str, Any] | None = None, **options: Any) -> Any:
        """Call for real; keep the result, or the error unless the service was just away."""
        try:
            result = self.connection.call(method, params, **options)
        except (Unavailable, Timeout):
            raise
        except BifrostError as exc:
            self.log.keep(self.service, method, params, {"error": exc.to_wire()})
            raise
        self.log.keep(self.service, method, params, {"result": to_json(result)})
        return result

    def close(self) -> None:
        """Close the real connection."""
        self.connection.close()


class RecordingClient(BifrostClient):
    """A real client whose every call's reply goes into a ReplyLog."""

    def __init__(self, log: ReplyLog, config: BifrostConfig, timeout_ms: int, retries: int):
        super().__init__(config, timeout_ms, retries)
        self.log = log

    def rpc(self, service: str) -> Any:
        """The real connection, recording."""
        return RecordingService(super().rpc(service), service, self.log)


def recording_clients(log: ReplyLog, config: BifrostConfig) -> ClientFactory:
    """The factory the recorded app runs with."""

    def make(*, timeout_ms: int, retries: int) -> BifrostClient:
        return RecordingClient(log, config, timeout_ms, retries)

    return make


class EventKeeper(threading.Thread):
    """Follows what the desk follows (tui/feed.py) and keeps every event, in order."""

    def __init__(self, config: BifrostConfig) -> None:
        super().__init__(name="event-keeper", daemon=True)
        self.config = config
        self.events: list[Event] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with BifrostClient(self.config, timeout_ms=1000) as client:
            subscribers = [
                client.subscribe(service, prefixes)
                for service, prefixes in FOLLOW.items()
                if service in self.config.services
            ]
            with EventPoller(subscribers) as events:
                while not self.stop.is_set():
                    self.events += events.poll(100)


def seed(config: BifrostConfig, home: Path) -> None:
    """The sample data, a minute of 1s AAPL bars up to now, and two studies on SPY."""
    from tests.daemons.test_ml_daemon import seed_stores

    seed_stores(config, home)  # the sample's daily bars and 120 recent 1s bars of AAPL
    from bifrost.backtest.gateway import load_bars, with_trading_hours
    from bifrost.backtest.optimize import StudySettings, optimize
    from bifrost.backtest.runner import RunRequest
    from bifrost.market.gateway import DataGateway

    with BifrostClient(config, timeout_ms=300) as client:
        data = DataGateway(client, home)
        request = with_trading_hours(data, RunRequest("sma_cross", ("SPY",), engine="vector"))
        bars = load_bars(data, request)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = ["fast=2:30", "slow=20:120"]
    sharpe = StudySettings.of(request, space, ["sharpe"], seed=5)
    optimize(home, "spy-sharpe", sharpe, bars, trials=12)
    pareto = StudySettings.of(request, space, ["sharpe", "annual_volatility_pct"], seed=5)
    optimize(home, "spy-pareto", pareto, bars, trials=24)  # a front of five


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    """Poll `condition` until it is truthy (returning it); RuntimeError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"gave up waiting for {what}")


def trade_a_day(bus: BifrostClient) -> None:
    """Backtests, a trained model that signals, a live strategy and some paper orders."""
    from bifrost.job_waiter import submit_and_wait

    for params in ({"fast": 10, "slow": 30}, {"fast": 5, "slow": 50}):
        spec = {"strategy": "sma_cross", "symbols": ["SPY"], "params": params}
        submit_and_wait(
            bus, "strategy", (methods.BACKTEST_RUN, spec), methods.BACKTEST_JOB,
            topics.backtest_job, 120,
        )
    training = {"name": "live", "symbols": ["AAPL"], "kind": "logistic", "horizon": 1}
    job = bus.call("ml", methods.ML_TRAIN, training | {"folds": 3})
    wait_for(
        lambda: bus.call("ml", methods.ML_JOB, {"job_id": job["job_id"]})["state"] == "done",
        120,
        "the model to train",
    )
    wait_for(
        lambda: bus.call("ml", methods.SNAPSHOT, {"prefix": "signal."})["topics"],
        60,
        "a live signal",
    )
    bus.call(
        "strategy",
        methods.STRATEGY_START,
        {"name": "sma_cross", "symbols": ["MSFT"], "params": {"fast": "5", "slow": "20"},
         "timeframe": "1m"},  # warming up while recording: its orders would crowd the desk
    )
    quote = bus.call("data", methods.SNAPSHOT, {"prefix": "quote.MSFT"})["topics"]["quote.MSFT"]
    below = round(quote["body"]["bid"] * 0.98, 2)  # rests, inside risk's price collar
    orders = [
        {"symbol": "AAPL", "side": "BUY", "quantity": 100.0, "type": "MARKET"},
        {"symbol": "MSFT", "side": "SELL", "quantity": 20.0, "type": "MARKET"},
        {"symbol": "MSFT", "side": "BUY", "quantity": 10.0, "type": "LIMIT", "limit_price": below},
        {"symbol": "BTC-USD", "side": "BUY", "quantity": 0.5, "type": "MARKET"},
    ]
    for number, order in enumerate(orders, 1):
        try:
            bus.call("risk", methods.ORDER_SUBMIT, order | {"client_order_id": f"desk-{number}"})
        except BifrostError as exc:
            print(f"order desk-{number}: {exc.code} {exc.message}")


async def play_every_scene(config: BifrostConfig, home: Path, log: ReplyLog) -> None:
    """Each scene at each size, in an app whose clients record."""
    from tui.app import make_app

    for size in SIZES.values():
        for name, scene in SCENES.items():
            print(f"scene {name} at {size[0]}x{size[1]}")
            app = make_app(config, home, recording_clients(log, config))
            async with app.run_test(size=size) as pilot:
                await play(pilot, scene, SCENE_TIMEOUT_S)


def desk_events(events: list[Event]) -> list[Event]:
    """What the desk needs of the events: per topic the first and last two quotes, the
    last three trades, the last P&L, the last ten headlines, every order and alert.

    No fills: the desk reloads them from execution's `fills.list` as it opens, and these
    were published before it opened, so replayed they would show twice.
    """
    by_topic: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, event in enumerate(events):
        by_topic[(event.src, event.topic)].append(index)
    keep: set[int] = set()
    for (_, topic), indices in by_topic.items():
        kind = topic.partition(".")[0]
        if kind == topics.FILL:
            continue
        if kind == topics.QUOTE:
            keep.update([indices[0], *indices[-2:]])
        elif kind == topics.TRADE:
            keep.update(indices[-3:])
        elif kind == topics.PNL:
            keep.update(indices[-1:])
        elif kind == topics.NEWS:
            keep.update(indices[-10:])
        else:
            keep.update(indices[-50:])
    return [events[i] for i in sorted(keep)]


class Normaliser:
    """Moves the recording day's times to the anchor and today's date to the anchor's."""

    def __init__(self, started_ns: int, ended_ns: int) -> None:
        self.start = started_ns - 3 * DAY_NS
        self.end = ended_ns + DAY_NS
        self.shift = ANCHOR_NS - started_ns // SECOND_NS * SECOND_NS
        day = time.gmtime(started_ns / 1e9)
        self.today = re.compile(re.escape(time.strftime("%Y-%m-%d", day)))
        self.month = {"year": day.tm_year, "month": day.tm_mon}
        anchor = time.gmtime(ANCHOR_NS / 1e9)
        self.anchor_day = time.strftime("%Y-%m-%d", anchor)
        self.anchor_month = {"year": anchor.tm_year, "month": anchor.tm_mon}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value + self.shift if self.start <= value <= self.end else value
        if isinstance(value, str):
            return self.today.sub(self.anchor_day, value)
        if isinstance(value, dict):
            if {k: value.get(k) for k in self.month} == self.month:  # a monthly return
                value = value | self.anchor_month
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value


def event_rows(events: list[Event], normal: Normaliser) -> list[dict[str, Any]]:
    """Events as JSON rows, seq renumbered from 1 per topic, times normalised."""
    seqs: dict[tuple[str, str], int] = defaultdict(int)
    rows = []
    for e in events:
        seqs[(e.src, e.topic)] += 1
        rows.append(
            {
                "service": e.src.partition("@")[0],
                "topic": e.topic,
                "type": e.type,
                "seq": seqs[(e.src, e.topic)],
                "ts": normal(e.ts),
                "src": e.src,
                "cid": "",
                "body": normal(to_json(e.body)),
            }
        )
    return rows


def fixed_ports(config_text: str) -> str:
    """The config with its ports renumbered from 7100 (nothing listens in the tests)."""
    ports = iter(range(7100, 7200))
    return re.sub(r"(_port = )\d+", lambda m: f"{m.group(1)}{next(ports)}", config_text)


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def record(out: Path) -> None:
    """Start the stack, make the day, play the scenes, write the recording to `out`."""
    from tests.bifrost.conftest import services_running

    with tempfile.TemporaryDirectory(prefix="bifrost-record-") as scratch:
        folder = Path(scratch)
        os.environ["BIFROST_HOME"] = str(folder / "user")  # never the user's own key store
        home = folder / "home"
        home.mkdir()
        path = write_local_config(folder, SERVICES, feed=FEED, extra=EXTRA)
        config = load_config(path)
        seed(config, home)
        started = time.time_ns()
        log = ReplyLog()
        keeper = EventKeeper(config)
        with services_running(config, home, SERVICES) as bus:
            keeper.start()
            try:
                trade_a_day(bus)
                asyncio.run(play_every_scene(config, home, log))
            finally:
                keeper.stop.set()
                keeper.join(timeout=10)
        normal = Normaliser(started, time.time_ns())
        out.mkdir(parents=True, exist_ok=True)
        replies = [normal(r) for _, r in sorted(log.replies.items())]
        write_json(out / "replies.json", {"replies": replies})
        write_json(out / "events.json", {"events": event_rows(desk_events(keeper.events), normal)})
        (out / "config.toml").write_text(fixed_ports(path.read_text()), encoding="utf-8")
        print(f"{len(replies)} replies and {len(keeper.events)} events seen, written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RECORDED, help="where to write")
    record(parser.parse_args().out)


if __name__ == "__main__":
    main()
