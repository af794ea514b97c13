"""The `[news]` config section: defaults, values, and errors that name the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import ConfigError, load_config
from tests.conftest import write_config


def config_with(tmp_path: Path, news: str):
    return load_config(write_config(tmp_path, services=("news",), extra=f"[news]\n{news}\n"))


def test_news_defaults_and_values(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'feeds = ["file:///tmp/wire.xml"]\nhalf_life = "2h"')
    assert config.news.feeds == ("file:///tmp/wire.xml",)
    assert (config.news.half_life, config.news.window, config.news.synthetic_per_minute) == (
        "2h",
        "3d",
        0.0,
    )
    assert config.to_dict()["news"]["feeds"] == ["file:///tmp/wire.xml"]


@pytest.mark.parametrize(
    ("news", "problem"),
    [
        ('feeds = ["ftp://x/feed"]', "must be an http://, https:// or file:// URL"),
        ('half_life = "soon"', "timeframe 'soon'"),
        ("synthetic_per_minute = -1", "between 0 \\(off\\) and 600"),
        ("colour = 1", "unknown key 'colour'"),
        ('feeds = "http://x"', "key 'feeds' must be list"),
    ],
)
def test_news_bad_values_name_the_problem(tmp_path: Path, news: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"\[news\] .*" + problem):
        config_with(tmp_path, news)
