"""A live strategy reads news sentiment: the strategy daemon follows the news service."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import load_config
from tests.bifrost.conftest import services_running
from tests.conftest import wait_for, write_config

SERVICES = ("data", "news", "strategy")
pytestmark = pytest.mark.timeout(60)
RECORDER = '''
from bifrost.strategy.strategy import Strategy


class MoodLog(Strategy):
    """Writes the symbol's news sentiment at every bar to a file."""

    out: str = ""

    def on_bar(self, bar):
        with open(self.out, "a") as handle:
            handle.write(f"{self.sentiment(bar.symbol)}\\n")
'''


def test_live_strategy_sees_the_news_services_rolling_sentiment(tmp_path: Path, home: Path) -> None:
    path = write_config(tmp_path, services=SERVICES, extra="[news]\nsynthetic_per_minute = 600\n")
    path.write_text(
        path.read_text().replace(
            "quotes_per_second = 100", 'quotes_per_second = 100\nbar_timeframes = ["1s"]'
        )
    )
    config = load_config(path)
    strategy_file, log = tmp_path / "mood.py", tmp_path / "mood.log"
    strategy_file.write_text(RECORDER)
    with services_running(config, home, SERVICES) as bus:
        bus.call(
            "strategy",
            "strategy.start",
            {
                "name": "MoodLog",
                "file": str(strategy_file),
                "symbols": ["AAPL"],
                "timeframe": "1s",
                "params": {"out": str(log)},
            },
        )
        values = wait_for(
            lambda: log.exists() and [float(v) for v in log.read_text().split()][2:],
            timeout=20,
            every=0.2,
        )
        news = bus.call("news", "news.sentiment", {"symbol": "AAPL"})
    assert all(-1 <= v <= 1 for v in values)
    assert news["articles"] and any(v != 0 for v in values)
