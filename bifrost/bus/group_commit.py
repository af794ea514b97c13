"""Replies held until what they report is durable, so one commit answers many requests.

A service that must make a change durable before it answers (execution's journal,
compliance's audit decisions) handles every request the loop read in one turn, each
returning `reply(ctx, result)` or `refuse(ctx, error)`; after the turn `run()` commits
once (one fdatasync for the whole group), then sends the replies, in order, and then
announces what was committed (events): the callers waiting on the group hear first.
A failed commit answers every held request INTERNAL: none of them is reported done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bifrost.bus.rpc import CallContext, Deferred
from bifrost.errors import BifrostError, Internal


class GroupCommit:
    """Holds the replies of one loop turn; `run()` commits, then answers them."""

    def __init__(
        self, commit: Callable[[], Any], announce: Callable[[], Any] = lambda: None
    ) -> None:
        self.commit = commit
        self.announce = announce
        self._held: list[tuple[Deferred, Any, BifrostError | None]] = []
        self.groups = 0
        """Commits that answered at least one request."""
        self.largest = 0
        """The most requests one commit answered."""

    @property
    def waiting(self) -> int:
        """Replies held for the next commit."""
        return len(self._held)

    def reply(self, ctx: CallContext, result: Any) -> Deferred:
        """Answer `result` once the turn's changes are committed."""
        deferred = ctx.defer()
        self._held.append((deferred, result, None))
        return deferred

    def refuse(self, ctx: CallContext, error: BifrostError) -> Deferred:
        """Answer `error` once the turn's changes are committed (a refusal may follow a
        change the same request made, e.g. a replace whose cancel went through)."""
        deferred = ctx.defer()
        self._held.append((deferred, None, error))
        return deferred

    def run(self) -> int:
        """Commit, send the held replies, announce; returns how many were answered."""
        held, self._held = self._held, []
        try:
            self.commit()
        except Exception as exc:
            failure = Internal(f"the commit failed: {type(exc).__name__}: {exc}")
            for deferred, _, _ in held:
                deferred.reject(failure)
            raise
        for deferred, result, error in held:
            if error is None:
                deferred.resolve(result)
            else:
                deferred.reject(error)
        self.announce()
        if held:
            self.groups += 1
            self.largest = max(self.largest, len(held))
        return len(held)
