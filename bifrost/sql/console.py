"""Read-only SQL across every service's store, each one a schema named after its file.

For each service whose store exists under the data dir (data, news, portfolio,
execution, risk, compliance, strategy, ml, analytics, micro):

- when its owner daemon answers, DuckDB cannot open the file from this process, so
  the tables the query names are fetched from the owner (`sql.export`, Arrow IPC)
  and loaded into an in-memory catalog of the same name;
- when the owner is down, the file is ATTACHed READ_ONLY.

Either way `data.bars` or `portfolio.equity_snapshots` mean the same table. Only one
read statement runs (see `statements`); after attaching, file access and further
configuration are switched off, so the query cannot reach any other file either.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from bifrost.bus import methods
from bifrost.errors import BadRequest, NotFound, Unavailable
from bifrost.sql.statements import check_read_only, referenced_tables
from bifrost.sql.tables import fetch_export

if TYPE_CHECKING:
    import polars as pl

    from bifrost.client import BifrostClient

STORES: dict[str, str] = {
    "data": "data",
    "news": "news",
    "portfolio": "portfolio",
    "execution": "execution",
    "risk": "risk",
    "compliance": "compliance",
    "strategy": "strategy",
    "ml": "ml",
    "analytics": "analytics",
    "microstructure": "micro",
}
"""Service -> schema name, which is also the stem of its file (`micro.duckdb`)."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    """A query's rows and where each schema came from ("daemon" or "file")."""

    frame: pl.DataFrame
    sources: dict[str, str]

    def to_dict(self, limit: int | None = None) -> dict[str, Any]:
        """Columns, rows (plain values) and sources, for JSON."""
        frame = self.frame if limit is None else self.frame.head(limit)
        return {
            "columns": frame.columns,
            "types": [str(t) for t in frame.dtypes],
            "rows": [list(row) for row in frame.rows()],
            "row_count": self.frame.height,
            "sources": self.sources,
        }


class SqlConsole:
    """Runs read-only queries over the stores of one data dir and config."""

    def __init__(self, home: Path, client: BifrostClient | None) -> None:
        self.home = home
        self.client = client

    def store_file(self, service: str) -> Path:
        """Where `service` keeps its DuckDB file."""
        return self.home / f"{STORES[service]}.duckdb"

    def sources(self) -> dict[str, str]:
        """Schema -> "daemon" or "file" for every store that can be read right now."""
        out: dict[str, str] = {}
        for service, schema in STORES.items():
            if self.client is not None and self.client.answers(service):
                out[schema] = "daemon"
            elif self.store_file(service).exists():
                out[schema] = "file"
        return out

    def tables(self) -> list[dict[str, Any]]:
        """Every readable table: schema, table, columns and rows."""
        from bifrost.store.export import list_tables

        out = []
        for schema, source in self.sources().items():
            service = _service_of(schema)
            if source == "daemon":
                assert self.client is not None
                listed = self.client.call(service, methods.SQL_TABLES, {}, idempotent=True)[
                    "tables"
                ]
            else:
                connection = self._open_file(service)
                try:
                    listed = list_tables(connection)
                finally:
                    connection.close()
            out += [{"schema": schema, "source": source, **table} for table in listed]
        return out

    def query(self, sql: str) -> QueryResult:
        """Run one read statement; BadRequest for anything that writes or does not parse."""
        check_read_only(sql)
        sources = self.sources()
        wanted = referenced_tables(sql, set(STORES.values()))
        connection = duckdb.connect(":memory:")
        try:
            for schema, source in sources.items():
                if source == "daemon":
                    self._load_from_daemon(connection, schema, wanted)
                else:
                    self._attach_file(connection, schema)
            connection.execute("SET enable_external_access = false")
            connection.execute("SET lock_configuration = true")
            frame = self._run(connection, sql, wanted, sources)
        finally:
            connection.close()
        return QueryResult(frame, sources)

    def _run(
        self,
        connection: duckdb.DuckDBPyConnection,
        sql: str,
        wanted: set[tuple[str, str]],
        sources: dict[str, str],
    ) -> pl.DataFrame:
        missing = sorted({schema for schema, _ in wanted} - set(sources))
        if missing:
            raise NotFound(
                f"no store for {', '.join(missing)} under {self.home} "
                "(its service has not run here yet)",
                {"schemas": missing},
            )
        try:
            return connection.sql(sql).pl()
        except duckdb.Error as exc:
            raise BadRequest(f"query failed: {_message(exc)}") from None

    def _attach_file(self, connection: duckdb.DuckDBPyConnection, schema: str) -> None:
        path = self.store_file(_service_of(schema))
        try:
            connection.execute(f"ATTACH '{_literal(path)}' AS {schema} (READ_ONLY)")
        except duckdb.Error as exc:
            raise Unavailable(f"cannot read {path}: {_message(exc)}", {"path": str(path)}) from None

    def _load_from_daemon(
        self, connection: duckdb.DuckDBPyConnection, schema: str, wanted: set[tuple[str, str]]
    ) -> None:
        """An in-memory catalog `schema` holding the named tables, exported by the owner."""
        assert self.client is not None
        service = _service_of(schema)
        connection.execute(f"ATTACH ':memory:' AS {schema}")
        for table in sorted(t for s, t in wanted if s == schema):
            try:
                frame = fetch_export(self.client, service, table)
            except NotFound as exc:
                raise NotFound(f"{schema}.{table}: {exc.message}", exc.details) from None
            connection.register("exported_table", frame.to_arrow())
            try:
                target = f"{schema}.main.{_identifier(table)}"
                connection.execute(f"CREATE TABLE {target} AS SELECT * FROM exported_table")
            finally:
                connection.unregister("exported_table")

    def _open_file(self, service: str) -> duckdb.DuckDBPyConnection:
        path = self.store_file(service)
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.Error as exc:
            raise Unavailable(f"cannot read {path}: {_message(exc)}", {"path": str(path)}) from None


def _service_of(schema: str) -> str:
    return next(service for service, name in STORES.items() if name == schema)


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _message(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]
