"""Lexicon sentiment: a finance word list with intensifiers and negation, scored in [-1, 1].

The lexicon ships as package data (`data/lexicon.csv`), so scoring needs no network
and no model. A text is split into lower-case words; each sentiment word adds its
valence, made stronger or weaker by the intensifiers right before it and flipped
(and damped, as a negated word rarely means its full opposite) when a negator
("not", "no", "never", "n't" ...) stands up to `NEGATION_SCOPE` words before it
in the same clause. The sum is squashed into (-1, 1) by x / sqrt(x^2 + ALPHA), the
normalisation VADER uses, so one strong word reads about 0.5 and many agreeing
words approach 1.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bifrost.errors import BadRequest

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "lexicon.csv"
NEGATION_SCOPE = 3
"""How many words after a negator it still flips."""
NEGATION_FACTOR = -0.75
"""A negated word's valence is multiplied by this: "not good" is bad, but less than "bad"."""
ALPHA = 15.0
_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*|[.!?;:]")
_CLAUSE_ENDS = frozenset({".", "!", "?", ";", ":", "but", "however", "although", "though"})


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word valences, intensifiers and negators; `score(text)` rates a text."""

    valence: dict[str, float]
    intensity: dict[str, float]
    negators: frozenset[str]

    def score(self, text: str) -> float:
        """The text's sentiment in [-1, 1] (0 when no sentiment word occurs)."""
        total = 0.0
        scope = 0
        boost = 0.0
        for token in tokenize(text):
            if token in _CLAUSE_ENDS:
                scope, boost = 0, 0.0
            elif token in self.negators or token.endswith("n't"):
                scope = NEGATION_SCOPE
            elif token in self.intensity:
                boost += self.intensity[token]
                scope = max(scope - 1, 0)
            else:
                value = self.valence.get(token)
                if value is not None:
                    value *= 1.0 + boost
                    if scope:
                        value *= NEGATION_FACTOR
                    total += value
                boost = 0.0
                scope = max(scope - 1, 0)
        return total / math.sqrt(total * total + ALPHA) if total else 0.0


def tokenize(text: str) -> list[str]:
    """Lower-case words (with inner apostrophes and hyphens) and clause punctuation."""
    return _TOKEN.findall(text.lower().replace("\u2019", "'"))


def read_lexicon(path: Path) -> Lexicon:
    """Read a `term,kind,value` file (lines starting with # are comments)."""
    valence: dict[str, float] = {}
    intensity: dict[str, float] = {}
    negators: set[str] = set()
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        for number, row in enumerate(csv.reader(lines), 1):
            term, kind, value = [*row, "", "", ""][:3]
            term = term.strip().lower()
            try:
                if kind == "word":
                    valence[term] = float(value)
                elif kind == "intensifier":
                    intensity[term] = float(value)
                elif kind == "negator":
                    negators.add(term)
                else:
                    raise ValueError(f"unknown kind '{kind}'")
            except ValueError as exc:
                raise BadRequest(f"{path}: entry {number} ('{term}'): {exc}") from None
    return Lexicon(valence, intensity, frozenset(negators))


@cache
def finance_lexicon() -> Lexicon:
    """The lexicon that ships with Bifrost (read once)."""
    return read_lexicon(LEXICON_FILE)
