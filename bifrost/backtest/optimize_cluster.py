"""An Optuna study's trials spread over the research cluster (ask and tell).

Up to one trial per worker is in flight. Each trial is asked of the study here, its
values suggested and checked against the strategy's constraints here (a breaking
trial is pruned with its rule, as in-process), and its backtests run on a worker over
bars scattered once per worker. With one objective a trial first runs over the first
half of the bars: its partial value is reported here and the study's median pruner
decides, before the second task runs it whole, so a hopeless trial costs half a run,
as it does in-process. The study, its sampler and its journal live in this process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bifrost.backtest.optimize import Dimension, StudySettings
from bifrost.backtest.runner import RunRequest, run_request
from bifrost.backtest.stats import to_jsonable
from bifrost.backtest.walkforward import per_bar_sharpe
from bifrost.errors import BifrostError, InvalidParameter
from bifrost.strategy.bars import BarArrays, slice_bars
from bifrost.strategy.loader import strategy_class

if TYPE_CHECKING:
    import optuna

    from bifrost.research.cluster import ResearchCluster


def evaluate(
    request: RunRequest,
    objectives: tuple[str, ...],
    data: dict[str, BarArrays],
    window: tuple[int, int],
) -> dict[str, Any]:
    """One backtest of a trial on a worker, over the bars of `window` (first ts, end ts):
    its objectives' values (None when one is undefined or the run failed), statistics,
    per-bar Sharpe ratio and error."""
    view = slice_bars(data, *window)
    try:
        result = run_request(request, view)
    except BifrostError as exc:
        return {"values": None, "error": exc.message}
    stats = to_jsonable(result.stats)
    values = [stats.get(o) for o in objectives]
    undefined = any(v is None for v in values)
    return {
        "values": None if undefined else [float(v) for v in values if v is not None],
        "stats": stats,
        "per_bar_sharpe": per_bar_sharpe(result.equity),
        "error": "an objective is undefined (too few trades or bars)" if undefined else None,
    }


class ClusterTrials:
    """Runs `trials` trials of `study` on `cluster`, keeping one per worker in flight."""

    def __init__(
        self,
        cluster: ResearchCluster,
        study: optuna.Study,
        settings: StudySettings,
        space: list[Dimension],
        shared: Any,
        timeline: Any,
        *,
        prune: bool,
    ) -> None:
        """`shared` is the bars scattered to the workers; `timeline` the timestamps of the
        bars the trials run over (all of them, or a training window's)."""
        self.cluster, self.study, self.settings, self.space = cluster, study, settings, space
        self.shared, self.prune = shared, prune
        self.cls = strategy_class(settings.request.strategy, settings.request.file)
        end = int(timeline[-1]) + 1
        self.whole = (int(timeline[0]), end)
        self.first_half = (int(timeline[0]), int(timeline[len(timeline) // 2]))
        self.running: dict[Any, tuple[optuna.Trial, RunRequest, bool]] = {}

    def run(self, trials: int, advance: Callable[[], None]) -> None:
        """Ask, run and tell `trials` trials; `advance()` after each one ends."""
        asked = 0
        pending = self.cluster.as_completed()
        while asked < trials and len(self.running) < self.cluster.workers:
            asked += self._ask(pending, advance)
        try:
            for future in pending:
                trial, request, whole = self.running.pop(future)
                if self._outcome(pending, trial, request, whole, future.result()):
                    advance()
                    while asked < trials and len(self.running) < self.cluster.workers:
                        asked += self._ask(pending, advance)
        finally:
            self.cluster.client.cancel(list(self.running))

    def _ask(self, pending: Any, advance: Callable[[], None]) -> int:
        """Ask one trial; submit its first task, or tell it pruned for a broken rule."""
        import optuna

        trial = self.study.ask()
        params = {d.name: d.suggest(trial) for d in self.space}
        try:
            self.cls.checked_params(params)
        except InvalidParameter as exc:
            trial.set_user_attr("skipped", exc.constraint or exc.parameter)
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            advance()
            return 1
        self._submit(pending, trial, replace(self.settings.request, params=params), not self.prune)
        return 1

    def _submit(self, pending: Any, trial: optuna.Trial, request: RunRequest, whole: bool) -> None:
        window = self.whole if whole else self.first_half
        future = self.cluster.submit(
            evaluate, request, self.settings.objectives, self.shared, window
        )
        self.running[future] = (trial, request, whole)
        pending.add(future)

    def _outcome(
        self,
        pending: Any,
        trial: optuna.Trial,
        request: RunRequest,
        whole: bool,
        outcome: dict[str, Any],
    ) -> bool:
        """Record a task's outcome on its trial; True when the trial has ended."""
        from optuna.trial import TrialState

        for key in ("stats", "per_bar_sharpe", "error"):
            if outcome.get(key) is not None:
                trial.set_user_attr(key, outcome[key])
        values = outcome["values"]
        if values is None:
            self.study.tell(trial, state=TrialState.FAIL)
            return True
        if not whole:
            trial.report(values[0], 0)
            if trial.should_prune():
                self.study.tell(trial, state=TrialState.PRUNED)
                return True
            self._submit(pending, trial, request, True)
            return False
        self.study.tell(trial, values[0] if len(values) == 1 else values)
        return True
