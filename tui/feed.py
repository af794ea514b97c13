"""The TUI's bus reader: one thread with its own client, folding events into the Desk.

Follows quotes and trades (data), orders and fills (execution), P&L (portfolio),
alerts (risk, compliance) and headlines (news) of the services the config has, and asks every
service's `health` once a second (risk's tells the trading state, which its alerts change).
A service that is down is marked so; its sockets reconnect by themselves when it comes
back, and the open orders are fetched again then.
"""

from __future__ import annotations

import threading
import time

from bifrost.bus import methods, topics
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig
from bifrost.errors import BifrostError
from tui.bus import TuiBus
from tui.desk import Desk

FOLLOW = {
    "data": (topics.prefix(topics.QUOTE), topics.prefix(topics.TRADE)),
    "execution": (topics.prefix(topics.ORDER), topics.prefix(topics.FILL)),
    "portfolio": (topics.prefix(topics.PNL),),
    "risk": (topics.prefix(topics.ALERT),),
    "compliance": (topics.prefix(topics.ALERT),),
    "news": (topics.prefix(topics.NEWS),),
}
HEALTH_EVERY_S = 1.0


def follow(bus: TuiBus, desk: Desk, stop: threading.Event) -> None:
    """Run until `stop` is set (the body of the app's thread worker)."""
    with bus.client(timeout_ms=300, retries=0) as client, bus.events(client, FOLLOW) as events:
        next_health = 0.0
        was_up: set[str] = set()
        while not stop.is_set():
            if time.monotonic() >= next_health:
                was_up = check_health(client, bus.config, desk, was_up)
                next_health = time.monotonic() + HEALTH_EVERY_S
            for event in events.poll(50):
                desk.apply(event.topic, event.body, ts_ns=event.ts)


VENUE_HEALTH = {"up": "ready", "down": "down"}
"""A real venue's state as a cell of the health strip (connecting shows degraded)."""


def check_health(
    client: BifrostClient, config: BifrostConfig, desk: Desk, was_up: set[str]
) -> set[str]:
    """Ask each service; reload open orders and P&L when one comes (back) up."""
    health: dict[str, str] = {}
    venues: dict[str, str] = {}
    for name in config.services:
        try:
            reply = client.health(name, timeout_ms=300)
        except BifrostError:
            health[name] = "down"
            continue
        health[name] = reply.get("state", "unknown")
        if name == "risk" and "state" in reply.get("details", {}):
            desk.set_trading(reply["details"]["state"])
        if name == "execution":
            for venue, seen in reply.get("details", {}).get("venues", {}).items():
                if seen.get("kind", "") != "paper":
                    venues[f"venue:{venue}"] = VENUE_HEALTH.get(seen.get("state"), "degraded")
    desk.set_health({**health, **venues})
    up = {name for name, state in health.items() if state == "ready"}
    for name in up - was_up:
        reload_state(client, desk, name)
    return up


def reload_news(client: BifrostClient, desk: Desk) -> None:
    """Recent headlines, and the rolling sentiment of the symbols they name."""
    articles = client.call("news", methods.NEWS_LATEST, {"limit": 50})["articles"]
    for article in articles:
        for symbol in article["symbols"]:
            desk.apply("news.reload", {**article, "symbol": symbol, "rolling": None})
    named = {s for a in articles for s in a["symbols"]} | set(desk.symbols)
    desk.set_sentiment(
        {s: client.call("news", methods.NEWS_SENTIMENT, {"symbol": s})["score"] for s in named}
    )


def reload_state(client: BifrostClient, desk: Desk, service: str) -> None:
    """Fetch what events alone would not show: open orders, recent fills, P&L, ticks."""
    try:
        if service == "execution":
            for order in client.call("execution", methods.ORDERS_LIST, {"open_only": True})[
                "orders"
            ]:
                desk.apply("order.reload", order)
            for fill in reversed(
                client.call("execution", methods.FILLS_LIST, {"limit": 20})["fills"]
            ):
                desk.apply("fill.reload", {**fill, "ts": fill["ts_ns"]})
        elif service == "portfolio":
            desk.apply("pnl.reload", client.call("portfolio", methods.PORTFOLIO_PNL, {}))
        elif service == "data":
            desk.set_instruments(client.call("data", methods.INSTRUMENTS_LIST, {})["instruments"])
        elif service == "news":
            reload_news(client, desk)
    except BifrostError:
        pass  # it went down again; the next health check retries
