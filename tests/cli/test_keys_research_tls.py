"""`bifrost keys research-tls`: the research cluster's CA, node certificate and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_stack import bifrost

pytestmark = pytest.mark.timeout(60)
FILES = {"tls_ca": "research-ca.pem", "tls_cert": "research-tls.pem", "tls_key": "research-tls.key"}


def test_research_tls_writes_three_files_in_the_key_store_key_private(
    config_path: Path, home: Path
) -> None:
    result = bifrost(config_path, home, "keys", "research-tls")
    assert result.returncode == 0, result.stderr
    keys = home / "keys"
    assert sorted(p.name for p in keys.iterdir()) == sorted(FILES.values())
    assert (keys / "research-tls.key").stat().st_mode & 0o777 == 0o600
    assert "copy all three" in result.stderr


def test_research_tls_again_is_refused_unless_forced(config_path: Path, home: Path) -> None:
    made = json.loads(bifrost(config_path, home, "keys", "research-tls", "--json").stdout)
    assert made["files"] == {name: str(home / "keys" / file) for name, file in FILES.items()}
    first = Path(made["files"]["tls_cert"]).read_bytes()
    again = bifrost(config_path, home, "keys", "research-tls", "--json")
    assert again.returncode == 1
    assert json.loads(again.stdout)["error"]["code"] == "CONFLICT"
    assert Path(made["files"]["tls_cert"]).read_bytes() == first
    forced = bifrost(config_path, home, "keys", "research-tls", "--force", "--days", "30")
    assert forced.returncode == 0, forced.stderr
    assert Path(made["files"]["tls_cert"]).read_bytes() != first
