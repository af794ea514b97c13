"""The finance lexicon scorer on hand-checked sentences."""

from __future__ import annotations

import math

import pytest

from bifrost.news.lexicon import ALPHA, NEGATION_FACTOR, finance_lexicon, tokenize

LEXICON = finance_lexicon()


def squash(total: float) -> float:
    return total / math.sqrt(total * total + ALPHA)


def test_score_one_word_is_its_valence_squashed() -> None:
    assert LEXICON.score("Apple beats") == pytest.approx(squash(2.0))


def test_score_text_without_sentiment_words_is_zero() -> None:
    assert LEXICON.score("Apple to hold annual meeting on Tuesday") == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "Apple beats estimates as iPhone sales surge",
        "Analysts upgrade Nvidia on strong demand",
        "Shares rally to a record high",
    ],
)
def test_score_good_news_is_positive(text: str) -> None:
    assert 0 < LEXICON.score(text) <= 1


@pytest.mark.parametrize(
    "text",
    [
        "Nvidia shares plunge after earnings miss",
        "Microsoft downgraded amid weak cloud demand",
        "Regulators open an investigation; the company warns of losses",
    ],
)
def test_score_bad_news_is_negative(text: str) -> None:
    assert -1 <= LEXICON.score(text) < 0


def test_score_not_flips_and_damps_the_next_word() -> None:
    assert LEXICON.score("Microsoft did not miss estimates") == pytest.approx(
        squash(-2.0 * NEGATION_FACTOR)
    )


def test_score_contracted_negation_flips() -> None:
    assert LEXICON.score("Nvidia didn't beat estimates") == pytest.approx(
        squash(2.0 * NEGATION_FACTOR)
    )


def test_score_no_and_never_flip() -> None:
    assert LEXICON.score("The company reported no losses") > 0
    assert LEXICON.score("Shares never recovered") < 0


def test_score_negation_ends_at_the_clause() -> None:
    # "not" flips "miss" only; "surged" after "but" keeps its sign.
    negated = LEXICON.score("Apple did not miss")
    both = LEXICON.score("Apple did not miss, but sales surged")
    assert 0 < negated < both


def test_score_negation_reaches_only_three_words() -> None:
    assert LEXICON.score("not a single one of the analysts beat") > 0


def test_score_intensifier_strengthens_and_dampener_weakens() -> None:
    plain = LEXICON.score("shares higher")
    assert LEXICON.score("shares sharply higher") == pytest.approx(squash(1.2 * 1.3))
    assert LEXICON.score("shares slightly higher") < plain < LEXICON.score("shares sharply higher")


def test_score_many_agreeing_words_approach_one() -> None:
    text = "record profit surges; strong growth beats estimates; upgrade; rally"
    assert LEXICON.score(text) > 0.9


def test_tokenize_keeps_contractions_and_hyphens() -> None:
    assert tokenize("Didn\u2019t sell-off. Ok") == ["didn't", "sell-off", ".", "ok"]
