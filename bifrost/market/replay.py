"""Replays stored bars onto the bus in time order, paced against their own timestamps.

A replay turns a frame of bars (any symbols, one timeframe) into a queue ordered
by (ts, symbol). Each call of `due(now)` returns the bars whose replay time has
come: at speed S, a bar `dt` after the first is due `dt / S` after the start; at
speed `max` everything is due at once (the caller publishes it in chunks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bifrost.errors import BadRequest

if TYPE_CHECKING:
    import polars as pl

MAX_CHUNK = 5000
"""Most bars handed out by one `due` call, so the daemon loop stays responsive."""


def parse_speed(text: str) -> float | None:
    """`10x` -> 10.0, `max` -> None (as fast as possible); BadRequest otherwise."""
    if text == "max":
        return None
    try:
        value = float(text.removesuffix("x"))
    except ValueError:
        value = 0.0
    if not value > 0:
        raise BadRequest(f"speed '{text}' must be like 10x, 0.5x or max")
    return value


class Replay:
    """One running replay: the remaining bars and the pace to hand them out at."""

    def __init__(self, replay_id: str, bars: pl.DataFrame, speed: float | None, start_ns: int):
        self.replay_id = replay_id
        self.rows: list[dict[str, Any]] = bars.sort(["ts", "symbol"]).to_dicts()
        self.speed = speed
        self.started_ns = start_ns
        self.first_ts = self.rows[0]["ts"] if self.rows else 0
        self.position = 0

    @property
    def total(self) -> int:
        """How many bars the replay holds."""
        return len(self.rows)

    @property
    def finished(self) -> bool:
        """True when every bar has been handed out."""
        return self.position >= len(self.rows)

    def due(self, now_ns: int) -> list[dict[str, Any]]:
        """The next bars whose replay time has come (at most MAX_CHUNK)."""
        end = min(len(self.rows), self.position + MAX_CHUNK)
        if self.speed is not None:
            reached = self.first_ts + (now_ns - self.started_ns) * self.speed
            limit = self.position
            while limit < end and self.rows[limit]["ts"] <= reached:
                limit += 1
            end = limit
        chunk = self.rows[self.position : end]
        self.position = end
        return chunk
