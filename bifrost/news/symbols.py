"""Which symbols an article is about: cashtags, bare tickers and company names.

- `$AAPL` (a cashtag) always names a symbol; `$BTC` goes through the alias table.
- A bare ticker in capitals (`NVDA`, `BTC-USD`) counts only when it is a known symbol,
  so words like `CEO` or `IPO` never become symbols.
- Company and asset names come from `data/aliases.csv` (the instruments table has no
  name column), matched as whole words, ignoring case, longest first.
- Symbols the source names itself (a file's `symbols` column) are kept as given.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ALIASES_FILE = Path(__file__).resolve().parent / "data" / "aliases.csv"
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Z][A-Z0-9]{0,5}(?:[.-][A-Z]{1,4})?)\b")
_BARE = re.compile(r"(?<![\w$.-])([A-Z][A-Z0-9]{1,5}(?:-[A-Z]{2,4})?)(?![\w-])")
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,31}$")


class SymbolMapper:
    """Maps article text to symbols, knowing a universe of symbols and name aliases."""

    def __init__(self, symbols: Iterable[str], aliases: dict[str, str] | None = None) -> None:
        self.aliases = {k.lower(): v for k, v in (aliases or {}).items()}
        self._names_of: dict[str, str] = {}
        for name, symbol in (aliases or {}).items():
            self._names_of.setdefault(symbol, name)
        self.known = frozenset(symbols) | frozenset(self.aliases.values())
        names = sorted(self.aliases, key=len, reverse=True)
        self._names = (
            re.compile(
                r"(?<![\w&])(" + "|".join(re.escape(n) for n in names) + r")(?![\w&])",
                re.IGNORECASE,
            )
            if names
            else None
        )

    def symbols_in(self, text: str, given: Iterable[str] = ()) -> tuple[str, ...]:
        """Every symbol the text (or the source) names, sorted."""
        found = {s.strip().upper() for s in given if s and s.strip()}
        for tag in _CASHTAG.findall(text):
            found.add(self.aliases.get(tag.lower(), tag))
        for ticker in _BARE.findall(text):
            if ticker in self.known:
                found.add(ticker)
        if self._names is not None:
            for name in self._names.findall(text):
                found.add(self.aliases[name.lower()])
        return tuple(sorted(s for s in found if SYMBOL_PATTERN.match(s)))

    def name_of(self, symbol: str) -> str:
        """A readable name of `symbol` (its first alias), or the symbol itself."""
        return self._names_of.get(symbol, symbol)


@cache
def read_aliases(path: Path = ALIASES_FILE) -> dict[str, str]:
    """The `alias,symbol` table, in file order (lines starting with # are comments)."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if line.strip() and not line.startswith("#"))
        return {row[0].strip(): row[1].strip() for row in csv.reader(lines) if len(row) >= 2}
