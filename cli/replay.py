"""Driving a replay from the CLI: start it in the data daemon, follow its bars to the end."""

from __future__ import annotations

from typing import Any

from bifrost.bus import methods
from cli.output import emit_json
from cli.state import CliState


def run_replay(
    state: CliState,
    symbols: list[str],
    timeframe: str,
    start: int | None,
    end: int | None,
    speed: str,
    *,
    stream: bool = False,
) -> dict[str, Any]:
    """Subscribe to replayed bars, start the replay, follow them until its end event.

    The result holds every replayed bar under `events`, in the order published; with
    `stream` each bar is also printed as one JSON line the moment it arrives.
    """
    from bifrost.bus import topics

    with state.client() as client:
        client.require("data")
        prefixes = [topics.replay_bar(timeframe, s) for s in symbols] + [topics.REPLAY + ".end."]
        subscriber = client.subscribe("data", prefixes)
        try:
            subscriber.poll(200)  # let the subscription reach the publisher first
            params = {
                "symbols": symbols,
                "timeframe": timeframe,
                "start": start,
                "end": end,
                "speed": speed,
            }
            result: dict[str, Any] = client.call("data", methods.DATA_REPLAY, params)
            wanted = {topics.replay_bar(timeframe, s) for s in symbols}
            events: list[dict[str, Any]] = []
            done = False
            while not done:
                for event in subscriber.poll(1000):
                    if event.cid != result["replay_id"]:
                        continue
                    if event.topic == result["end_topic"]:
                        done = True
                    elif event.topic in wanted:
                        events.append(event.body)
                        if stream:
                            emit_json(event.body)
        finally:
            subscriber.close()
    return {**result, "events": events}
