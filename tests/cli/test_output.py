"""Messages on stderr keep their square brackets: values are never read as rich markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.output import say_error
from tests.cli.test_stack import bifrost


def test_cli_error_with_brackets_in_its_message_prints_it_whole(
    config_path: Path, home: Path
) -> None:
    query = "SELECT [1, 2] FROM '[restricted]/[/x].csv'"
    result = bifrost(config_path, home, "sql", query)
    assert result.returncode == 1
    message = " ".join(result.stderr.split())  # rich wraps long lines
    assert "'[restricted]/[/x].csv' is not a table" in message
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("message", ["[restricted]", "ids [1, 2]", "closing [/bold] tag"])
def test_say_error_prints_markup_like_text_as_given(
    message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    say_error("[bold red]error:[/]", message)
    assert capsys.readouterr().err.strip() == f"error: {message}"
