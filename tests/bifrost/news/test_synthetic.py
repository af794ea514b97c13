"""The synthetic news generator: seeded, resumable, with tones the lexicon agrees with."""

from __future__ import annotations

from bifrost.news.lexicon import finance_lexicon
from bifrost.news.synthetic import TEMPLATES, SyntheticNews

SYMBOLS = ["AAPL", "MSFT", "NVDA"]


def make(seed: int = 3, start: int = 0) -> SyntheticNews:
    return SyntheticNews(SYMBOLS, seed, lambda s: {"AAPL": "Apple"}.get(s, s), start=start)


def test_same_seed_same_stories() -> None:
    a, b = make(), make()
    assert [a.next_article(1).title for _ in range(20)] == [
        b.next_article(1).title for _ in range(20)
    ]


def test_other_seed_other_stories() -> None:
    assert [make(3).story(n) for n in range(20)] != [make(4).story(n) for n in range(20)]


def test_resumed_generator_continues_the_sequence() -> None:
    whole = make()
    titles = [whole.next_article(1).url for _ in range(10)]
    resumed = make(start=5)
    assert [resumed.next_article(1).url for _ in range(5)] == titles[5:]


def test_stories_cover_every_symbol_and_tone_and_name_the_symbol() -> None:
    stories = [make().story(n) for n in range(200)]
    assert {s for s, _, _ in stories} == set(SYMBOLS)
    assert {t for _, t, _ in stories} == set(TEMPLATES)
    article = make().next_article(42)
    assert article.symbols and article.ts == 42 and article.url == "synthetic://news/3/0"


def test_template_tones_match_the_lexicon() -> None:
    lexicon = finance_lexicon()
    for tone, templates in TEMPLATES.items():
        for template in templates:
            score = lexicon.score(template.format(name="Apple"))
            expected = {"positive": score > 0, "negative": score < 0, "neutral": score == 0}
            assert expected[tone], (tone, template, score)
