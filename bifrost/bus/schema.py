"""Declarative shapes for decoded messages, checked before any handler sees them.

A `Schema` maps field names to a spec: a Python type (`int`, `float`, `str`, `bool`,
`bytes`, `dict`, `list`, or `object` for any plain value), a nested `Schema`,
`ListOf(spec)` or `Optional(spec)`.
Free-form `dict`/`list` values are walked to make sure they hold only plain data
(no msgpack ext objects such as timestamps) and are not nested absurdly deep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bifrost.errors import BadRequest

MAX_DEPTH = 32
_SCALARS = (int, float, str, bytes, bool, type(None))
_SCALAR_SPECS = frozenset((int, float, str, bytes, bool))
"""Specs a value of exactly that type matches with nothing more to check."""


@dataclass(frozen=True, slots=True)
class ListOf:
    """A list whose every item matches `item`."""

    item: Any
    max_items: int = 1_000_000


@dataclass(frozen=True, slots=True)
class Optional:
    """A field that may be absent or nil; when present it matches `spec`."""

    spec: Any


class Schema:
    """The expected fields of one message; unknown fields are refused unless `open`."""

    __slots__ = ("fields", "name", "open", "required")

    def __init__(self, name: str, fields: dict[str, Any], *, open: bool = False) -> None:
        self.name = name
        self.fields = fields
        self.open = open
        self.required = frozenset(k for k, v in fields.items() if not isinstance(v, Optional))

    def check(self, value: Any, where: str = "") -> dict[str, Any]:
        """Return `value` if it matches, else raise BadRequest naming the field."""
        where = where or self.name
        if type(value) is not dict:
            raise BadRequest(f"{where}: expected a map, got {_kind(value)}")
        missing = self.required.difference(value)
        if missing:
            raise BadRequest(f"{where}: missing field '{sorted(missing)[0]}'")
        fields, scalars = self.fields, _SCALARS
        for key, item in value.items():
            spec = fields.get(key)
            kind = type(item)
            # The common cases decided here, without a call or formatting where to point:
            # a scalar in an open schema's free field, a value of exactly the spec's type.
            if spec is None:
                if not self.open:
                    raise BadRequest(f"{where}: unknown field '{key}'")
                if kind not in scalars:
                    check_plain(item, f"{where}.{key}")
            elif kind is not spec or spec not in _SCALAR_SPECS:
                check_value(spec, item, f"{where}.{key}")
        return value


def check_value(spec: Any, value: Any, where: str) -> None:
    """Raise BadRequest unless `value` matches `spec` (see the module doc)."""
    if isinstance(spec, Optional):
        if value is not None:
            check_value(spec.spec, value, where)
    elif isinstance(spec, Schema):
        spec.check(value, where)
    elif isinstance(spec, ListOf):
        if type(value) is not list:
            raise BadRequest(f"{where}: expected a list, got {_kind(value)}")
        if len(value) > spec.max_items:
            raise BadRequest(f"{where}: more than {spec.max_items} items")
        for i, item in enumerate(value):
            check_value(spec.item, item, f"{where}[{i}]")
    elif spec is object:  # any plain value
        check_plain(value, where)
    elif spec is float:
        if type(value) is not float and type(value) is not int:
            raise BadRequest(f"{where}: expected a number, got {_kind(value)}")
    elif spec is dict or spec is list:
        if type(value) is not spec:
            raise BadRequest(f"{where}: expected a {spec.__name__}, got {_kind(value)}")
        check_plain(value, where)
    elif type(value) is not spec:
        raise BadRequest(f"{where}: expected {spec.__name__}, got {_kind(value)}")


def check_plain(value: Any, where: str, depth: int = 0) -> None:
    """Raise BadRequest if `value` holds anything but plain msgpack data."""
    if depth > MAX_DEPTH:
        raise BadRequest(f"{where}: nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if kind in _SCALARS:
        return
    if kind is list:
        for item in value:
            check_plain(item, where, depth + 1)
    elif kind is dict:
        for item in value.values():
            check_plain(item, where, depth + 1)
    else:
        raise BadRequest(f"{where}: {_kind(value)} values are not allowed")


_KIND_NAMES: dict[type, str] = {dict: "map", list: "list", str: "string", bytes: "binary"}


def _kind(value: Any) -> str:
    return _KIND_NAMES.get(type(value), type(value).__name__)
