"""Market data for the CLI and TUI: through the data daemon when it runs, else from its file.

Only the data daemon writes data.duckdb while it runs, so when it answers every
request goes through it. When it does not, the gateway opens the file itself
(read-only for questions, read-write for imports) and runs the very same catalog
and import code in-process, so both routes give the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bifrost.bus import methods
from bifrost.bus.arrow import ipc_to_frame
from bifrost.client import BifrostClient
from bifrost.errors import NotFound
from bifrost.model.instrument import Instrument

if TYPE_CHECKING:
    import polars as pl

SERVICE = "data"
IMPORT_TIMEOUT_MS = 600_000


class DataGateway:
    """One way in to market data, whichever route is open."""

    def __init__(self, client: BifrostClient, home: Path) -> None:
        self.client = client
        self.home = home
        self.via = "daemon" if client.answers(SERVICE) else "file"

    @property
    def store_file(self) -> Path:
        """The data service's DuckDB file."""
        return self.home / "data.duckdb"

    def _call(self, method: str, params: dict[str, Any], **options: Any) -> Any:
        return self.client.call(SERVICE, method, params, **options)

    def _open(self, read_only: bool) -> Any:
        from bifrost.store.database import open_store

        return open_store(self.store_file, read_only=read_only)

    def series(self) -> list[dict[str, Any]]:
        """Stored series: symbol, timeframe, first, last, rows."""
        if self.via == "daemon":
            return list(self._call(methods.DATA_LIST, {})["series"])
        from bifrost.market.catalog import MarketCatalog

        if not self.store_file.exists():
            return []
        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).series()

    def bars(
        self, symbol: str, timeframe: str, start: int | None = None, end: int | None = None
    ) -> pl.DataFrame:
        """Bars of one symbol (stored, resampled or built from trades)."""
        params = {"symbol": symbol, "timeframe": timeframe, "start": start, "end": end}
        if self.via == "daemon":
            reply = self._call(methods.DATA_BARS, params, idempotent=True, timeout_ms=60_000)
            return ipc_to_frame(reply["arrow"])
        from bifrost.market.catalog import MarketCatalog

        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).bars(symbol, timeframe, start, end)

    def bars_of_symbols(
        self,
        symbols: Sequence[str],
        timeframe: str,
        start: int | None = None,
        end: int | None = None,
    ) -> dict[str, pl.DataFrame]:
        """Bars of each of `symbols` (as `bars` gives them) in one request, read with one
        query per source timeframe instead of one request and one query per symbol."""
        from bifrost.market.catalog import MarketCatalog, split_by_symbol

        if self.via == "daemon":
            params = {"symbols": list(symbols), "timeframe": timeframe, "start": start, "end": end}
            reply = self._call(methods.DATA_BARS_MANY, params, idempotent=True, timeout_ms=60_000)
            return split_by_symbol(ipc_to_frame(reply["arrow"]), symbols)
        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).bars_of_symbols(symbols, timeframe, start, end)

    def quotes(self, symbol: str, start: int | None = None, end: int | None = None) -> pl.DataFrame:
        """Recorded quotes of one symbol (ts, bid, ask, bid_size, ask_size)."""
        params = {"symbol": symbol, "start": start, "end": end}
        if self.via == "daemon":
            reply = self._call(methods.DATA_QUOTES, params, idempotent=True, timeout_ms=60_000)
            return ipc_to_frame(reply["arrow"])
        from bifrost.market.catalog import MarketCatalog

        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).quotes(symbol, start, end)

    def trades(self, symbol: str, start: int | None = None, end: int | None = None) -> pl.DataFrame:
        """Recorded trades of one symbol (ts, price, size, side); may be empty."""
        params = {"symbol": symbol, "start": start, "end": end}
        if self.via == "daemon":
            reply = self._call(methods.DATA_TRADES, params, idempotent=True, timeout_ms=60_000)
            return ipc_to_frame(reply["arrow"])
        from bifrost.market.catalog import MarketCatalog

        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).trades(symbol, start, end)

    def latest_ticks(self, table: str, symbol: str, window_ns: int) -> pl.DataFrame:
        """Recorded `quotes` or `trades` of one symbol in the `window_ns` before its latest."""
        if self.via == "daemon":
            params = {"table": table, "symbol": symbol, "window_ns": window_ns}
            reply = self._call(
                methods.DATA_LATEST_TICKS, params, idempotent=True, timeout_ms=60_000
            )
            return ipc_to_frame(reply["arrow"])
        from bifrost.market.catalog import MarketCatalog

        with self._open(read_only=True) as connection:
            return MarketCatalog(connection).latest_ticks(table, symbol, window_ns)

    def import_files(self, paths: list[Path], **options: Any) -> dict[str, Any]:
        """Import files (one transaction); returns the import report.

        `options` are ImportOptions fields (symbol, timeframe, fmt, tz, strict); None
        means the default.
        """
        from bifrost.market.ingest.options import ImportOptions

        chosen = ImportOptions(**{k: v for k, v in options.items() if v is not None})
        absolute = [str(p.resolve()) for p in paths]
        if self.via == "daemon":
            params = chosen.to_wire(absolute)
            return dict(self._call(methods.DATA_IMPORT, params, timeout_ms=IMPORT_TIMEOUT_MS))
        from bifrost.market.ingest.engine import import_files
        from bifrost.store.instruments import find_instrument

        with self._open(read_only=False) as connection:
            report = import_files(
                connection,
                [Path(p) for p in absolute],
                calendar_for=lambda s: find_instrument(connection, s).calendar,
                **chosen.engine_kwargs(),
            )
            return report.to_dict()

    def quarantine(self, import_id: str | None = None) -> dict[str, Any]:
        """Rows in quarantine, of one import or of all."""
        if self.via == "daemon":
            params = {"import_id": import_id}
            return dict(self._call(methods.DATA_QUARANTINE_LIST, params, idempotent=True))
        from bifrost.market.ingest.quarantine import list_quarantine

        if not self.store_file.exists():
            if import_id is not None:
                raise NotFound(f"no import {import_id}", {"import_id": import_id})
            return {"import_id": None, "count": 0, "rows": []}
        with self._open(read_only=True) as connection:
            return list_quarantine(connection, import_id)

    def release(self, import_id: str, line: int | None = None) -> dict[str, Any]:
        """Re-check quarantined rows of an import (at `line`) and store those that pass."""
        if self.via == "daemon":
            params = {"import_id": import_id, "line": line}
            return dict(self._call(methods.DATA_QUARANTINE_RELEASE, params, timeout_ms=60_000))
        from bifrost.market.ingest.quarantine import release_rows

        with self._open(read_only=False) as connection:
            return release_rows(connection, import_id, line)

    def validate(self, symbol: str, timeframe: str) -> dict[str, Any]:
        """Re-check one stored series."""
        if self.via == "daemon":
            params = {"symbol": symbol, "timeframe": timeframe}
            return dict(
                self._call(methods.DATA_VALIDATE, params, idempotent=True, timeout_ms=60_000)
            )
        from bifrost.market.ingest.engine import validate_stored
        from bifrost.store.instruments import find_instrument

        with self._open(read_only=True) as connection:
            calendar = find_instrument(connection, symbol).calendar
            return validate_stored(connection, symbol, timeframe, calendar=calendar)

    def instruments(self) -> list[dict[str, Any]]:
        """Every stored instrument."""
        if self.via == "daemon":
            return list(self._call(methods.INSTRUMENTS_LIST, {})["instruments"])
        from bifrost.store.instruments import load_instruments

        if not self.store_file.exists():
            return []
        with self._open(read_only=True) as connection:
            return [i.to_dict() for i in load_instruments(connection)]

    def add_instrument(self, values: dict[str, Any]) -> dict[str, Any]:
        """Store or replace one instrument (unset fields take the symbol's defaults)."""
        given = {k: v for k, v in values.items() if v is not None}
        if self.via == "daemon":
            return dict(self._call(methods.INSTRUMENTS_ADD, given, idempotent=True))
        from bifrost.store.instruments import save_instrument

        instrument = Instrument.from_dict(
            {**Instrument.default_for(given["symbol"]).to_dict(), **given}
        )
        with self._open(read_only=False) as connection:
            save_instrument(connection, instrument)
        return instrument.to_dict()
