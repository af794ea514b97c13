"""News fixtures: an engine on a real news.duckdb in tmp_path, and feed documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.news.engine import NewsEngine, make_mapper
from bifrost.news.rolling import Decay
from bifrost.store.database import open_store
from bifrost.store.schema import NEWS

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Market Wire</title>
<item><title>Apple beats estimates as iPhone sales surge</title>
<link>https://example.com/apple-beats</link>
<description>&lt;p&gt;Strong quarter for &lt;b&gt;$AAPL&lt;/b&gt;&lt;/p&gt;</description>
<pubDate>Tue, 25 Nov 2025 12:00:00 GMT</pubDate></item>
<item><title>Nvidia shares plunge after profit warning</title>
<link>https://example.com/nvidia-plunge</link>
<pubDate>Tue, 25 Nov 2025 13:30:00 +0000</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Crypto Desk</title>
<entry><title>Bitcoin rallies to a record</title>
<link href="https://example.com/btc-record"/><id>urn:btc-1</id>
<updated>2025-11-25T09:15:00Z</updated><summary>BTC-USD gains</summary></entry>
</feed>"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title></channel></rss>"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[NewsEngine]:
    """A news engine over a fresh news.duckdb, knowing the test feed's symbols."""
    connection = open_store(tmp_path / "news.duckdb", migrations=NEWS)
    try:
        yield NewsEngine(
            connection, make_mapper({"AAPL", "MSFT", "NVDA", "BTC-USD"}), Decay.parse("6h", "3d")
        )
    finally:
        connection.close()
