"""L2 book updates per second: our numba OrderBook beside two baselines in the same run.

The updates are the synthetic feed's own book deltas (10 levels a side, one symbol):
each step moves the touch and refreshes a few deeper levels, removals first. The same
(side, price, size) arrays go to:

- ours: `OrderBook.apply_arrays` (tick-indexed level arrays, level counts and best
  level kept, the window moved when a price falls outside it);
- a plain numba loop: one hand-written function keeping the same book (sizes by tick,
  counts, best levels) for prices known to fit its array;
- a bare numba store loop: the sizes alone, no counts or best (the floor of any numba
  book; it cannot answer "best bid" without a scan);
- a pure-Python book of one dict per side.

Also timed, for context: `OrderBook.apply_delta` one BookDelta at a time (the path a
live event takes). Best of `--repeat` runs each.

Usage: python bench/micro_book.py [--steps N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bifrost.feed.config import FeedConfig  # noqa: E402
from bifrost.feed.synthetic import SyntheticFeed  # noqa: E402
from bifrost.micro.book import OrderBook  # noqa: E402
from bifrost.model.market import BookDelta, BookSide  # noqa: E402

TICK = 0.01


def feed_deltas(steps: int) -> list[BookDelta]:
    """The synthetic feed's book deltas for one symbol over `steps` steps."""
    config = FeedConfig(symbols=("AAPL",), quotes_per_second=1000, book_levels=10, seed=5)
    feed = SyntheticFeed(config, 0)
    events = feed.advance(steps * feed.step_ns, max_steps=steps)
    return [e for e in events if isinstance(e, BookDelta)]


def as_arrays(deltas: list[BookDelta]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The deltas' changes as (side 0/1, price, size) arrays, in order."""
    changes = [c for d in deltas for c in d.changes]
    sides = np.array([0 if side is BookSide.BID else 1 for side, _, _ in changes], dtype=np.int64)
    prices = np.array([p for _, p, _ in changes])
    sizes = np.array([s for _, _, s in changes])
    return sides, prices, sizes


@njit(cache=True)
def plain_loop(levels, state, base, sides, prices, sizes, tick):
    """The plain loop: sizes by tick above `base`, and state = [best bid, best ask, bid
    levels, ask levels] kept as it goes (best -1 when a side is empty)."""
    for i in range(sides.shape[0]):
        side = sides[i]
        idx = np.int64(np.rint(prices[i] / tick)) - base
        size = sizes[i]
        old = levels[side, idx]
        levels[side, idx] = size
        if old > 0.0:
            if size <= 0.0:
                state[2 + side] -= 1
                if idx == state[side]:
                    j = -1
                    if state[2 + side] > 0:
                        step = -1 if side == 0 else 1
                        j = idx + step
                        while levels[side, j] <= 0.0:
                            j += step
                    state[side] = j
        elif size > 0.0:
            state[2 + side] += 1
            best = state[side]
            if best < 0 or (idx > best if side == 0 else idx < best):
                state[side] = idx


@njit(cache=True)
def store_loop(levels, base, sides, prices, sizes, tick):
    """The floor: the sizes written into one array per side, nothing else kept."""
    for i in range(sides.shape[0]):
        levels[sides[i], np.int64(np.rint(prices[i] / tick)) - base] = sizes[i]


def dict_book(sides: list[int], prices: list[float], sizes: list[float]) -> list[dict]:
    """The pure-Python baseline: a dict per side, a zero size deletes."""
    book: list[dict[float, float]] = [{}, {}]
    for side, price, size in zip(sides, prices, sizes, strict=True):
        if size:
            book[side][price] = size
        else:
            book[side].pop(price, None)
    return book


def best_rates(runs: dict, updates: int, repeat: int) -> dict[str, float]:
    """Updates per second of the fastest of `repeat` rounds of each run, the runs taking
    turns within a round so that load from elsewhere hits them alike."""
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: updates / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    deltas = feed_deltas(args.steps)
    sides, prices, sizes = as_arrays(deltas)
    updates = len(sides)
    ticks = np.rint(prices / TICK).astype(np.int64)
    base = int(ticks.min())
    span = int(ticks.max()) - base + 1

    def ours() -> None:
        OrderBook("AAPL", TICK).apply_arrays(sides, prices, sizes)

    def plain() -> None:
        state = np.array([-1, -1, 0, 0], dtype=np.int64)
        plain_loop(np.zeros((2, span)), state, base, sides, prices, sizes, TICK)

    def store() -> None:
        store_loop(np.zeros((2, span)), base, sides, prices, sizes, TICK)

    def per_event() -> None:
        book = OrderBook("AAPL", TICK)
        for delta in deltas:
            book.apply_delta(delta)

    lists = (sides.tolist(), prices.tolist(), sizes.tolist())
    for run in (ours, plain, store):
        run()  # compile (or load the cache) outside the timing
    # The books agree: same levels, same counts, same best bid and ask.
    check = OrderBook("AAPL", TICK)
    check.apply_arrays(sides, prices, sizes)
    levels = np.zeros((2, span))
    state = np.array([-1, -1, 0, 0], dtype=np.int64)
    plain_loop(levels, state, base, sides, prices, sizes, TICK)
    assert check.level_counts() == (state[2], state[3])
    assert check.best_bid() == (round((base + state[0]) * TICK, 10), levels[0, state[0]])
    assert check.best_ask() == (round((base + state[1]) * TICK, 10), levels[1, state[1]])

    rates = best_rates({"ours": ours, "plain_numba": plain, "store_numba": store}, updates,
                       args.repeat)  # fmt: skip
    slow = {"python_dict": lambda: dict_book(*lists), "ours_per_event": per_event}
    rates.update(best_rates(slow, updates, max(1, args.repeat // 3)))
    ratio_plain = rates["ours"] / rates["plain_numba"]
    ratio_store = rates["ours"] / rates["store_numba"]
    ratio_dict = rates["ours"] / rates["python_dict"]
    print(f"{updates:,} book updates ({len(deltas):,} deltas, 10 levels a side)")
    print(f"{'book':44} {'updates/s':>14}")
    for name, label in (
        ("ours", "ours: OrderBook.apply_arrays (numba)"),
        ("plain_numba", "plain numba loop, same book"),
        ("store_numba", "bare numba store loop (floor)"),
        ("python_dict", "pure-Python dict book"),
        ("ours_per_event", "ours: apply_delta per event (context)"),
    ):
        print(f"{label:44} {rates[name]:14,.0f}")
    print(
        f"ours / plain numba: {ratio_plain:.0%} (goal >= 50%: "
        f"{'pass' if ratio_plain >= 0.5 else 'FAIL'}); ours / bare store loop: "
        f"{ratio_store:.0%}; ours / Python dict: {ratio_dict:.1f}x"
    )
    ratios = {"ratio_plain": ratio_plain, "ratio_store": ratio_store, "ratio_dict": ratio_dict}
    print(json.dumps({"updates": updates, **rates, **ratios}))


if __name__ == "__main__":
    main()
