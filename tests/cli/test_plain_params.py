"""Plain option values are converted by hand exactly as Typer's pydantic conversion does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.plain_params import NOT_PLAIN, plain_value

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [
        (int, "50", 50),
        (int, "-7", -7),
        (int, "007", 7),
        (int, 50, 50),
        (float, "2.5", 2.5),
        (float, ".5", 0.5),
        (float, "1e3", 1000.0),
        (float, 3, 3.0),
        (str, "AAPL", "AAPL"),
        (bool, True, True),
        (list[str], ("AAPL", "MSFT"), ["AAPL", "MSFT"]),
    ],
)
def test_plain_value_matches_pydantic(annotation: object, value: object, expected: object) -> None:
    from pydantic import TypeAdapter

    converted = plain_value(annotation, value)
    assert converted == expected
    assert type(converted) is type(expected)
    assert TypeAdapter(annotation).validate_python(value) == converted


@pytest.mark.parametrize(
    ("annotation", "value"),
    [
        (int, "2.5"),
        (int, "abc"),
        (int, " 5"),
        (float, "nan"),
        (float, "1e"),
        (int, True),
        (bool, "yes"),
    ],
)
def test_anything_unusual_is_left_to_typer(annotation: object, value: object) -> None:
    assert plain_value(annotation, value) is NOT_PLAIN


def test_bad_number_gets_typers_own_usage_error(config_path: Path, home: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "--config",
            str(config_path),
            "--home",
            str(home),
            "orders",
            "--limit",
            "abc",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Invalid value for '--limit'" in result.stderr
    assert "valid integer" in " ".join(result.stderr.split())
