"""SVG snapshots of every screen and dialog at 160x48, over replies recorded from a real stack.

No daemon runs: the app's clients answer from tests/tui/recorded (see fake_bus.py and
record_replies.py), and the desk fills from the recorded events. Each scene (scenes.py)
opens its screen from the dashboard and waits until what it fetched is painted.
Regenerate after a deliberate change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tui.scenes import SCENES, matches_snapshot

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("scene", SCENES)
def test_screen_at_160x48(snap_compare, tmp_path: Path, scene: str) -> None:
    assert matches_snapshot(snap_compare, tmp_path, scene, "160x48")
