"""Every topic string of the bus, built in one place.

A topic is UTF-8 `kind.key...` (`quote.AAPL`, `bar.1m.AAPL`, `fill.paper`,
`alert.risk`) so a subscriber picks symbols by prefix. Build topics with these
functions; never format topic strings elsewhere.
"""

from __future__ import annotations

QUOTE = "quote"
TRADE = "trade"
BAR = "bar"
BOOK = "book"
NEWS = "news"
ORDER = "order"
FILL = "fill"
POSITION = "position"
PNL = "pnl"
RISK = "risk"
ALERT = "alert"
COMPLIANCE = "compliance"
STRATEGY = "strategy"
BACKTEST = "backtest"
ML = "ml"
SIGNAL = "signal"
REPORT = "report"
MICRO = "micro"
REPLAY = "replay"


def quote(symbol: str) -> str:
    """Topic of the quotes of one symbol."""
    return f"{QUOTE}.{symbol}"


def trade(symbol: str) -> str:
    """Topic of the trade prints of one symbol."""
    return f"{TRADE}.{symbol}"


def bar(timeframe: str, symbol: str) -> str:
    """Topic of live bars of one symbol and timeframe, e.g. `bar.1m.AAPL`."""
    return f"{BAR}.{timeframe}.{symbol}"


def book(symbol: str) -> str:
    """Topic of the L2 book deltas of one symbol (its snapshot value is the whole book)."""
    return f"{BOOK}.{symbol}"


def micro(symbol: str) -> str:
    """Topic of the microstructure metrics of one symbol."""
    return f"{MICRO}.{symbol}"


def replay_bar(timeframe: str, symbol: str) -> str:
    """Topic of replayed history bars, apart from live ones: `replay.bar.1d.AAPL`."""
    return f"{REPLAY}.{BAR}.{timeframe}.{symbol}"


def replay_end(replay_id: str) -> str:
    """Topic of the event that says a replay has sent all its bars."""
    return f"{REPLAY}.end.{replay_id}"


def backtest_job(stage: str, job_id: str) -> str:
    """Topic of a backtest job's events: `backtest.progress.<id>`, `backtest.done.<id>`."""
    return f"{BACKTEST}.{stage}.{job_id}"


def ml_job(stage: str, job_id: str) -> str:
    """Topic of a training job's events: `ml.progress.<id>`, `ml.done.<id>`."""
    return f"{ML}.{stage}.{job_id}"


def news(symbol: str) -> str:
    """Topic of the news articles (headline, score, rolling score) about one symbol."""
    return f"{NEWS}.{symbol}"


def order(broker: str) -> str:
    """Topic of order state changes at one broker, e.g. `order.paper`."""
    return f"{ORDER}.{broker}"


def fill(broker: str) -> str:
    """Topic of fills at one broker, e.g. `fill.paper`."""
    return f"{FILL}.{broker}"


def position(account: str) -> str:
    """Topic of position changes of one account."""
    return f"{POSITION}.{account}"


def pnl(account: str) -> str:
    """Topic of P&L updates of one account."""
    return f"{PNL}.{account}"


def alert(source: str) -> str:
    """Topic of alerts raised by one source, e.g. `alert.risk`."""
    return f"{ALERT}.{source}"


def signal(symbol: str) -> str:
    """Topic of model signals for one symbol, e.g. `signal.AAPL`."""
    return f"{SIGNAL}.{symbol}"


def compliance(kind: str) -> str:
    """Topic of the compliance service's own events, e.g. `compliance.decision`."""
    return f"{COMPLIANCE}.{kind}"


def report(subject: str) -> str:
    """Topic of a generated report of one subject: `report.live`, `report.<run id>`."""
    return f"{REPORT}.{subject}"


def prefix(kind: str, key: str = "") -> str:
    """A subscription prefix: every topic of `kind`, or of `kind` and `key`."""
    return f"{kind}.{key}" if key else f"{kind}."


def kind_of(topic: str) -> str:
    """The kind of a topic: the part before the first dot."""
    return topic.partition(".")[0]
