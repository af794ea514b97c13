"""`Strategy.sentiment` in backtests: article scores as of each bar's close, never later."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bifrost.backtest.engine import run_backtest
from bifrost.backtest.gateway import load_sentiment
from bifrost.backtest.runner import RunRequest, run_request
from bifrost.client import BifrostClient
from bifrost.config import load_config
from bifrost.news.article import RawArticle
from bifrost.news.engine import NewsEngine, make_mapper
from bifrost.news.lexicon import finance_lexicon
from bifrost.news.rolling import Decay, SentimentHistory
from bifrost.store.database import open_store
from bifrost.store.schema import NEWS
from bifrost.strategy.bars import BarArrays
from bifrost.strategy.strategy import Strategy
from tests.conftest import write_config

H = 3_600_000_000_000
DAY = 24 * H
START = 1_735_689_600_000_000_000  # 2025-01-01 00:00 UTC
DECAY = Decay(half_life_ns=DAY, window_ns=7 * DAY)
FOLLOWER = '''
from bifrost.strategy.strategy import Strategy


class NewsFollower(Strategy):
    """Buys on good news, sells on bad."""

    threshold: float = 0.2

    def on_bar(self, bar):
        mood = self.sentiment()
        if mood > self.threshold and not self.position():
            self.buy()
        elif mood < -self.threshold and self.position():
            self.sell()
'''


def daily_bars(days: int = 10) -> BarArrays:
    close = 100.0 + np.arange(days, dtype=np.float64)
    return BarArrays(
        START + np.arange(days, dtype=np.int64) * DAY, close, close, close, close, close
    )


class Recorder(Strategy):
    """Writes down what `sentiment()` said at each bar."""

    def on_start(self) -> None:
        self.seen: list[float] = []

    def on_bar(self, bar) -> None:
        self.seen.append(self.sentiment())


def seen_with(rows: list[tuple[str, int, float]]) -> list[float]:
    strategy = Recorder()
    strategy.news = SentimentHistory.from_rows(DECAY, rows, offset_ns=DAY)
    run_backtest(strategy, {"AAPL": daily_bars()})
    return strategy.seen


def test_sentiment_is_neutral_until_the_bar_whose_close_follows_the_article() -> None:
    seen = seen_with([("AAPL", START + 3 * DAY + 12 * H, 0.6)])
    assert seen[:3] == [0.0, 0.0, 0.0]
    assert seen[3] > 0


def test_an_article_at_the_close_counts_and_one_after_it_does_not() -> None:
    close_of_bar_3 = START + 4 * DAY
    assert seen_with([("AAPL", close_of_bar_3, 0.6)])[3] > 0
    late = seen_with([("AAPL", close_of_bar_3 + 1, 0.6)])
    assert late[3] == 0.0 and late[4] > 0


def test_later_articles_never_change_earlier_bars() -> None:
    early = [("AAPL", START + k * DAY + 5 * H, (-1) ** k * 0.5) for k in range(5)]
    later = [("AAPL", START + k * DAY + 7 * H, 0.9) for k in range(5, 10)]
    assert seen_with(early + later)[:5] == seen_with(early)[:5]


def test_sentiment_without_a_source_is_neutral() -> None:
    strategy = Recorder()
    run_backtest(strategy, {"AAPL": daily_bars(3)})
    assert strategy.seen == [0.0, 0.0, 0.0]


def test_a_strategy_trades_on_sentiment(tmp_path: Path) -> None:
    path = tmp_path / "news_follower.py"
    path.write_text(FOLLOWER)
    request = RunRequest("NewsFollower", ("AAPL",), fill="close", file=str(path))
    news = SentimentHistory.from_rows(
        DECAY,
        [("AAPL", START + 3 * DAY + 12 * H, 0.6), ("AAPL", START + 6 * DAY + 12 * H, -0.6)],
        offset_ns=DAY,
    )
    result = run_request(request, {"AAPL": daily_bars()}, news)
    (trade,) = result.trades
    assert (trade.entry_ts, trade.exit_ts) == (START + 3 * DAY, START + 6 * DAY)
    assert trade.pnl > 0
    assert not run_request(request, {"AAPL": daily_bars()}).trades  # no news, no trades


def test_load_sentiment_reads_the_news_file_with_the_bar_length(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with open_store(home / "news.duckdb", migrations=NEWS) as connection:
        engine = NewsEngine(connection, make_mapper({"AAPL"}), DECAY)
        engine.ingest([RawArticle(START + 3 * DAY + 12 * H, "Apple beats", source="t")], START)
    config = load_config(write_config(tmp_path, services=("data",)))
    request = RunRequest("NewsFollower", ("AAPL",))
    with BifrostClient(config, timeout_ms=300, retries=0) as client:
        news = load_sentiment(client, home, request, {"AAPL": daily_bars()})
    assert isinstance(news, SentimentHistory) and news.offset_ns == DAY
    assert news.score("AAPL", START + 2 * DAY) == 0.0
    # the config's decay: half-life 6h, so at the close (12 h later) the weight is 1/4
    expected = finance_lexicon().score("Apple beats") * 0.25 / (0.25 + 0.5)
    assert news.score("AAPL", START + 3 * DAY) == pytest.approx(expected, abs=1e-5)
