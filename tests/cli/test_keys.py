"""`bifrost keys` prints keys as they are: a Z85 key holds '[', ']' and '/'."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost

pytestmark = pytest.mark.timeout(60)
MARKUP_LIKE_KEY = "[/i+S]" + "A" * 34
"""40 Z85 characters, the way a real key once read to rich: a closing tag."""


def test_keys_list_prints_a_key_that_looks_like_markup_whole(config_path: Path, home: Path) -> None:
    keys_dir = home / "keys"
    keys_dir.mkdir(mode=0o700)
    (keys_dir / "odd.key").write_text(
        f'metadata\ncurve\n    public-key = "{MARKUP_LIKE_KEY}"\n', encoding="utf-8"
    )
    result = bifrost(config_path, home, "keys", "list")
    assert result.returncode == 0, result.stderr
    assert MARKUP_LIKE_KEY in result.stdout


def test_keys_gen_prints_its_public_key_whole(config_path: Path, home: Path) -> None:
    for name in ("alice", "bob", "carol"):
        made = bifrost(config_path, home, "keys", "gen", name, "--role", "trader")
        assert made.returncode == 0, made.stderr
        public = (home / "keys" / f"{name}.key").read_text(encoding="utf-8")
        key = public.split('public-key = "')[1].split('"')[0]
        assert key in made.stderr.replace("\n", "")
