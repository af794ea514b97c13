"""ML for the CLI, the TUI and strategies: through the ml daemon when it runs, else in-process.

The ml daemon owns ml.duckdb. When it answers, everything goes through it; when it
does not, the gateway reads bars through the data gateway, trains or scores here,
and opens the registry file itself (written only then), so both routes leave the
same records.
"""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from bifrost.bus import methods, topics
from bifrost.client import BifrostClient
from bifrost.code_version import code_version
from bifrost.errors import BadRequest, NotFound, error_from_wire
from bifrost.job_waiter import submit_and_wait
from bifrost.jobs import FAILED
from bifrost.market.gateway import DataGateway
from bifrost.market.timeframes import timeframe_ns
from bifrost.ml.models import FittedModel
from bifrost.ml.registry import ModelRegistry, signing_key, store_path, unpickle_signed
from bifrost.ml.training import Research, TrainedModel, TrainRequest, train_model

SERVICE = "ml"
TRAIN_TIMEOUT_S = 1800
PREDICT_BARS = 400
"""Bars loaded to score the newest one (the features need 50)."""


def training_bars(data: DataGateway, request: TrainRequest) -> dict[str, pl.DataFrame]:
    """The request's bars of every symbol; BadRequest when a symbol has none in the range."""
    frames = data.bars_of_symbols(
        request.symbols, request.timeframe, request.start_ns, request.end_ns
    )
    out = {}
    for symbol, frame in frames.items():
        if frame.height == 0:
            raise BadRequest(
                f"no {request.timeframe} bars for {symbol} in {describe_range(request)}"
            )
        out[symbol] = frame
    return out


def describe_range(request: TrainRequest) -> str:
    """The request's date range as text, e.g. `2030-01-01 .. 2030-02-01`."""
    from bifrost.clock import format_instant

    first = "the start" if request.start_ns is None else format_instant(request.start_ns, True)
    last = "the end" if request.end_ns is None else format_instant(request.end_ns, True)
    return f"{first} .. {last}"


def news_scores(
    client: BifrostClient | None, home: Path, symbols: list[str], start_ns: int | None = None
) -> dict[str, pl.DataFrame]:
    """Article scores (ts, score) per symbol from `start_ns` on: from the news service when
    it runs, else from its file; empty when there is no news to read."""
    from bifrost.errors import BifrostError
    from bifrost.store.article_scores import article_scores

    if client is not None and client.answers("news"):
        params = {"symbols": symbols, "start_ns": start_ns, "end_ns": None}
        try:
            rows = client.call(
                "news", methods.NEWS_SCORES, params, idempotent=True, timeout_ms=60_000
            )
        except BifrostError:
            return {}  # news is an optional input: the features go without it
        frame = pl.DataFrame(
            rows["scores"], schema={"symbol": pl.String, "ts": pl.Int64, "score": pl.Float64},
            orient="row",
        )
        return {s: frame.filter(pl.col("symbol") == s).select("ts", "score") for s in symbols}
    return article_scores(home / "news.duckdb", symbols, start_ns)


def train_from(
    data: DataGateway, home: Path, request: TrainRequest, research: Research | None = None
) -> TrainedModel:
    """Load bars (and news scores, when stored) and train (the folds on the research
    cluster `research` gives, if any)."""
    bars = training_bars(data, request)
    news = news_scores(data.client, home, list(request.symbols), request.start_ns)
    return train_model(request, bars, news, research=research)


def recent_bars(data: DataGateway, symbol: str, timeframe: str, count: int) -> pl.DataFrame:
    """About the last `count` bars of a symbol (NotFound when it has none)."""
    last = max((s["last"] for s in data.series() if s["symbol"] == symbol), default=None)
    # Three bar lengths per bar covers weekends and holidays of daily bars.
    start = None if last is None else last - 3 * count * timeframe_ns(timeframe)
    return data.bars(symbol, timeframe, start).tail(count)


def predict_from(
    data: DataGateway, home: Path, record: dict[str, Any], model: FittedModel, symbol: str
) -> dict[str, Any]:
    """The model's prediction for the newest bar of `symbol`."""
    from bifrost.ml.inference import latest_prediction

    bars = recent_bars(data, symbol, record["timeframe"], PREDICT_BARS)
    news = news_scores(data.client, home, [symbol], first_ts(bars)).get(symbol)
    return latest_prediction(record, model, symbol, bars, news)


def first_ts(bars: pl.DataFrame) -> int | None:
    """The first bar's time less the sentiment window (the news its features can use)."""
    from bifrost.ml.features import SENTIMENT_WINDOW_NS

    return int(bars["ts"][0]) - SENTIMENT_WINDOW_NS if bars.height else None


def prediction_row(body: dict[str, Any], source: str) -> dict[str, Any]:
    """A predictions-table row from a signal body."""
    return {
        "ts_ns": time.time_ns(),
        "symbol": body["symbol"],
        "model": body["model"],
        "version": body["version"],
        "bar_ts": body["bar_ts"],
        "score": body["score"],
        "probability": body["probability"],
        "source": source,
    }


class MLGateway:
    """Train, list, show, predict and load models, whichever route is open."""

    def __init__(self, client: BifrostClient, home: Path) -> None:
        self.client = client
        self.home = home
        self.via = "daemon" if client.answers(SERVICE) else "file"

    @cached_property
    def data(self) -> DataGateway:
        """Market data, through the data daemon or its file."""
        return DataGateway(self.client, self.home)

    def _call(self, method: str, params: dict[str, Any], **options: Any) -> Any:
        return self.client.call(SERVICE, method, params, **options)

    def _open(self, read_only: bool) -> Any:
        from bifrost.store.database import open_store
        from bifrost.store.schema import ML

        path = store_path(self.home)
        if read_only and not path.exists():
            raise NotFound("no model has been trained yet (see `bifrost ml train`)")
        return open_store(path, read_only=read_only, migrations=ML)

    def train(
        self, request: TrainRequest, jobs: int = 0, research: Research | None = None
    ) -> dict[str, Any]:
        """Train and register a model; returns its registry record. The folds are fitted
        where `jobs` says (see bifrost.research.cluster.wants_cluster): by the ml
        service, or here on the cluster `research` gives."""
        if self.via == "daemon":
            return self._train_remote(request, jobs)

        trained = train_from(self.data, self.home, request, research)
        with self._open(read_only=False) as connection:
            return ModelRegistry(connection, self.home).save(trained, code_version())

    def _train_remote(self, request: TrainRequest, jobs: int) -> dict[str, Any]:
        _, state = submit_and_wait(
            self.client,
            SERVICE,
            (methods.ML_TRAIN, request.to_dict() | {"jobs": jobs}),
            methods.ML_JOB,
            topics.ml_job,
            TRAIN_TIMEOUT_S,
        )
        if state["state"] == FAILED:
            raise error_from_wire(state["error"])
        return dict(state["model"])

    def list(self) -> list[dict[str, Any]]:
        """Every model version, newest first."""
        if self.via == "daemon":
            return list(self._call(methods.ML_LIST, {})["models"])
        if not store_path(self.home).exists():
            return []
        with self._open(read_only=True) as connection:
            return ModelRegistry(connection, self.home).list()

    def show(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One model version's record with its out-of-sample metrics."""
        if self.via == "daemon":
            return dict(self._call(methods.ML_SHOW, {"name": name, "version": version}))
        with self._open(read_only=True) as connection:
            return ModelRegistry(connection, self.home).show(name, version)

    def predict(self, name: str, symbol: str, version: int | None = None) -> dict[str, Any]:
        """Score the newest bar of `symbol` with a model; the prediction is stored."""
        params = {"name": name, "symbol": symbol, "version": version}
        if self.via == "daemon":
            return dict(self._call(methods.ML_PREDICT, params, timeout_ms=60_000))
        from bifrost.store.models import insert_predictions

        with self._open(read_only=True) as connection:
            record, model = ModelRegistry(connection, self.home).load(name, version)
        body = predict_from(self.data, self.home, record, model, symbol)
        with self._open(read_only=False) as connection:
            insert_predictions(connection, [prediction_row(body, "request")])
        return body

    def patterns(self, symbol: str, timeframe: str = "1d", last: int = 10) -> dict[str, Any]:
        """Candle patterns and volatility regimes of a symbol's bars."""
        if self.via == "daemon":
            params = {"symbol": symbol, "timeframe": timeframe, "last": last}
            return dict(self._call(methods.ML_PATTERNS, params, timeout_ms=60_000))
        from bifrost.ml.inference import pattern_report

        return pattern_report(symbol, timeframe, self.data.bars(symbol, timeframe), last)

    def fitted(self, name: str, version: int | None = None) -> tuple[dict[str, Any], FittedModel]:
        """A model ready to score, checked against this data dir's registry key."""
        if self.via == "daemon":
            record = dict(self._call(methods.ML_EXPORT, {"name": name, "version": version}))
            key = signing_key(self.home, False)
            label = f"{record['name']} v{record['version']}"
            return record, unpickle_signed(key, record.pop("model"), record.pop("signature"), label)
        with self._open(read_only=True) as connection:
            return ModelRegistry(connection, self.home).load(name, version)


def resolve_model(
    name: str, version: int, home: str, config: str, symbols: list[str]
) -> tuple[dict[str, Any], FittedModel, dict[str, pl.DataFrame]]:
    """A model for a strategy by name (version 0: the latest), with its symbols' news scores.

    `home` and `config` default to the usual data dir and config file; the ml service
    answers when it runs, else its file is read.
    """
    from bifrost.config import load_config, resolve_home

    if not name:
        raise BadRequest("this strategy needs a model: -p model=NAME (see `bifrost ml list`)")
    data_dir = resolve_home(home or None)
    settings = load_config(config or None)
    with BifrostClient(settings, timeout_ms=10_000, keys_dir=settings.keys_dir(data_dir)) as client:
        record, model = MLGateway(client, data_dir).fitted(name, version or None)
        news = news_scores(client, data_dir, symbols) if symbols else {}
    return record, model, news
