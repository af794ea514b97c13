"""The ml service: trains models on worker threads, keeps the registry, scores live bars."""

from __future__ import annotations

import functools
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bifrost.bus import methods, topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.daemon import Daemon
from bifrost.errors import BadRequest, BifrostError, Internal
from bifrost.jobs import JobTable
from bifrost.market.gateway import DataGateway
from bifrost.ml.models import FittedModel
from bifrost.ml.registry import STORE_FILE, ModelRegistry
from bifrost.research.cluster import KeptCluster
from bifrost.store.models import insert_predictions, recent_predictions
from bifrost.store.schema import ML
from bifrost.worker_clients import WorkerClients

if TYPE_CHECKING:
    from bifrost.ml.training import TrainedModel, TrainRequest

# Training and scoring (Polars, the feature kernels, scikit-learn) are imported by the
# handlers that train or score: a service with no model carries none of them.

TRAIN_PARAMS = Schema(
    "ml.train params",
    {
        "name": str,
        "symbols": ListOf(str, max_items=50),
        "start_ns": Optional(int),
        "end_ns": Optional(int),
        "kind": Optional(str),
        "horizon": Optional(int),
        "timeframe": Optional(str),
        "folds": Optional(int),
        "embargo": Optional(int),
        "params": Optional(dict),
        "jobs": Optional(int),
    },
)
JOB_PARAMS = Schema("ml.job params", {"job_id": str})
MODEL_PARAMS = Schema("ml.show params", {"name": str, "version": Optional(int)})
PREDICT_PARAMS = Schema(
    "ml.predict params", {"name": str, "symbol": str, "version": Optional(int)}
)
PATTERN_PARAMS = Schema(
    "ml.patterns params", {"symbol": str, "timeframe": Optional(str), "last": Optional(int)}
)
PREDICTIONS_PARAMS = Schema(
    "ml.predictions params", {"symbol": Optional(str), "limit": Optional(int)}
)
BAR = Schema(
    "bar",
    {
        "symbol": str,
        "timeframe": str,
        "ts": int,
        "open": float,
        "high": float,
        "low": float,
        "close": float,
        "volume": float,
    },
)


def window_schema() -> dict[str, Any]:
    """Columns of a live window (a bar's volume may arrive as an integer)."""
    import polars as pl

    return {
        "symbol": pl.String,
        "timeframe": pl.String,
        "ts": pl.Int64,
        **dict.fromkeys(("open", "high", "low", "close", "volume"), pl.Float64),
    }


WINDOW = 300
"""Live bars kept per symbol and timeframe: the features need 50."""
WORKERS = 1


class MLDaemon(Daemon):
    """Owns ml.duckdb; every live bar of a symbol is scored by the models trained on it."""

    store_file = STORE_FILE
    store_schema = ML

    def setup(self) -> None:
        self.registry = ModelRegistry(self.db, self.home)
        self.jobs = JobTable("training job", topics.ml_job, self._publish)
        self.workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="ml-train")
        self.research = KeptCluster(self.config, self.home)
        self.clients = WorkerClients(self.new_client)
        self.windows: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        self.live: dict[str, tuple[dict[str, Any], FittedModel]] = {}
        self.signals = 0
        for record in self.registry.list(latest_only=True):
            self._go_live(record["name"])
        timeframes = self.config.feed.bar_timeframes
        prefixes = [topics.prefix(topics.BAR, f"{tf}.") for tf in timeframes]
        self.subscribe("data", prefixes, self._bar)
        for method in (
            Method(
                methods.ML_TRAIN, self.start_training, TRAIN_PARAMS, idempotent=False, role="trader"
            ),
            Method(methods.ML_JOB, self.job_state, JOB_PARAMS),
            Method(methods.ML_LIST, lambda p, c: {"models": self.registry.list()}),
            Method(methods.ML_SHOW, self.show, MODEL_PARAMS),
            Method(methods.ML_EXPORT, self.export, MODEL_PARAMS),
            Method(methods.ML_PREDICT, self.predict, PREDICT_PARAMS, idempotent=True),
            Method(methods.ML_PATTERNS, self.patterns, PATTERN_PARAMS),
            Method(methods.ML_PREDICTIONS, self.predictions, PREDICTIONS_PARAMS),
        ):
            self.add_method(method)

    # -- training -----------------------------------------------------------------------

    def start_training(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.train`: check the request and queue it; its end is announced on the
        returned `topic` (`ml.job` gives the outcome)."""
        from bifrost.ml.training import TrainRequest

        values = {k: v for k, v in params.items() if v is not None}
        jobs = values.pop("jobs", 0)
        if jobs < 0:
            raise BadRequest(f"jobs {jobs} must be 0 (when big), 1 (here) or more")
        request = TrainRequest(**{**values, "symbols": tuple(values["symbols"])})
        job_id = uuid.uuid4().hex[:12]
        self.jobs.add(job_id, model=None, error=None)
        self.workers.submit(self._train, job_id, request, jobs, ctx.cid)
        self.log.info("ml.train_queued", ctx.cid, job=job_id, model=request.name)
        return {"job_id": job_id, "topic": topics.ml_job("done", job_id)}

    def _train(self, job_id: str, request: TrainRequest, jobs: int, cid: str) -> None:
        """On a worker thread: load bars and train (the folds here or on the research
        cluster); the loop thread stores the model."""
        from bifrost.ml.gateway import train_from

        self.hand_over(lambda: self.jobs.start(job_id, cid))
        research = functools.partial(self.research.for_work, jobs)
        try:
            trained = train_from(self._data(), self.home, request, research)
        except BifrostError as exc:
            error = exc
        except Exception as exc:  # a library failure ends this job, never the service
            error = Internal(f"training failed: {type(exc).__name__}: {exc}")
        else:
            self.hand_over(lambda: self._store(job_id, trained, cid))
            return
        self.hand_over(lambda: self._fail(job_id, error, cid))

    def _data(self) -> DataGateway:
        """Market data over this worker thread's own client."""
        return DataGateway(self.clients.get(), self.home)

    def _store(self, job_id: str, trained: TrainedModel, cid: str) -> None:
        from bifrost.code_version import code_version

        record = self.registry.save(trained, code_version())
        self._go_live(record["name"])
        self.jobs.finish(job_id, cid, {"model": record})
        self.log.info("ml.trained", cid, model=record["name"], version=record["version"])

    def _fail(self, job_id: str, error: BifrostError, cid: str) -> None:
        # `error` of an ml.job reply has always been the typed error's wire map.
        self.jobs.fail(job_id, error, cid, error=error.to_wire())
        self.log.warning("ml.train_failed", cid, job=job_id, error=error.message)

    def _publish(self, topic: str, body: dict[str, Any], cid: str) -> None:
        assert self.publisher is not None
        self.publisher.publish(topic, "ml_job", body, cid)

    def job_state(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.job`: queued, running, done (with the model's record) or failed (with error)."""
        return self.jobs.get(params["job_id"])

    # -- registry and questions -----------------------------------------------------------

    def show(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.show`: one model version's record and out-of-sample metrics."""
        return self.registry.show(params["name"], params.get("version"))

    def export(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.export`: one model version with its signed bytes (checked by the receiver)."""
        return self.registry.signed(params["name"], params.get("version"))

    def predict(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.predict`: score the newest stored bar of a symbol; the prediction is stored."""
        from bifrost.ml.gateway import predict_from, prediction_row

        record, model = self.registry.load(params["name"], params.get("version"))
        body = predict_from(
            DataGateway(self.bus, self.home), self.home, record, model, params["symbol"]
        )
        insert_predictions(self.db, [prediction_row(body, "request")])
        return body

    def patterns(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.patterns`: candle patterns and volatility regimes of a symbol."""
        from bifrost.ml.inference import pattern_report

        timeframe = params.get("timeframe") or "1d"
        bars = DataGateway(self.bus, self.home).bars(params["symbol"], timeframe)
        return pattern_report(params["symbol"], timeframe, bars, params.get("last") or 10)

    def predictions(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`ml.predictions`: the newest stored predictions (of one symbol, or all)."""
        rows = recent_predictions(self.db, params.get("symbol"), params.get("limit") or 50)
        return {"predictions": rows}

    # -- live inference -------------------------------------------------------------------

    def _go_live(self, name: str) -> None:
        """Score live bars with the latest version of `name` from now on."""
        try:
            self.live[name] = self.registry.load(name)
        except BifrostError as exc:
            self.log.error("ml.model_unusable", model=name, error=exc.message)

    def _bar(self, event: Any) -> None:
        bar = BAR.check(event.body)
        symbol, timeframe = bar["symbol"], bar["timeframe"]
        models = [m for m in self.live.values() if symbol in m[0]["symbols"]]
        if not models:
            return
        window = self._window(symbol, timeframe)
        if window and window[-1]["ts"] >= bar["ts"]:
            return  # already have it (a snapshot after a gap repeats the last bar)
        window.append(bar)
        self._score(symbol, timeframe, window, models, event.cid)

    def _window(self, symbol: str, timeframe: str) -> deque[dict[str, Any]]:
        """The symbol's rolling window, first filled from the bars data has stored."""
        key = (symbol, timeframe)
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = deque(maxlen=WINDOW)
            from bifrost.ml.gateway import recent_bars

            try:
                stored = recent_bars(DataGateway(self.bus, self.home), symbol, timeframe, WINDOW)
                window.extend(stored.select(*BAR.fields).to_dicts())
            except BifrostError as exc:
                self.log.info("ml.no_history", symbol=symbol, timeframe=timeframe, why=exc.message)
        return window

    def _score(
        self,
        symbol: str,
        timeframe: str,
        window: deque[dict[str, Any]],
        models: list[tuple[dict[str, Any], FittedModel]],
        cid: str,
    ) -> None:
        import polars as pl

        from bifrost.ml.gateway import first_ts, news_scores, prediction_row
        from bifrost.ml.inference import score_bars, signal_body

        assert self.publisher is not None
        bars = pl.DataFrame(list(window), schema=window_schema())
        news = news_scores(self.bus, self.home, [symbol], first_ts(bars)).get(symbol)
        rows = []
        for record, model in models:
            last = score_bars(model, bars, timeframe, news).row(-1, named=True)
            if last["probability"] is None:
                continue  # still warming up
            body = signal_body(record, symbol, last["ts"], last["score"], last["probability"])
            body["timeframe"] = timeframe
            self.publisher.publish(topics.signal(symbol), "signal", body, cid)
            rows.append(prediction_row(body, "live"))
            self.signals += 1
        insert_predictions(self.db, rows)

    # -- life cycle -----------------------------------------------------------------------

    def details(self) -> dict[str, Any]:
        """Models, live models, training jobs and signals published, shown by `health`."""
        return {
            "live_models": sorted(self.live),
            "jobs": self.jobs.counts(),
            "signals": self.signals,
            "research": self.research.details(),
        }

    def on_stop(self) -> None:
        """Let a running training finish and store it, before the store is closed."""
        self.workers.shutdown(wait=True, cancel_futures=True)
        self.research.close()
        self.clients.close()
        self._run_handed_over()
