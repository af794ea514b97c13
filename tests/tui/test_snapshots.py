"""SVG snapshots of every screen and dialog at 160x48, over replies recorded from a real stack.

No daemon runs: the app's clients answer from tests/tui/recorded (see fake_bus.py and
record_replies.py), and the desk fills from the recorded events. Each scene (scenes.py)
opens its screen from the dashboard and waits until what it fetched is painted.
Regenerate after a deliberate change with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.fake_bus import recorded_app
from tests.tui.scenes import SCENES, SIZES, play

pytestmark = pytest.mark.timeout(60)
SCENE_TIMEOUT_S = 20.0


@pytest.mark.parametrize("scene", SCENES)
def test_screen_at_160x48(snap_compare, tmp_path: Path, scene: str) -> None:
    async def run_before(pilot: Any) -> None:
        await play(pilot, SCENES[scene], SCENE_TIMEOUT_S)

    app = recorded_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZES["160x48"], run_before=run_before)
