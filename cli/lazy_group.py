"""A Typer group whose subcommands are imported only when they run.

Every command module pulls in its own part of the library, and Typer coerces options
through pydantic; importing all of them made `bifrost --help` several times slower
than a bare Typer app. The group knows each subcommand's module and one line of help,
so listing the commands imports nothing and running one imports its module alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from cli.plain_params import coerce_plain_params_by_hand, convert_params_by_hand


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives and the line `--help` shows for it.

    The module either has `register(root)`, which mounts its commands on the root, or
    an `app` (a Typer sub-app) mounted under the command's name.
    """

    module: str
    help: str


def load_command(name: str, entry: LazyCommand) -> Any:
    """Import `entry`'s module and build its click command `name` exactly as Typer would."""
    module = importlib.import_module(entry.module)
    root = typer.Typer()
    register = getattr(module, "register", None)
    if register is not None:
        register(root)
    else:
        root.add_typer(module.app, name=name)
    return typer.main.get_group(root).commands[name]


class LazyCommands(MutableMapping[str, Any]):
    """The group's commands: the ones already built, then the lazy ones, in their order."""

    def __init__(self, built: MutableMapping[str, Any], lazy: Mapping[str, LazyCommand]) -> None:
        self.built = dict(built)
        self.lazy = lazy

    def __getitem__(self, name: str) -> Any:
        if name not in self.built:
            if name not in self.lazy:
                raise KeyError(name)
            self.built[name] = load_command(name, self.lazy[name])
        return self.built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        del self.built[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.built
        yield from (name for name in self.lazy if name not in self.built)

    def __len__(self) -> int:
        return len(set(self.built) | set(self.lazy))


class LazyGroup(TyperGroup):
    """A TyperGroup that imports a subcommand's module when the subcommand is asked for.

    Subclasses set `lazy` (name -> LazyCommand). Its own help lists each lazy command
    with the help line of its entry, without importing anything.
    """

    lazy: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.commands, self.lazy)
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)
        convert_params_by_hand(params)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing and cmd_name in self.lazy:
            return TyperCommand(name=cmd_name, help=self.lazy[cmd_name].help)
        command = self.commands.get(cmd_name)
        if command is not None:
            coerce_plain_params_by_hand(command, ctx)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
