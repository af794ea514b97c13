"""Research work on a real two-worker Dask cluster (a LocalCluster on 127.0.0.1): the
same results as in this process, the bars sent once per worker, a lost worker's tasks
rerun."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bifrost.backtest.optimize import StudySettings, optimize
from bifrost.backtest.runner import RunRequest
from bifrost.backtest.sweep import rank, run_sweep
from bifrost.backtest.walkforward import walk_forward
from bifrost.research.cluster import ResearchCluster
from bifrost.strategy.bars import BarArrays

pytestmark = pytest.mark.timeout(120)
DAY_NS = 86_400_000_000_000
REQUEST = RunRequest("sma_cross", ("AAA",), engine="vector", periods_per_year=252)


def random_walk(n: int, seed: int = 7) -> dict[str, BarArrays]:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0002, 0.01, n) + 0.006 * np.sin(np.arange(n) / 12)
    close = 100 * np.exp(np.cumsum(steps))
    ts = (np.arange(n, dtype=np.int64) + 10_000) * DAY_NS
    return {"AAA": BarArrays(ts, close, close * 1.01, close * 0.99, close, np.ones(n))}


def grid(fast: range, slow: range) -> list[dict[str, int]]:
    return [{"fast": f, "slow": s} for f in fast for s in slow]


@pytest.fixture(scope="module")
def cluster() -> Iterator[ResearchCluster]:
    with ResearchCluster.start_local(2) as started:
        yield started


@pytest.fixture(scope="module")
def data() -> dict[str, BarArrays]:
    return random_walk(1500)


def test_a_sweep_on_two_workers_gives_exactly_the_results_of_this_process(
    cluster: ResearchCluster, data: dict[str, BarArrays]
) -> None:
    points = grid(range(3, 23, 2), range(25, 65, 4))
    seen: list[tuple[int, int]] = []
    spread = run_sweep(
        REQUEST, data, points, cluster=cluster, progress=lambda d, t: seen.append((d, t))
    )
    here = run_sweep(REQUEST, data, points)
    assert cluster.workers == 2
    assert spread == here and len(spread) == 100
    assert rank(spread, "sharpe") == rank(here, "sharpe")
    assert seen[-1] == (100, 100) and len(seen) == 8  # four chunks per worker


def test_the_bars_reach_each_worker_once_not_once_per_task(
    cluster: ResearchCluster, data: dict[str, BarArrays]
) -> None:
    shared = cluster.scatter(data)
    before = cluster.client.run(lambda dask_worker: dask_worker.state.transfer_incoming_count_total)
    for window in [None, (int(data["AAA"].ts[0]), int(data["AAA"].ts[700]))]:
        run_sweep(
            REQUEST,
            data,
            grid(range(3, 13), range(20, 40, 5)),
            cluster=cluster,
            shared=shared,
            window=window,
        )
    holders = cluster.client.who_has([shared])[shared.key]
    after = cluster.client.run(lambda dask_worker: dask_worker.state.transfer_incoming_count_total)
    assert sorted(holders) == sorted(cluster.client.scheduler_info()["workers"])
    assert after == before  # no task fetched the bars from another worker


def test_walk_forward_on_the_cluster_matches_this_process(
    cluster: ResearchCluster, data: dict[str, BarArrays]
) -> None:
    points = grid(range(3, 15, 3), range(20, 50, 10))
    options = {"train": 400, "test": 200, "metric": "sharpe"}
    spread = walk_forward(REQUEST, data, points, cluster=cluster, **options)
    here = walk_forward(REQUEST, data, points, **options)
    assert spread["windows"] == here["windows"] and len(here["windows"]) == 5
    assert spread["out_of_sample"] == here["out_of_sample"]
    assert spread["deflated_sharpe"] == here["deflated_sharpe"]


def test_a_seeded_two_objective_study_on_the_cluster_runs_the_trials_of_this_process(
    cluster: ResearchCluster, data: dict[str, BarArrays], tmp_path: Path
) -> None:
    settings = StudySettings.of(
        REQUEST, ["fast=2:30", "slow=5:60"], ["sharpe", "max_drawdown"], "random", seed=5
    )
    spread = optimize(tmp_path / "a", "s", settings, data, trials=16, cluster=cluster)
    here = optimize(tmp_path / "b", "s", settings, data, trials=16)
    assert spread["trials"] == here["trials"] == 16
    assert spread["complete"] == here["complete"] and spread["skipped"] == here["skipped"]
    assert spread["best"] == here["best"] and spread["best"]


def test_one_objective_on_the_cluster_prunes_on_partial_equity_and_resumes(
    cluster: ResearchCluster, data: dict[str, BarArrays], tmp_path: Path
) -> None:
    settings = StudySettings.of(REQUEST, ["fast=2:30", "slow=5:60"], ["sharpe"], "tpe", seed=3)
    first = optimize(tmp_path, "p", settings, data, trials=30, cluster=cluster)
    again = optimize(tmp_path, "p", settings, data, trials=10, resume=True, cluster=cluster)
    assert first["trials"] == 30 and again["trials"] == 40
    assert first["pruned"] > 0  # the median pruner stopped some after the first half
    assert again["trials_run"] == again["complete"] + again["pruned"]
    assert len(again["best"]) == 1 and again["best"][0]["deflated_sharpe"] is not None


def test_a_worker_killed_mid_sweep_has_its_tasks_rerun_with_the_same_results() -> None:
    data = random_walk(4000, seed=11)
    points = grid(range(3, 23), range(25, 45))
    here = run_sweep(REQUEST, data, points)
    with ResearchCluster.start_local(2) as cluster:
        pids = cluster.client.run(os.getpid)
        victim = next(iter(pids.values()))
        killed = threading.Event()

        def kill_once(done: int, total: int) -> None:
            if not killed.is_set():
                os.kill(victim, signal.SIGKILL)
                killed.set()

        spread = run_sweep(REQUEST, data, points, cluster=cluster, progress=kill_once)
        assert killed.is_set()
        assert spread == here
        cluster.client.wait_for_workers(2, timeout=30)  # the nanny started it again
        assert victim not in cluster.client.run(os.getpid).values()


@pytest.mark.parametrize("kind", ["gbm", "logistic"])
def test_training_folds_fitted_on_the_cluster_score_as_folds_fitted_here(
    cluster: ResearchCluster, kind: str
) -> None:
    from bifrost.ml.training import TrainRequest, train_model
    from tests.bifrost.ml.synthetic import bars

    request = TrainRequest("m", ("SYN",), kind=kind, horizon=1, folds=4)
    history = {"SYN": bars(1200, seed=1, persistence=0.5)}
    asked: list[bool] = []

    def research(big: bool) -> ResearchCluster:
        asked.append(big)
        return cluster

    spread = train_model(request, history, research=research)
    here = train_model(request, history)
    assert asked == [False]  # 1,200 rows x 4 folds is small; the caller chose the cluster
    assert spread.metrics == here.metrics and len(here.metrics["folds"]) == 4


def trim_threshold_and_profiler() -> tuple[str | None, bool]:
    import dask

    return os.environ.get("MALLOC_TRIM_THRESHOLD_"), dask.config.get(
        "distributed.worker.profile.enabled"
    )


def test_workers_keep_glibcs_allocator_tuning_and_run_no_profiler(
    cluster: ResearchCluster,
) -> None:
    """Dask's MALLOC_TRIM_THRESHOLD_ doubles a sweep point's CPU (docs/BENCHMARKS.md)."""
    seen = cluster.client.run(trim_threshold_and_profiler)
    assert set(seen.values()) == {(None, False)} and len(seen) == 2
