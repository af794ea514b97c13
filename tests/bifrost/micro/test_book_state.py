"""The pieces the L2 feed adds outside bifrost/micro: the book snapshot value of a topic
(`Publisher.set_state`) and the `[feed] book_levels` key."""

from __future__ import annotations

from pathlib import Path

import pytest
import zmq

from bifrost.bus.pubsub import Publisher
from bifrost.config import ConfigError, load_config
from tests.book_feed import write_book_config


def test_publisher_set_state_serves_the_whole_book_at_the_delta_seq() -> None:
    ctx = zmq.Context()
    try:
        publisher = Publisher(ctx, "inproc://book-state", "data@local", now_ns=lambda: 5)
        publisher.publish("book.A", "book_delta", {"changes": [["bid", 1.0, 2.0]]})
        publisher.publish("book.A", "book_delta", {"changes": [["bid", 1.0, 3.0]]})
        publisher.set_state("book.A", "book", {"bids": [[1.0, 3.0]], "asks": []})
        entry = publisher.snapshot("book.")["topics"]["book.A"]
        publisher.close()
    finally:
        ctx.destroy(linger=0)
    assert entry == {"seq": 2, "ts": 5, "type": "book", "body": {"bids": [[1.0, 3.0]], "asks": []}}


def test_config_book_levels_defaults_off_and_is_checked(tmp_path: Path) -> None:
    config = load_config(write_book_config(tmp_path))
    assert config.feed.book_levels == 5 and config.to_dict()["feed"]["book_levels"] == 5
    path = write_book_config(tmp_path)
    path.write_text(path.read_text().replace("book_levels = 5", "book_levels = -1"))
    with pytest.raises(ConfigError, match="book_levels must be between 0 \\(no book\\) and 1000"):
        load_config(path)
    path.write_text(path.read_text().replace("book_levels = -1\n", ""))
    assert load_config(path).feed.book_levels == 0
