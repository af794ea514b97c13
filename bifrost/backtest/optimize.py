"""Parameter optimisation with Optuna: a study of trials instead of a full grid.

Search space, one parameter per spec, typed by the strategy's declared parameter:
`fast=5:50` (an int or float range, both ends included), `fast=5:50:5` (a range with a
step), `kind=a,b,c` (categorical) or `fast=10` (fixed). A trial whose values break
one of the strategy's constraints is pruned before it runs, with the rule as its
reason (user attribute `skipped`), as a sweep skips such points; it is never best.

One objective gives the best trial; several (`sharpe`, `max_drawdown_pct`) give the
Pareto front. With one objective, a trial is first run over the first half of the
bars; the median pruner stops it there when that partial result is worse than the
median of earlier trials at the same point (pruning needs intermediate values,
which Optuna supports for single-objective studies only).

A study lives in its own journal file (Optuna's JournalFileBackend) under
HOME/studies/, with the request, space, objectives and sampler as study attributes,
so `resume` continues it with nothing else given. The deflated Sharpe ratio of each
reported trial is corrected for the trials actually run: those that completed and
those pruned on partial equity (each with the per-bar Sharpe ratio of what it ran);
trials skipped for a constraint never ran and are not counted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from bifrost.backtest.runner import RunRequest, run_request
from bifrost.backtest.stats import STAT_KEYS, to_jsonable
from bifrost.backtest.walkforward import deflated_sharpe, per_bar_sharpe
from bifrost.errors import BadRequest, BifrostError, Conflict, InvalidParameter, NotFound
from bifrost.strategy.bars import BarArrays, slice_bars
from bifrost.strategy.loader import strategy_class
from bifrost.strategy.strategy import coerce_param

if TYPE_CHECKING:
    import optuna

    from bifrost.research.cluster import ResearchCluster

Direction = Literal["minimize", "maximize"]
SAMPLERS = ("tpe", "cmaes", "random", "grid")
ALIASES = {"max_drawdown": "max_drawdown_pct", "return": "total_return_pct"}
MINIMISED = frozenset({"annual_volatility_pct", "max_drawdown_duration_days"})
"""Objectives where less is better; every other statistic is maximised (drawdowns are
negative percentages, so the shallowest is the largest)."""
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
PRUNE_STARTUP_TRIALS = 5
Progress = Callable[[int, int], None]
"""Called with (trials done, trials asked for) as trials finish."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """One parameter of the search space."""

    name: str
    kind: str
    """int, float or categorical."""
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: optuna.Trial) -> Any:
        """This parameter's value for `trial`."""
        if self.kind == "int":
            return trial.suggest_int(
                self.name, int(self.low), int(self.high), step=int(self.step or 1)
            )
        if self.kind == "float":
            return trial.suggest_float(self.name, self.low, self.high, step=self.step)
        return trial.suggest_categorical(self.name, list(self.choices))

    def grid_values(self) -> list[Any]:
        """Every value the grid sampler tries."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.step is None and self.kind == "float":
            raise BadRequest(f"the grid sampler needs a step for '{self.name}' (low:high:step)")
        step = self.step or 1
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        values = [self.low + i * step for i in range(count)]
        return [int(v) for v in values] if self.kind == "int" else values


@dataclass(frozen=True, slots=True)
class StudySettings:
    """What defines a study: kept in its journal so a resume needs only its name."""

    request: RunRequest
    space: tuple[str, ...]
    objectives: tuple[str, ...] = ("sharpe",)
    sampler: str = "tpe"
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS:
            raise BadRequest(f"sampler '{self.sampler}' must be one of {', '.join(SAMPLERS)}")
        if not self.objectives:
            raise BadRequest("an optimisation needs at least one objective")
        for name in self.objectives:
            if name not in STAT_KEYS:
                raise BadRequest(f"objective '{name}' is not a statistic ({', '.join(STAT_KEYS)})")
        if self.sampler == "cmaes" and len(self.objectives) > 1:
            raise BadRequest("the cmaes sampler takes one objective")

    @classmethod
    def of(
        cls,
        request: RunRequest,
        space: list[str],
        objectives: list[str],
        sampler: str = "tpe",
        seed: int | None = None,
    ) -> StudySettings:
        """Settings from command options (objective aliases such as max_drawdown resolved)."""
        names = tuple(ALIASES.get(o, o) for o in objectives or ["sharpe"])
        return cls(replace(request, params={}), tuple(space), names, sampler, seed)

    def directions(self) -> list[Direction]:
        """Optuna's direction of each objective."""
        return ["minimize" if o in MINIMISED else "maximize" for o in self.objectives]

    def to_dict(self) -> dict[str, Any]:
        """A plain map for the study's attributes."""
        return {
            "request": self.request.to_dict(),
            "space": list(self.space),
            "objectives": list(self.objectives),
            "sampler": self.sampler,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> StudySettings:
        """The settings `to_dict` wrote."""
        request = body["request"]
        return cls(
            RunRequest(**{**request, "symbols": tuple(request["symbols"])}),
            tuple(body["space"]),
            tuple(body["objectives"]),
            body["sampler"],
            body["seed"],
        )


def parse_space(request: RunRequest, specs: tuple[str, ...] | list[str]) -> list[Dimension]:
    """The search space of `specs`, typed by the strategy's declared parameters."""
    cls = strategy_class(request.strategy, request.file)
    declared = cls.parameters()
    space = []
    for spec in specs:
        name, sep, text = (part.strip() for part in spec.partition("="))
        if not sep or not name or not text:
            raise BadRequest(f"parameter spec '{spec}' is not like fast=5:50 or kind=a,b")
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise InvalidParameter(name, f"{cls.__name__} has no parameter '{name}' ({known})")
        space.append(_dimension(spec, name, text, declared[name][0]))
    if not space:
        raise BadRequest("an optimisation needs at least one -p name=low:high")
    return space


def _dimension(spec: str, name: str, text: str, kind: type) -> Dimension:
    if ":" not in text or kind not in (int, float):
        return Dimension(
            name,
            "categorical",
            choices=tuple(coerce_param(name, v.strip(), kind) for v in text.split(",")),
        )
    try:
        bounds = [float(x) for x in text.split(":")]
    except ValueError:
        raise BadRequest(f"parameter spec '{spec}' has bounds that are not numbers") from None
    if len(bounds) not in (2, 3) or bounds[1] < bounds[0] or (len(bounds) == 3 and bounds[2] <= 0):
        raise BadRequest(f"parameter spec '{spec}' is not low:high or low:high:step")
    step = bounds[2] if len(bounds) == 3 else None
    if kind is int:
        if not all(b.is_integer() for b in bounds):
            raise BadRequest(f"parameter '{name}' is an integer; '{spec}' is not")
        return Dimension(name, "int", bounds[0], bounds[1], step)
    return Dimension(name, "float", bounds[0], bounds[1], step)


def study_path(home: Path, name: str) -> Path:
    """The journal file of study `name`."""
    if not STUDY_NAME.match(name):
        raise BadRequest(f"study name '{name}' may hold letters, digits, '_', '.' and '-' only")
    return home / "studies" / f"{name}.journal"


def _storage(path: Path) -> optuna.storages.JournalStorage:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def study_settings(home: Path, name: str) -> StudySettings:
    """The settings of the stored study `name` (NotFound when there is none)."""
    path = study_path(home, name)
    if not path.exists():
        raise NotFound(f"no study '{name}' in {path.parent}")
    import optuna

    study = optuna.load_study(study_name=name, storage=_storage(path))
    return StudySettings.from_dict(study.user_attrs["settings"])


def make_sampler(settings: StudySettings, space: list[Dimension]) -> optuna.samplers.BaseSampler:
    """The settings' sampler over `space`, seeded."""
    import optuna

    seed = settings.seed
    if settings.sampler == "grid":
        grid = {d.name: d.grid_values() for d in space}
        return optuna.samplers.GridSampler(grid, seed=seed)
    if settings.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def optimize(
    home: Path,
    name: str,
    settings: StudySettings,
    data: dict[str, BarArrays],
    *,
    trials: int,
    resume: bool = False,
    progress: Progress | None = None,
    cluster: ResearchCluster | None = None,
) -> dict[str, Any]:
    """Run `trials` more trials of study `name` (a new one unless `resume`); the report.

    The trials run in this process, or with a `cluster` over its workers, one trial
    per worker at a time (bifrost.backtest.optimize_cluster)."""
    import optuna

    if trials < 1:
        raise BadRequest("trials must be at least 1")
    path = study_path(home, name)
    if resume != path.exists():
        raise (
            NotFound(f"no study '{name}' to resume")
            if resume
            else Conflict(f"study '{name}' exists; resume it or choose another name")
        )
    space = parse_space(settings.request, settings.space)
    single = len(settings.objectives) == 1
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP_TRIALS)
        if single
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        study_name=name,
        storage=_storage(path),
        sampler=make_sampler(settings, space),
        pruner=pruner,
        directions=settings.directions(),
        load_if_exists=resume,
    )
    if not resume:
        study.set_user_attr("settings", settings.to_dict())
    done = [0]

    def advance() -> None:
        done[0] += 1
        if progress:
            progress(done[0], trials)

    if cluster is None:
        objective = TrialObjective(settings, space, data, prune=single)
        study.optimize(objective, n_trials=trials, callbacks=[lambda *_: advance()])
    else:
        from bifrost.backtest.optimize_cluster import ClusterTrials

        timeline = data[settings.request.symbols[0]].ts
        shared = cluster.scatter(data)
        spread = ClusterTrials(cluster, study, settings, space, shared, timeline, prune=single)
        spread.run(trials, advance)
    return report(study, settings, data) | {"study": name, "storage": str(path)}


class TrialObjective:
    """One trial: suggest, check the constraints, run (half, then whole), score."""

    def __init__(
        self,
        settings: StudySettings,
        space: list[Dimension],
        data: dict[str, BarArrays],
        prune: bool,
    ) -> None:
        self.settings, self.space, self.data, self.prune = settings, space, data, prune
        self.cls = strategy_class(settings.request.strategy, settings.request.file)
        timeline = data[settings.request.symbols[0]].ts
        middle = len(timeline) // 2
        self.first_half = slice_bars(data, int(timeline[0]), int(timeline[middle]))

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        import optuna

        params = {d.name: d.suggest(trial) for d in self.space}
        try:
            self.cls.checked_params(params)
        except InvalidParameter as exc:
            trial.set_user_attr("skipped", exc.constraint or exc.parameter)
            raise optuna.TrialPruned(exc.message) from None
        request = replace(self.settings.request, params=params)
        if self.prune:
            partial = self._run(trial, request, self.first_half)
            if partial is not None:
                trial.report(partial[0], 0)
                if trial.should_prune():
                    raise optuna.TrialPruned("worse than the median on the first half")
        values = self._run(trial, request, self.data)
        if values is None:
            return math.nan if self.prune else [math.nan] * len(self.settings.objectives)
        return values[0] if self.prune else values

    def _run(
        self, trial: optuna.Trial, request: RunRequest, data: dict[str, BarArrays]
    ) -> list[float] | None:
        """The objectives' values over `data`, kept on the trial with the statistics and
        the per-bar Sharpe ratio; None (and the reason kept) when one is undefined."""
        try:
            result = run_request(request, data)
        except BifrostError as exc:
            trial.set_user_attr("error", exc.message)
            return None
        stats = to_jsonable(result.stats)
        trial.set_user_attr("stats", stats)
        trial.set_user_attr("per_bar_sharpe", per_bar_sharpe(result.equity))
        values = [stats.get(o) for o in self.settings.objectives]
        if any(v is None for v in values):
            trial.set_user_attr("error", "an objective is undefined (too few trades or bars)")
            return None
        return [float(v) for v in values if v is not None]


def report(
    study: optuna.Study, settings: StudySettings, data: dict[str, BarArrays]
) -> dict[str, Any]:
    """Counts of the study's trials, and its best trial (one objective) or Pareto front,
    each with its deflated Sharpe ratio over the trials that ran."""
    from optuna.trial import TrialState

    every = study.get_trials(deepcopy=False)
    complete = [t for t in every if t.state == TrialState.COMPLETE]
    skipped: dict[str, int] = {}
    for t in every:
        if "skipped" in t.user_attrs:
            skipped[t.user_attrs["skipped"]] = skipped.get(t.user_attrs["skipped"], 0) + 1
    ran = [t.user_attrs["per_bar_sharpe"] for t in every if "per_bar_sharpe" in t.user_attrs]
    best = (
        (study.best_trials if len(settings.objectives) > 1 else [study.best_trial])
        if complete
        else []
    )
    return {
        "sampler": settings.sampler,
        "objectives": list(settings.objectives),
        "directions": settings.directions(),
        "trials": len(every),
        "complete": len(complete),
        "pruned": sum(
            t.state == TrialState.PRUNED and "skipped" not in t.user_attrs for t in every
        ),
        "skipped": sum(skipped.values()),
        "skipped_by_rule": skipped,
        "failed": sum(t.state == TrialState.FAIL for t in every),
        "trials_run": len(ran),
        "best": [_best(t, settings, data, ran) for t in sorted(best, key=lambda t: t.number)],
    }


def _best(
    trial: optuna.trial.FrozenTrial,
    settings: StudySettings,
    data: dict[str, BarArrays],
    trial_sharpes: list[float],
) -> dict[str, Any]:
    request = replace(settings.request, params=dict(trial.params))
    equity = run_request(request, data).equity
    start = np.concatenate([[request.cash], equity[:-1]])
    return {
        "number": trial.number,
        "params": dict(trial.params),
        "values": dict(zip(settings.objectives, trial.values, strict=True)),
        "stats": trial.user_attrs.get("stats"),
        "deflated_sharpe": deflated_sharpe((equity - start) / start, trial_sharpes),
    }
