"""Which SQL the console accepts (one read statement) and which service tables it names.

DuckDB parses the text itself: `extract_statements` gives each statement's type, and
`json_serialize_sql` the syntax tree whose `BASE_TABLE` nodes name the tables read. A
statement of type SELECT can still hide a write (`WITH x AS (DELETE ... RETURNING *)
SELECT ...`), a side effect (`SELECT nextval(...)`, `FROM checkpoint()`) or a file read
(`read_csv(...)`, `FROM 'file.csv'`), so the whole tree is checked too: only plain query
nodes, no function with an effect, no file. The console also switches file access off
before it runs anything, so a form this check does not know still cannot reach a file.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from bifrost.errors import BadRequest

READ_TYPES = frozenset({duckdb.StatementType.SELECT})
"""Statement types the console runs: SELECT (with WITH, VALUES, FROM-first, SHOW,
DESCRIBE, SUMMARIZE, which DuckDB parses as SELECT). Everything else is refused."""

READ_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE"})
"""Query nodes that only read; DELETE, INSERT, UPDATE, MERGE nodes inside a CTE are refused."""

EFFECT_FUNCTIONS = frozenset(
    {"nextval", "currval", "setseed", "checkpoint", "force_checkpoint", "query", "query_table"}
)
"""Functions that change state (sequences, the random seed, the files) or run other SQL."""

FILE_FUNCTIONS = frozenset({"glob", "sniff_csv", "load_aws_credentials", "duckdb_secrets"})
"""Functions that reach files or secrets; `read_*`, `parquet_*` and `*_scan` are too."""


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
    check_tree_reads_only(_syntax_tree(sql))
    return statement


def check_tree_reads_only(tree: dict[str, Any]) -> None:
    """BadRequest unless every node of a serialized SELECT only reads the stores' tables."""
    if tree.get("error"):
        raise BadRequest(
            "the SQL console is read-only and cannot check this form of query: "
            f"{tree.get('error_message', 'not serializable')}"
        )
    for node in _nodes(tree):
        kind = node.get("type")
        if isinstance(kind, str) and kind.endswith("_NODE") and kind not in READ_NODES:
            verb = kind.removesuffix("_NODE").removesuffix("_QUERY")
            raise BadRequest(
                f"the SQL console is read-only: a {verb} inside the query is refused",
                {"statement_type": verb},
            )
        if kind == "FUNCTION":
            _check_function(str(node.get("function_name", "")).lower())
        if kind == "BASE_TABLE" and any(c in node.get("table_name", "") for c in "./\\"):
            raise BadRequest(
                f"reading files is disabled in the SQL console: {node['table_name']!r} "
                "is not a table of the stores"
            )


def _check_function(name: str) -> None:
    if name in EFFECT_FUNCTIONS:
        raise BadRequest(f"the SQL console is read-only: {name}() changes state and is refused")
    if (
        name in FILE_FUNCTIONS
        or name.startswith(("read_", "parquet_"))
        or name.endswith("_scan")
    ):
        raise BadRequest(
            f"reading files is disabled in the SQL console: {name}() reaches outside the stores"
        )


def referenced_tables(sql: str, schemas: set[str]) -> set[tuple[str, str]]:
    """(schema, table) of every table the query reads from one of `schemas`.

    `data.bars` and `data.main.bars` both name table `bars` of schema `data`; an
    unqualified name (a CTE, or a mistake DuckDB will report) names none.
    """
    tree = _syntax_tree(sql)
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


def _syntax_tree(sql: str) -> dict[str, Any]:
    """DuckDB's syntax tree of `sql` as JSON (`error` set when it cannot serialize it)."""
    connection = duckdb.connect()
    try:
        rows = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    finally:
        connection.close()
    tree: dict[str, Any] = json.loads(rows[0][0])
    return tree


def _base_tables(node: object) -> list[dict[str, str]]:
    """Every BASE_TABLE node of a serialized syntax tree (subqueries and CTEs included)."""
    return [item for item in _nodes(node) if item.get("type") == "BASE_TABLE"]


def _nodes(node: object) -> list[dict[str, Any]]:
    """Every object of a serialized syntax tree, subqueries and CTEs included."""
    out: list[dict[str, Any]] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return out


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0]
