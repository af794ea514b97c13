"""The strategy service: runs backtests as jobs and keeps them in strategy.duckdb."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from bifrost.backtest.sweep_jobs import SweepJobs
from bifrost.bus import methods, topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import ListOf, Optional, Schema
from bifrost.client import BifrostClient
from bifrost.daemon import Daemon
from bifrost.errors import BadRequest, BifrostError, Internal, NotFound
from bifrost.jobs import JobTable
from bifrost.live.runner import LiveRunner
from bifrost.market.gateway import DataGateway
from bifrost.news.gateway import NewsGateway, decay_of
from bifrost.news.rolling import SentimentHistory
from bifrost.research.cluster import KeptCluster
from bifrost.store.live_strategies import StoredStrategy, add_running, mark_stopped, running
from bifrost.store.runs import list_runs, load_run, save_run
from bifrost.store.schema import STRATEGY
from bifrost.worker_clients import WorkerClients

if TYPE_CHECKING:
    from bifrost.backtest.runner import RunRequest

# Backtests and strategies (numba kernels, their indicators) are imported by the handlers
# that run them: an idle strategy service does not carry them.

RUN_PARAMS = Schema(
    "backtest.run params",
    {
        "strategy": str,
        "symbols": ListOf(str, max_items=100),
        "params": Optional(dict),
        "start_ns": Optional(int),
        "end_ns": Optional(int),
        "timeframe": Optional(str),
        "cash": Optional(float),
        "commission": Optional(str),
        "slippage_bps": Optional(float),
        "fill": Optional(str),
        "engine": Optional(str),
        "file": Optional(str),
        "close_at_end": Optional(bool),
        "periods_per_year": Optional(float),
        "trading_hours": Optional(str),
    },
)
SWEEP_PARAMS = Schema(
    "backtest.sweep params",
    {
        **RUN_PARAMS.fields,
        "grid": ListOf(str, max_items=20),
        "metric": Optional(str),
        "jobs": Optional(int),
    },
)
JOB_PARAMS = Schema("backtest.job params", {"job_id": str})
LIST_PARAMS = Schema("backtest.list params", {"limit": Optional(int)})
SHOW_PARAMS = Schema("backtest.show params", {"run_id": str})
START_PARAMS = Schema(
    "strategy.start params",
    {
        "name": str,
        "symbols": ListOf(str, max_items=50),
        "params": Optional(dict),
        "timeframe": Optional(str),
        "capital": Optional(float),
        "file": Optional(str),
    },
)
STOP_PARAMS = Schema("strategy.stop params", {"strategy_id": str})
WORKERS = 2


class RiskOrderPort:
    """Live strategy orders and cancels go to risk, which forwards them to execution
    (execution takes order changes from risk alone, so without risk nothing trades)."""

    def __init__(self, bus: BifrostClient) -> None:
        self.bus = bus

    def submit(self, spec: dict[str, Any], cid: str) -> dict[str, Any]:
        """Enter an order (idempotent by its client id, so a retry is safe)."""
        return dict(self.bus.call("risk", methods.ORDER_SUBMIT, spec, cid=cid, idempotent=True))

    def cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        """Cancel an order (through risk, to execution)."""
        return dict(
            self.bus.call(
                "risk", methods.ORDER_CANCEL, {"client_order_id": client_order_id}, cid=cid
            )
        )


class StrategyDaemon(Daemon):
    """Backtest jobs run on worker threads; the loop thread stores them and publishes."""

    store_file = "strategy.duckdb"
    store_schema = STRATEGY

    def setup(self) -> None:
        self.jobs = JobTable("backtest job", topics.backtest_job, self._publish)
        self.sweeps = SweepJobs(self.jobs)
        self.workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="backtest")
        self.clients = WorkerClients(self.new_client)
        self.live: dict[str, LiveRunner] = {}
        self.news = SentimentHistory(decay_of(self.config))
        """Live strategies' `sentiment()`: seeded from the news service, then its events."""
        self.subscribe("news", [topics.prefix(topics.NEWS)], self._live_news)
        self.subscribe("data", [topics.prefix(topics.BAR)], self._live_bar)
        self.subscribe("execution", [topics.prefix(topics.FILL)], self._live_fill)
        self._restart_live()
        self.research = KeptCluster(self.config, self.home)
        for method in (
            Method(
                methods.STRATEGY_START,
                self.start_live,
                START_PARAMS,
                idempotent=False,
                role="trader",
            ),
            Method(methods.STRATEGY_LIST, self.list_live),
            Method(methods.STRATEGY_STOP, self.stop_live, STOP_PARAMS, role="trader"),
            Method(methods.STRATEGIES_STOP_ALL, self.stop_all_live, role="admin"),
            Method(
                methods.BACKTEST_RUN, self.start_run, RUN_PARAMS, idempotent=False, role="trader"
            ),
            Method(
                methods.BACKTEST_SWEEP,
                self.start_sweep,
                SWEEP_PARAMS,
                idempotent=False,
                role="trader",
            ),
            Method(methods.BACKTEST_JOB, self.job_state, JOB_PARAMS),
            Method(methods.BACKTEST_LIST, self.list_runs, LIST_PARAMS),
            Method(methods.BACKTEST_SHOW, self.show_run, SHOW_PARAMS),
            Method(methods.BACKTEST_STUDIES, self.list_studies),
            Method(
                methods.BACKTEST_STUDY,
                self.show_study,
                Schema("backtest.study params", {"name": str, "top": Optional(int)}),
            ),
            Method(methods.STRATEGIES_LIST, self.list_strategies),
        ):
            self.add_method(method)

    # -- live strategies ----------------------------------------------------------------

    def start_live(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`strategy.start`: run a strategy on live bars; its orders go through risk."""
        from bifrost.strategy.loader import strategy_class

        name = params["name"]
        cls = strategy_class(name, params.get("file"))
        strategy = cls(**(params.get("params") or {}))
        strategy_id = f"{name}-{uuid.uuid4().hex[:6]}"
        runner = self._runner(strategy_id, strategy, params)
        stored = StoredStrategy(
            strategy_id,
            name,
            params.get("file"),
            runner.symbols,
            runner.timeframe,
            strategy.params(),
            runner.capital,
        )
        add_running(self.db, stored, self.clock.now_ns())
        self.log.info("strategy.started", ctx.cid, strategy=strategy_id)
        return runner.summary()

    def _runner(self, strategy_id: str, strategy: Any, params: dict[str, Any]) -> LiveRunner:
        runner = LiveRunner(
            strategy_id,
            strategy,
            list(params["symbols"]),
            params.get("timeframe") or "1m",
            RiskOrderPort(self.bus),
            self.clock,
            params.get("capital") or 10_000.0,
        )
        self.live[strategy_id] = runner
        strategy.news = self.news
        self._seed_news(runner.symbols)
        return runner

    def _seed_news(self, symbols: list[str]) -> None:
        """The last window's article scores of symbols not followed yet (then events)."""
        missing = [s for s in symbols if s not in self.news.series]
        if not missing:
            return
        now = self.clock.now_ns()
        try:
            seeded = NewsGateway(self.bus, self.home).history(missing, now, now)
        except BifrostError as exc:
            self.log.warning("strategy.news_unavailable", error=exc.message)
            return
        self.news.series.update(seeded.series)

    def _live_news(self, event: Any) -> None:
        body = event.body
        self.news.add(body["symbol"], int(body["ts"]), float(body["score"]))
        self.news.forget_before(int(body["ts"]) - self.news.decay.window_ns)

    def _restart_live(self) -> None:
        """Start again the strategies that were running when the service stopped."""
        for stored in running(self.db):
            from bifrost.strategy.loader import strategy_class  # only when one ran

            try:
                strategy = strategy_class(stored.name, stored.file)(**stored.params)
            except BifrostError as exc:
                self.log.error(
                    "strategy.restart_failed", strategy=stored.strategy_id, error=exc.message
                )
                continue
            settings = {
                "symbols": stored.symbols,
                "timeframe": stored.timeframe,
                "capital": stored.capital,
            }
            self._runner(stored.strategy_id, strategy, settings)

    def _live_bar(self, event: Any) -> None:
        for runner in self.live.values():
            runner.on_bar(event.body)

    def _live_fill(self, event: Any) -> None:
        for runner in self.live.values():
            runner.on_fill(event.body)

    def list_live(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`strategy.list`: live strategies with their state, positions and P&L."""
        return {"strategies": [r.summary() for r in self.live.values()]}

    def stop_live(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`strategy.stop`: stop one live strategy and cancel its open orders."""
        runner = self.live.get(params["strategy_id"])
        if runner is None:
            raise NotFound(f"no live strategy {params['strategy_id']} (see strategy list)")
        self._stop_runner(runner, ctx.cid)
        return runner.summary()

    def stop_all_live(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`strategies.stop_all`: the kill switch's arm here.

        Only risk calls it, after it canceled every open order; asking risk to cancel
        again would wait on risk while risk waits on this reply."""
        stopped = [r.strategy_id for r in self.live.values() if r.state != "stopped"]
        for strategy_id in stopped:
            self._stop_runner(self.live[strategy_id], ctx.cid, cancel_orders=False)
        return {"stopped": stopped}

    def _stop_runner(self, runner: LiveRunner, cid: str, cancel_orders: bool = True) -> None:
        runner.stop()
        mark_stopped(self.db, runner.strategy_id)
        if cancel_orders and "risk" in self.config.services:
            try:
                self.bus.call(
                    "risk", methods.ORDERS_CANCEL_ALL, {"strategy_id": runner.strategy_id}, cid=cid
                )
            except BifrostError as exc:
                self.log.error("strategy.cancel_failed", cid, error=exc.message)
        self.log.info("strategy.stopped", cid, strategy=runner.strategy_id)

    # -- backtests ----------------------------------------------------------------------

    def start_run(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.run`: check the request, queue it; progress and the end are events."""
        from bifrost.backtest.runner import request_of

        request = request_of(params)
        request.build_strategy()  # parameters that break a constraint: BAD_REQUEST now
        job_id = uuid.uuid4().hex[:12]
        self.jobs.add(job_id, run_id=None, error=None)
        self.workers.submit(self._work, job_id, request, ctx.cid)
        self.log.info("backtest.queued", ctx.cid, job=job_id, strategy=request.strategy)
        return {"job_id": job_id, "topic": topics.backtest_job("done", job_id)}

    def _work(self, job_id: str, request: RunRequest, cid: str) -> None:
        """On a worker thread: load bars, run; the loop thread stores and announces."""
        self.hand_over(lambda: self.jobs.start(job_id, cid))

        def run() -> tuple[Any, ...]:
            from bifrost.backtest.gateway import load_bars, load_sentiment, with_trading_hours
            from bifrost.backtest.runner import run_record, run_request

            market = self._data()
            resolved = with_trading_hours(market, request)
            data = load_bars(market, resolved)
            sentiment = load_sentiment(market.client, self.home, resolved, data)
            return run_record(resolved, run_request(resolved, data, sentiment))

        self._finish(job_id, cid, run, lambda record: self._store(job_id, record, cid))

    def _finish(
        self, job_id: str, cid: str, work: Callable[[], Any], done: Callable[[Any], None]
    ) -> None:
        """On a worker thread: run `work`, then `done(result)` on the loop thread; a failure
        (a BifrostError, or any other exception) fails the job there instead."""
        try:
            result = work()
        except BifrostError as exc:
            error = exc
        except Exception as exc:  # a strategy's own bug must end its job, not the service
            error = Internal(f"{type(exc).__name__}: {exc}")
        else:
            self.hand_over(lambda: done(result))
            return
        self.hand_over(lambda: self._fail(job_id, error, cid))

    def start_sweep(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.sweep`: a grid of runs (statistics only) on a thread here, a big one
        spread over the research cluster; `backtest.job` gives the ranked results."""
        from bifrost.backtest.runner import request_of
        from bifrost.backtest.sweep import grid_points, parse_grid, rank, valid_points

        request = request_of({k: v for k, v in params.items() if k in RUN_PARAMS.fields})
        points, skipped = valid_points(request, grid_points({}, parse_grid(params["grid"])))
        metric = params.get("metric") or "sharpe"
        rank([], metric)  # an unknown metric is refused now, not after the sweep
        jobs = params.get("jobs") or 0
        if jobs < 0:
            raise BadRequest(f"jobs {jobs} must be 0 ([research] workers), 1 (here) or more")
        job_id = uuid.uuid4().hex[:12]
        self.sweeps.open(job_id, len(points), metric, skipped)
        self.workers.submit(self._sweep, job_id, request, points, jobs, ctx.cid)
        self.log.info("backtest.sweep_queued", ctx.cid, job=job_id, points=len(points))
        done = topics.backtest_job("done", job_id)
        return {
            "job_id": job_id,
            "points": len(points),
            "skipped": sum(skipped.values()),
            "topic": done,
        }

    def _sweep(
        self, job_id: str, request: RunRequest, points: list[dict[str, Any]], jobs: int, cid: str
    ) -> None:
        """On a worker thread: the sweep here, or spread over the research cluster."""
        step = max(1, len(points) // 20)

        def progress(done: int, total: int) -> None:
            if done % step == 0 or done == total:
                self.hand_over(lambda: self.sweeps.progress(job_id, done, total, cid))

        def sweep() -> list[dict[str, Any]]:
            from bifrost.backtest.gateway import load_bars, with_trading_hours
            from bifrost.backtest.sweep import run_sweep, worth_spreading

            market = self._data()
            resolved = with_trading_hours(market, request)
            data = load_bars(market, resolved)
            cluster = self.research.for_work(jobs, worth_spreading(points, data))
            via = "service" if cluster is None else "cluster"
            self.hand_over(lambda: self.sweeps.started(job_id, via, cid))
            return run_sweep(resolved, data, points, cluster=cluster, progress=progress)

        self._finish(job_id, cid, sweep, lambda results: self.sweeps.finished(job_id, results, cid))

    def _publish(self, topic: str, body: dict[str, Any], cid: str) -> None:
        assert self.publisher is not None
        self.publisher.publish(topic, "backtest", body, cid)

    def _data(self) -> DataGateway:
        """Market data for this job, over this worker thread's own bus client."""
        return DataGateway(self.clients.get(), self.home)

    def _store(self, job_id: str, record: tuple[Any, ...], cid: str) -> None:
        run, trades, equity = record
        save_run(self.db, run, trades, equity)
        announced = {"run_id": run["run_id"], "stats": run["stats"]}
        self.jobs.finish(job_id, cid, {"run_id": run["run_id"]}, announced)
        self.log.info("backtest.done", cid, job=job_id, run=run["run_id"])

    def _fail(self, job_id: str, error: BifrostError, cid: str) -> None:
        """End a job as failed with the typed error, so a client raises the error the same
        run raises in-process."""
        self.jobs.fail(job_id, error, cid)
        self.log.warning("backtest.failed", cid, job=job_id, error=error.message)

    def job_state(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.job`: queued, running, done (with run_id) or failed (with error)."""
        return self.jobs.get(params["job_id"])

    def list_runs(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.list`: newest runs first."""
        return {"runs": list_runs(self.db, params.get("limit") or 50)}

    def show_run(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.show`: one run with trades and equity."""
        return load_run(self.db, params["run_id"])

    def list_studies(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.studies`: the Optuna studies under HOME/studies, read, not rerun."""
        from bifrost.backtest.studies import list_studies

        return {"studies": list_studies(self.home)}

    def show_study(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`backtest.study`: one study's counts and best trials, or its Pareto front."""
        from bifrost.backtest.studies import study_summary

        top = params.get("top")
        return study_summary(self.home, params["name"], 10 if top is None else top)

    def list_strategies(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`strategies.list`: built-in strategies and their parameters."""
        from bifrost.strategy.builtin import BUILTIN

        return {
            "strategies": [
                {
                    "name": name,
                    "doc": (cls.__doc__ or "").strip().splitlines()[0],
                    "params": {k: v for k, (_, v) in cls.parameters().items()},
                }
                for name, cls in BUILTIN.items()
            ]
        }

    def details(self) -> dict[str, Any]:
        """Backtest jobs by state and live strategies, shown by `health`."""
        return {
            "jobs": self.jobs.counts(),
            "live": sum(r.state != "stopped" for r in self.live.values()),
            "research": self.research.details(),
        }

    def on_stop(self) -> None:
        """Let running jobs finish and store them, before the store is closed."""
        self.workers.shutdown(wait=True, cancel_futures=True)
        self.research.close()
        self.clients.close()
        self._run_handed_over()
