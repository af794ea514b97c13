"""SVG snapshots of every screen and dialog at 80x24 (a default terminal), over replies
recorded from a real stack; see test_snapshots.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.scenes import SCENES, matches_snapshot

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("scene", SCENES)
def test_screen_at_80x24(snap_compare, tmp_path: Path, scene: str) -> None:
    assert matches_snapshot(snap_compare, tmp_path, scene, "80x24")
