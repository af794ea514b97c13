"""SVG snapshots of every screen and dialog at 80x24 (a default terminal), over replies
recorded from a real stack; see test_snapshots.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.tui.fake_bus import recorded_app
from tests.tui.scenes import SCENES, SIZES, play

pytestmark = pytest.mark.timeout(60)
SCENE_TIMEOUT_S = 20.0


@pytest.mark.parametrize("scene", SCENES)
def test_screen_at_80x24(snap_compare, tmp_path: Path, scene: str) -> None:
    async def run_before(pilot: Any) -> None:
        await play(pilot, SCENES[scene], SCENE_TIMEOUT_S)

    app = recorded_app(tmp_path)
    assert snap_compare(app, terminal_size=SIZES["80x24"], run_before=run_before)
