"""Synthetic news: a seeded stream of headlines about the feed's symbols, for demos and tests.

Article n of a seed is always the same story (template, symbol, tone), so a restarted
generator that resumes at its count carries on the same sequence; only the time stamps
come from the clock. Templates are written with lexicon words, so positive stories
score above zero, negative ones below, neutral ones at zero.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from bifrost.news.article import RawArticle

SOURCE = "synthetic"
TEMPLATES: dict[str, tuple[str, ...]] = {
    "positive": (
        "{name} beats estimates as quarterly profit surges",
        "Analysts upgrade {name} on strong demand",
        "{name} shares rally after record results",
        "{name} raises outlook; growth exceeds expectations",
        "Investors upbeat as {name} gains on robust sales",
    ),
    "negative": (
        "{name} misses estimates as sales decline",
        "Analysts downgrade {name} citing weak demand",
        "{name} shares plunge after profit warning",
        "{name} faces investigation over accounting concerns",
        "{name} slumps as losses widen",
    ),
    "neutral": (
        "{name} to hold annual shareholder meeting in May",
        "{name} names new chief financial officer",
        "{name} schedules quarterly earnings call",
        "What to watch for {name} this week",
    ),
}
TONES = tuple(TEMPLATES)


class SyntheticNews:
    """Seeded headlines over `symbols`; `next_article(ts)` makes the next one."""

    def __init__(
        self, symbols: list[str], seed: int, name_of: Callable[[str], str], start: int = 0
    ) -> None:
        if not symbols:
            raise ValueError("synthetic news needs at least one symbol")
        self.symbols = list(symbols)
        self.seed = seed
        self.name_of = name_of
        self.count = start

    def story(self, n: int) -> tuple[str, str, str]:
        """(symbol, tone, headline) of article n: a pure function of the seed and n."""
        rng = random.Random(self.seed * 1_000_003 + n)
        symbol = rng.choice(self.symbols)
        tone = rng.choice(TONES)
        headline = rng.choice(TEMPLATES[tone]).format(name=self.name_of(symbol))
        return symbol, tone, headline

    def next_article(self, ts: int) -> RawArticle:
        """The next article, stamped `ts`."""
        n = self.count
        self.count += 1
        symbol, _, headline = self.story(n)
        return RawArticle(
            ts=ts,
            title=headline,
            summary=f"Synthetic story {n} of seed {self.seed} about {symbol}.",
            url=f"synthetic://news/{self.seed}/{n}",
            source=SOURCE,
            symbols=(symbol,),
        )
