"""Which SQL the console accepts (one read statement) and which service tables it names.

DuckDB parses the text itself: `extract_statements` gives each statement's type, and
`json_serialize_sql` the syntax tree whose `BASE_TABLE` nodes name the tables read.
"""

from __future__ import annotations

import json

import duckdb

from bifrost.errors import BadRequest

READ_TYPES = frozenset({duckdb.StatementType.SELECT})
"""Statement types the console runs: SELECT (with WITH, VALUES, FROM-first, SHOW,
DESCRIBE, SUMMARIZE, which DuckDB parses as SELECT). Everything else is refused."""


def check_read_only(sql: str) -> duckdb.Statement:
    """The one statement of `sql` if it only reads; BadRequest naming the problem otherwise."""
    if not sql.strip():
        raise BadRequest("empty query: give one SELECT statement")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise BadRequest(f"cannot parse the query: {_first_line(exc)}") from None
    if len(statements) != 1:
        raise BadRequest(f"give exactly one statement (got {len(statements)})")
    statement = statements[0]
    if statement.type not in READ_TYPES:
        kind = statement.type.name
        raise BadRequest(
            f"the SQL console is read-only: {kind} statements are refused "
            "(only SELECT, WITH, VALUES, SHOW, DESCRIBE and SUMMARIZE run)",
            {"statement_type": kind},
        )
    return statement


def referenced_tables(sql: str, schemas: set[str]) -> set[tuple[str, str]]:
    """(schema, table) of every table the query reads from one of `schemas`.

    `data.bars` and `data.main.bars` both name table `bars` of schema `data`; an
    unqualified name (a CTE, or a mistake DuckDB will report) names none.
    """
    connection = duckdb.connect()
    try:
        rows = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    finally:
        connection.close()
    tree = json.loads(rows[0][0])
    if tree.get("error"):
        # The parser accepted it (check_read_only ran first) but the serializer does not
        # cover every form; such a query can still read attached files.
        return set()
    found: set[tuple[str, str]] = set()
    for node in _base_tables(tree):
        catalog, schema, table = (
            node[key].lower() for key in ("catalog_name", "schema_name", "table_name")
        )
        if catalog in schemas:
            found.add((catalog, table))
        elif schema in schemas:
            found.add((schema, table))
    return found


def _base_tables(node: object) -> list[dict[str, str]]:
    """Every BASE_TABLE node of a serialized syntax tree (subqueries and CTEs included)."""
    out: list[dict[str, str]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "BASE_TABLE":
                out.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]
