"""Market data questions answered from a store connection, the same in-process and in the daemon.

The data daemon serves these over RPC; the CLI calls them directly on a read-only
connection when the daemon is down, so both paths give identical answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.errors import BadRequest, NotFound
from bifrost.market.timeframes import timeframe_ns
from bifrost.model.instrument import Instrument
from bifrost.store.bars import bars_of_symbols, list_series, resample_symbols
from bifrost.store.instruments import load_instruments, save_instrument
from bifrost.store.ticks import trades_to_bars

if TYPE_CHECKING:
    import polars as pl


class MarketCatalog:
    """Read and maintain the bars and instruments of one store."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def series(self) -> list[dict[str, Any]]:
        """Every stored (symbol, timeframe) with its first and last bar and row count."""
        return list_series(self.connection).to_dicts()

    def bars(
        self,
        symbol: str,
        timeframe: str = "1d",
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> pl.DataFrame:
        """Bars of `symbol` at `timeframe`: stored, else resampled from a finer stored
        timeframe, else aggregated from recorded trades; NotFound when none of these exist."""
        return self.bars_of_symbols([symbol], timeframe, start_ns, end_ns)[symbol]

    def bars_of_symbols(
        self,
        symbols: Sequence[str],
        timeframe: str = "1d",
        start_ns: int | None = None,
        end_ns: int | None = None,
    ) -> dict[str, pl.DataFrame]:
        """`bars` of each of `symbols`, in one query per source (the symbols stored at
        `timeframe`, then those resampled from each finer stored timeframe) instead of
        one per symbol; NotFound names the first symbol that has no bars at all."""
        stored: dict[str, set[str]] = {}
        for row in self.series():
            stored.setdefault(row["symbol"], set()).add(row["timeframe"])
        by_source: dict[str | None, list[str]] = {}
        for symbol in dict.fromkeys(symbols):
            source = source_timeframe(stored.get(symbol, set()), timeframe)
            by_source.setdefault(source, []).append(symbol)
        frames: dict[str, pl.DataFrame] = {}
        for source, group in by_source.items():
            if source is None:
                frames.update((s, self._from_trades(s, timeframe, start_ns, end_ns)) for s in group)
                continue
            if source == timeframe:
                frame = bars_of_symbols(self.connection, group, timeframe, start_ns, end_ns)
            else:
                frame = resample_symbols(
                    self.connection, group, source, timeframe, start_ns, end_ns
                )
            frames.update(split_by_symbol(frame, group))
        return {symbol: frames[symbol] for symbol in symbols}

    def _from_trades(
        self, symbol: str, timeframe: str, start_ns: int | None, end_ns: int | None
    ) -> pl.DataFrame:
        """Bars aggregated from the recorded trades of a symbol that has no stored bars."""
        built: pl.DataFrame = trades_to_bars(self.connection, symbol, timeframe, start_ns, end_ns)
        if built.height:
            return built
        known = ", ".join(sorted({row["symbol"] for row in self.series()})) or "none"
        raise NotFound(f"no {timeframe} bars for {symbol} (stored symbols: {known})")

    def quotes(
        self, symbol: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> pl.DataFrame:
        """Recorded quotes of `symbol` with start <= ts < end, in time order."""
        from bifrost.store.database import query_frame

        frame = query_frame(
            self.connection,
            "SELECT ts, bid, ask, bid_size, ask_size FROM quotes "
            "WHERE symbol = ? AND ts >= ? AND ts < ? ORDER BY ts",
            [symbol, start_ns or -(2**62), end_ns or 2**62],
        )
        if frame.height == 0:
            raise NotFound(f"no recorded quotes for {symbol} in that range")
        return frame

    def trades(
        self, symbol: str, start_ns: int | None = None, end_ns: int | None = None
    ) -> pl.DataFrame:
        """Recorded trades of `symbol` with start <= ts < end, in time order (may be empty)."""
        from bifrost.store.ticks import trades_between

        frame: pl.DataFrame = trades_between(self.connection, symbol, start_ns, end_ns)
        return frame

    def latest_ticks(self, table: str, symbol: str, window_ns: int) -> pl.DataFrame:
        """The recorded `quotes` or `trades` of `symbol` in the `window_ns` before its latest
        one, in time order (empty when none are recorded)."""
        from bifrost.store.ticks import latest_rows

        if table not in ("quotes", "trades"):
            raise BadRequest(f"table must be quotes or trades, not {table!r}")
        frame: pl.DataFrame = latest_rows(self.connection, table, symbol, window_ns)
        return frame

    def instruments(self) -> list[Instrument]:
        """Every stored instrument."""
        return load_instruments(self.connection)

    def add_instrument(self, instrument: Instrument) -> None:
        """Store (or replace) an instrument."""
        save_instrument(self.connection, instrument)


def source_timeframe(stored: Iterable[str], timeframe: str) -> str | None:
    """The stored timeframe that `timeframe` bars are read from: itself, else the coarsest
    finer one that divides it, else None (build them from trades)."""
    stored = set(stored)
    if timeframe in stored:
        return timeframe
    wanted = timeframe_ns(timeframe)
    finer = sorted(
        (timeframe_ns(tf), tf)
        for tf in stored
        if timeframe_ns(tf) < wanted and wanted % timeframe_ns(tf) == 0
    )
    return finer[-1][1] if finer else None


def split_by_symbol(frame: pl.DataFrame, symbols: Iterable[str]) -> dict[str, pl.DataFrame]:
    """`frame` (bars of several symbols, each in time order) as one frame per symbol; a
    symbol without rows gets an empty frame with the same columns."""
    parts = frame.partition_by("symbol", as_dict=True, maintain_order=True)
    return {symbol: parts.get((symbol,), frame.clear()) for symbol in symbols}
