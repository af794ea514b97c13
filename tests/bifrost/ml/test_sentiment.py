"""News sentiment as a feature: only articles published before a bar closes count for it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from bifrost.ml.features import SENTIMENT, sentiment_feature
from bifrost.ml.training import TrainRequest, train_model
from bifrost.store.article_scores import article_scores
from bifrost.store.database import open_store
from bifrost.store.schema import NEWS
from tests.bifrost.ml.synthetic import DAY, START, bars

HOUR = 3600 * 10**9


def test_a_bar_averages_the_articles_of_the_window_before_its_close() -> None:
    ts = pl.Series([START + i * DAY for i in range(10)])
    articles = pl.DataFrame(
        {
            "ts": [START + 2 * HOUR, START + DAY + 2 * HOUR, START + 2 * DAY, START + 5 * DAY],
            "score": [1.0, 0.0, -1.0, 0.5],
        }
    )
    values = sentiment_feature(ts, DAY, articles).to_list()
    assert values[0] == 1.0  # the first article only
    assert values[1] == 0.5  # both of the first two
    assert values[2] == 0.0  # three articles inside the three-day window
    assert values[3] == pytest.approx(-0.5)  # the first one has left the window
    assert values[4] == -1.0  # published at the very start of bar 2, still in the window
    assert values[5] == 0.5  # published at the very start of its own bar
    assert values[9] is None  # no article in the last three days


def test_stored_article_scores_are_read_per_symbol_from_the_news_file(tmp_path: Path) -> None:
    path = tmp_path / "news.duckdb"
    connection = open_store(path, migrations=NEWS)
    connection.execute(
        "INSERT INTO article_symbols VALUES ('SPY', 10, 'a', 0.5), ('SPY', 20, 'b', -0.2), "
        "('AAPL', 15, 'c', 0.9)"
    )
    connection.close()
    scores = article_scores(path, ["SPY", "MSFT"], start_ns=12)
    assert scores["SPY"].rows() == [(20, -0.2)]
    assert scores["MSFT"].height == 0
    assert article_scores(tmp_path / "missing.duckdb", ["SPY"]) == {}


def test_training_with_stored_news_uses_sentiment_as_a_feature() -> None:
    series = bars(500, seed=8)
    news = pl.DataFrame({"ts": series["ts"] + HOUR, "score": (series["close"].diff() > 0) * 0.2})
    trained = train_model(
        TrainRequest("news", ("SYN",), kind="gbm", horizon=1, folds=3),
        {"SYN": series},
        {"SYN": news},
    )
    assert SENTIMENT in trained.model.features
