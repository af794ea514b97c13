"""Rolling sentiment: decayed mean shrunk to neutral, bounded by the window, never ahead."""

from __future__ import annotations

import numpy as np
import pytest

from bifrost.news.rolling import Decay, SentimentHistory, rolling_score

H = 3_600_000_000_000
DECAY = Decay(half_life_ns=6 * H, window_ns=72 * H, prior_weight=0.5)


def test_one_fresh_article_reads_two_thirds_of_its_score() -> None:
    assert rolling_score(np.array([0]), np.array([0.6]), 0, DECAY) == pytest.approx(0.4)


def test_an_article_fades_with_its_half_life() -> None:
    ts, scores = np.array([0]), np.array([0.6])
    # weight 1/2 after one half-life: 0.3 / (0.5 + 0.5)
    assert rolling_score(ts, scores, 6 * H, DECAY) == pytest.approx(0.3)


def test_newer_articles_weigh_more() -> None:
    ts, scores = np.array([0, 6 * H]), np.array([-0.5, 0.5])
    expected = (0.5 * -0.5 + 1 * 0.5) / (1.5 + 0.5)
    assert rolling_score(ts, scores, 6 * H, DECAY) == pytest.approx(expected)


def test_articles_outside_the_window_or_in_the_future_do_not_count() -> None:
    ts, scores = np.array([0, 100 * H]), np.array([0.8, -0.8])
    assert rolling_score(ts, scores, 80 * H, DECAY) == 0.0
    assert rolling_score(ts, scores, 100 * H - 1, DECAY) == 0.0
    assert rolling_score(ts, scores, 100 * H, DECAY) < 0


def test_score_stays_within_minus_one_and_one() -> None:
    ts = np.arange(50) * H
    assert rolling_score(ts, np.ones(50), 50 * H, DECAY) <= 1.0
    assert rolling_score(ts, -np.ones(50), 50 * H, DECAY) >= -1.0


def test_history_adds_in_time_order_and_reads_with_its_offset() -> None:
    history = SentimentHistory(DECAY, offset_ns=H)
    history.add("AAPL", 2 * H, 0.6)
    history.add("AAPL", 0, -0.6)
    assert list(history.series["AAPL"][0]) == [0, 2 * H]
    assert history.score("AAPL", H) == pytest.approx(history.score("AAPL", 2 * H - H))
    assert history.score("AAPL", H) > 0  # as of 2H (now + offset) the newer article counts
    assert history.score("MSFT", H) == 0.0


def test_history_forgets_what_left_the_window() -> None:
    history = SentimentHistory.from_rows(DECAY, [("AAPL", 0, 0.5), ("AAPL", 10 * H, 0.5)])
    history.forget_before(5 * H)
    assert list(history.series["AAPL"][0]) == [10 * H]
