"""Loading a strategy class by name: a built-in one, or one from a user's Python file."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path

from bifrost.errors import BadRequest, NotFound
from bifrost.strategy.builtin import BUILTIN
from bifrost.strategy.strategy import Strategy


def strategy_class(name: str, file: str | Path | None = None) -> type[Strategy]:
    """A built-in strategy by name, or the named (or only) Strategy class of `file`."""
    if file is None:
        try:
            return BUILTIN[name]
        except KeyError:
            known = ", ".join(BUILTIN)
            raise NotFound(f"no strategy '{name}' (built in: {known}; or use --file)") from None
    found = strategies_in(Path(file))
    for cls in found:
        if name in (cls.name, cls.__name__):
            return cls
    names = ", ".join(c.name or c.__name__ for c in found) or "none"
    raise NotFound(f"{file} has no strategy '{name}' (it has: {names})")


def strategies_in(path: Path) -> list[type[Strategy]]:
    """Every Strategy subclass defined in a Python file."""
    if not path.is_file():
        raise NotFound(f"strategy file {path} does not exist")
    module_name = f"bifrost_user_strategy_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise BadRequest(f"{path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise BadRequest(f"{path} failed to load: {type(exc).__name__}: {exc}") from None
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Strategy) and obj.__module__ == module_name
    ]
