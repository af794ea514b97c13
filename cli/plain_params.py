"""Plain option values (flags, text, whole and decimal numbers) converted without pydantic.

Typer converts every option value through a pydantic TypeAdapter, and importing pydantic
takes about 90 ms: more than the rest of a read command such as `bifrost orders --json`.
Flags, text, integers and decimals written the ordinary way are converted here to exactly
what pydantic would give; anything else (a typo, `1e`, a bound, an enum, a path) goes
through Typer's own conversion, so its results and its error messages stay Typer's.

This leans on one attribute of Typer's parameters (`_runtime_param`, the converter they
build on first use); when a Typer release no longer has it, nothing is changed and the
CLI simply pays for pydantic again.
"""

from __future__ import annotations

import re
from typing import Any

NUMBER_PATTERNS = {
    int: re.compile(r"[+-]?\d+"),
    float: re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"),
}
"""Text that int() and float() read exactly as pydantic's lax mode does."""

NOT_PLAIN = object()


def plain_value(annotation: Any, value: Any) -> Any:
    """`value` converted to `annotation` (str, bool, int, float, list[str]), or NOT_PLAIN."""
    if (annotation is str and isinstance(value, str)) or (
        annotation is bool and isinstance(value, bool)
    ):
        return value
    if annotation == list[str] and isinstance(value, (list, tuple)):
        if all(isinstance(item, str) for item in value):
            return list(value)
        return NOT_PLAIN
    if annotation in NUMBER_PATTERNS:
        if isinstance(value, str):
            if NUMBER_PATTERNS[annotation].fullmatch(value):
                return annotation(value)
        elif type(value) is int or (annotation is float and type(value) is float):
            return annotation(value)
    return NOT_PLAIN


class PlainConversion:
    """Converts a plain value by hand; hands any other value to Typer's own converter."""

    def __init__(self, parameter: Any) -> None:
        self.parameter = parameter

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:  # as Typer does: no value, no conversion
            return () if param.multiple or param.nargs == -1 else None
        converted = plain_value(param.type_descriptor.annotation, value)
        if converted is NOT_PLAIN:
            return self.typer_conversion().coerce(value, param=param, ctx=ctx)
        return converted

    def typer_conversion(self) -> Any:
        """The converter Typer would have built (imports pydantic)."""
        from typer._coercion import build_runtime_param

        return build_runtime_param(self.parameter.type_descriptor)


def has_plain_type(parameter: Any) -> bool:
    """True for a Typer parameter of a plain type with no bound, parser or choices."""
    descriptor = getattr(parameter, "type_descriptor", None)
    if descriptor is None or not hasattr(parameter, "_runtime_param"):
        return False
    plain = descriptor.annotation in (str, bool, int, float) or descriptor.annotation == list[str]
    info = descriptor.parameter_info
    return bool(plain and not descriptor.is_ranged and info.parser is None)


def coerce_plain_params_by_hand(command: Any, ctx: Any) -> None:
    """Give every plain-typed parameter of `command` and its subcommands the hand converter.

    `ctx` is the context `command` runs under: its help option is made with the option
    names it sets, as Typer would when parsing.
    """
    convert_params_by_hand(command.get_params(ctx))
    for sub in getattr(command, "commands", {}).values():
        coerce_plain_params_by_hand(sub, ctx)


def convert_params_by_hand(parameters: list[Any]) -> None:
    """The same for `parameters` alone."""
    for parameter in parameters:
        if has_plain_type(parameter) and parameter._runtime_param is None:
            parameter._runtime_param = PlainConversion(parameter)
