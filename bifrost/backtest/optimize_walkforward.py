"""Walk-forward with Optuna: a fresh study on each training window, its best trial
traded on the next window unseen.

The windows, the chaining of the test windows into one out-of-sample curve and the
report are walk-forward's own (`bifrost.backtest.walkforward`); only the search in
each training window differs: `trials` sampled trials instead of every grid point.
The studies live in memory (a window's study is of no use once its window is traded),
and the deflated Sharpe counts every trial that ran in every window.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bifrost.backtest.optimize import (
    PRUNE_STARTUP_TRIALS,
    Progress,
    StudySettings,
    TrialObjective,
    make_sampler,
    parse_space,
)
from bifrost.backtest.runner import run_request
from bifrost.backtest.stats import to_jsonable
from bifrost.backtest.walkforward import _Walk, windows
from bifrost.errors import BadRequest
from bifrost.strategy.bars import BarArrays, slice_bars

if TYPE_CHECKING:
    from bifrost.research.cluster import ResearchCluster


def optimize_walk_forward(
    settings: StudySettings,
    data: dict[str, BarArrays],
    *,
    trials: int,
    train: int,
    test: int,
    anchored: bool = False,
    progress: Progress | None = None,
    cluster: ResearchCluster | None = None,
) -> dict[str, Any]:
    """Optimise on each training window with `trials` trials, trade the next test window
    (the trials on `cluster` when given, the bars scattered to it once)."""
    if len(settings.objectives) != 1:
        raise BadRequest("a walk-forward optimises one objective")
    if trials < 1:
        raise BadRequest("trials must be at least 1")
    request = settings.request
    splits = windows(len(data[request.symbols[0]].ts), train, test, anchored)
    walk = _StudyWalk(settings, data, trials, cluster)
    for n, split in enumerate(splits):
        walk.step(*split)
        if progress:
            progress(n + 1, len(splits))
    return walk.report() | {
        "objective": settings.objectives[0],
        "sampler": settings.sampler,
        "trials": walk.trials_run,
        "skipped": walk.skipped,
    }


class _StudyWalk(_Walk):
    """A walk-forward whose training windows are searched by an Optuna study each."""

    def __init__(
        self,
        settings: StudySettings,
        data: dict[str, BarArrays],
        trials: int,
        cluster: ResearchCluster | None,
    ) -> None:
        shared = cluster.scatter(data) if cluster is not None else None
        super().__init__(settings.request, data, [], settings.objectives[0], cluster, shared)
        self.settings = settings
        self.space = parse_space(settings.request, settings.space)
        self.trials = trials
        self.trials_run = 0
        self.skipped = 0

    def step(self, a: int, b: int, c: int) -> None:
        """Search bars [a, b) with a study, trade bars [b, c) with its best trial."""
        import optuna

        timeline = self.timeline
        training = slice_bars(self.data, int(timeline[a]), int(timeline[b]))
        study = optuna.create_study(
            sampler=make_sampler(self.settings, self.space),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP_TRIALS),
            direction=self.settings.directions()[0],
        )
        if self.cluster is None:
            objective = TrialObjective(self.settings, self.space, training, prune=True)
            study.optimize(objective, self.trials)
        else:
            from bifrost.backtest.optimize_cluster import ClusterTrials

            window = self.timeline[a:b]
            spread = ClusterTrials(
                self.cluster, study, self.settings, self.space, self.shared, window, prune=True
            )
            spread.run(self.trials, lambda: None)
        ran = [
            t.user_attrs["per_bar_sharpe"] for t in study.trials if "per_bar_sharpe" in t.user_attrs
        ]
        self.trial_sharpes += ran
        self.trials_run += len(ran)
        self.skipped += sum("skipped" in t.user_attrs for t in study.trials)
        if not any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials):
            raise BadRequest(f"no trial completed on the training window from bar {a} to {b}")
        best = study.best_trial
        end = int(timeline[c]) if c < len(timeline) else int(timeline[-1]) + 1
        test_request = replace(self.request, params=dict(best.params), cash=self.cash)
        outcome = run_request(test_request, slice_bars(self.data, int(timeline[b]), end))
        self.cash = float(outcome.equity[-1])
        self.results.append(outcome)
        self.windows.append(
            {
                "train": [int(timeline[a]), int(timeline[b - 1])],
                "test": [int(timeline[b]), int(timeline[c - 1])],
                "params": dict(best.params),
                "in_sample": best.user_attrs.get("stats"),
                "out_of_sample": to_jsonable(outcome.stats),
            }
        )
