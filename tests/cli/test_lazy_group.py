"""`bifrost` imports a command's module only when that command runs, and lists them all."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from cli.lazy_group import load_command
from cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[2]


def modules_after(*args: str, config: Path | None = None, home: Path | None = None) -> set[str]:
    """The modules a `bifrost` run with `args` imported (its own output discarded)."""
    options = [] if config is None else ["--config", str(config), "--home", str(home)]
    script = (
        "import contextlib, io, sys\n"
        f"sys.argv = ['bifrost', *{[*options, *args]!r}]\n"
        "from cli.main import run\n"
        "quiet = io.StringIO()\n"
        "with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):\n"
        "    try:\n"
        "        run()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('\\n'.join(sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_help_imports_no_command_module_and_no_pydantic() -> None:
    loaded = modules_after("--help")
    assert not {m for m in loaded if m.startswith("cli.commands")}
    assert "pydantic" not in loaded


def test_read_command_imports_only_its_own_module(config_path: Path, home: Path) -> None:
    loaded = modules_after("orders", "--json", config=config_path, home=home)
    commands = {m for m in loaded if m.startswith("cli.commands.")}
    assert commands == {"cli.commands.trading"}
    assert not {"pydantic", "polars", "pyarrow", "duckdb", "numba"} & loaded


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_line_of_each_command_is_the_first_paragraph_of_its_own_help(name: str) -> None:
    command = load_command(name, COMMANDS[name])
    own = (command.short_help or command.help or "").split("\n\n")[0]
    assert COMMANDS[name].help == " ".join(own.split())


def test_every_command_module_is_listed() -> None:
    listed = {entry.module for entry in COMMANDS.values()}
    folder = ROOT / "cli" / "commands"
    for path in folder.glob("*.py"):
        module = importlib.import_module(f"cli.commands.{path.stem}")
        mounted_elsewhere = path.stem in {
            "__init__",
            "backtest_optimize",
            "backtest_studies",
            "data_fetch",
            "data_quarantine",
        }
        if not mounted_elsewhere:
            assert module.__name__ in listed, f"{module.__name__} is not in cli.main.COMMANDS"


def test_top_level_help_lists_every_command(config_path: Path, home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
        env={"COLUMNS": "200", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    for name, entry in COMMANDS.items():
        assert f" {name} " in result.stdout
        assert entry.help in result.stdout


def test_unknown_command_still_suggests_the_close_one() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "ordrs"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert "orders" in result.stderr

