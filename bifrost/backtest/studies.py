"""The Optuna studies kept under HOME/studies, read back without running anything.

`bifrost backtest optimize` keeps each study in its journal file (optimize.study_path)
with its StudySettings as the study's user attribute `settings`, and on each trial the
run's statistics (`stats`), or the rule it broke (`skipped`), or why it has no value
(`error`). These readers list the studies and summarise one: its best trials (one
objective) or its Pareto front with every complete trial's values (several), from the
journal alone. Unlike optimize.report they rerun no backtest, so they have no deflated
Sharpe ratio, and they are cheap enough for a list or a screen.

Reading takes no lock: Optuna's JournalFileBackend locks only to append, and reads up
to the file's size when the read began, skipping a last line still being written, so
a study can be read while `optimize` adds trials to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bifrost.backtest.optimize import STUDY_NAME, StudySettings, study_path
from bifrost.errors import BadRequest, NotFound

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


def list_studies(home: Path) -> list[dict[str, Any]]:
    """Every study under HOME/studies, by name: its settings in short, its trial counts
    and each objective's best value over the complete trials. A journal that cannot be
    read is listed with its `error` alone, so it does not hide the others."""
    folder = home / "studies"
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.journal")):
        name = path.stem
        if not STUDY_NAME.match(name):
            continue  # not a name optimize gives, so not one of its studies
        try:
            study, settings = _read(path, name)
        except BadRequest as exc:
            out.append({"name": name, "error": exc.message})
            continue
        trials = study.get_trials(deepcopy=False)
        complete = _complete(trials)
        best = {
            objective: _best_value(complete, i, direction)
            for i, (objective, direction) in enumerate(
                zip(settings.objectives, settings.directions(), strict=True)
            )
        }
        out.append(
            _heading(name, settings)
            | _counts(trials)
            | {"best": best, "front": len(_front(study, settings, complete))}
        )
    return out


def study_summary(home: Path, name: str, top: int = 10) -> dict[str, Any]:
    """One study: its settings, its trial counts and its best trials.

    With one objective, `best` holds the `top` best complete trials, best first. With
    several, `best` is the Pareto front (Optuna's `best_trials`, by trial number) and
    `points` every complete trial's objective values, the cloud a plot shows around it."""
    if top < 1:
        raise BadRequest(f"top {top} must be at least 1")
    path = study_path(home, name)
    if not path.exists():
        raise NotFound(f"no study '{name}' in {path.parent}")
    study, settings = _read(path, name)
    trials = study.get_trials(deepcopy=False)
    complete = _complete(trials)
    objectives = settings.objectives
    if len(objectives) == 1:
        sign = -1.0 if settings.directions()[0] == "maximize" else 1.0
        ranked = sorted(complete, key=lambda t: (sign * t.values[0], t.number))
        best, points = ranked[:top], []
    else:
        best = sorted(_front(study, settings, complete), key=lambda t: t.number)
        points = [{"number": t.number, "values": _values(t, objectives)} for t in complete]
    return (
        _heading(name, settings)
        | _counts(trials)
        | {
            "settings": settings.to_dict(),
            "best": [_trial_row(t, objectives) for t in best],
            "points": points,
        }
    )


def params_text(params: dict[str, Any]) -> str:
    """A trial's parameters as a person types them: `fast=5 slow=20`."""
    return " ".join(f"{name}={value}" for name, value in params.items())


def _read(path: Path, name: str) -> tuple[optuna.Study, StudySettings]:
    """The study in `path` and its settings; BadRequest naming the file when either
    cannot be read. Only the journal's reader is used: no lock, no write."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
        if name not in {s.study_name for s in storage.get_all_studies()}:
            raise BadRequest(f"study journal {path} holds no study '{name}'")
        study = optuna.load_study(study_name=name, storage=storage)
        if "settings" not in study.user_attrs:
            raise BadRequest(f"study journal {path} has no settings of `backtest optimize`")
        return study, StudySettings.from_dict(study.user_attrs["settings"])
    except BadRequest:
        raise
    except Exception as exc:
        # Optuna's replay raises whatever a damaged line gives it (JSONDecodeError,
        # KeyError, UnicodeDecodeError, an AssertionError on an unknown operation), and
        # settings written by another version may not parse: each means this file is
        # not a study that can be read.
        raise BadRequest(
            f"study journal {path} cannot be read: {type(exc).__name__}: {exc}"
        ) from exc


def _heading(name: str, settings: StudySettings) -> dict[str, Any]:
    request = settings.request
    return {
        "name": name,
        "strategy": request.strategy,
        "symbols": list(request.symbols),
        "timeframe": request.timeframe,
        "objectives": list(settings.objectives),
        "directions": settings.directions(),
        "sampler": settings.sampler,
    }


def _counts(trials: list[FrozenTrial]) -> dict[str, Any]:
    """How many trials ended which way; a trial pruned for breaking a constraint counts
    as skipped (by its rule), not as pruned on partial equity (as optimize.report)."""
    from optuna.trial import TrialState

    skipped: dict[str, int] = {}
    for t in trials:
        if "skipped" in t.user_attrs:
            rule = str(t.user_attrs["skipped"])
            skipped[rule] = skipped.get(rule, 0) + 1
    states = [t.state for t in trials]
    return {
        "trials": len(trials),
        "complete": states.count(TrialState.COMPLETE),
        "running": states.count(TrialState.RUNNING),
        "pruned": states.count(TrialState.PRUNED) - sum(skipped.values()),
        "skipped": sum(skipped.values()),
        "skipped_by_rule": skipped,
        "failed": states.count(TrialState.FAIL),
    }


def _complete(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    from optuna.trial import TrialState

    return [t for t in trials if t.state == TrialState.COMPLETE]


def _front(
    study: optuna.Study, settings: StudySettings, complete: list[FrozenTrial]
) -> list[FrozenTrial]:
    """The best trial (one objective) or the Pareto front; none before a trial completed."""
    if not complete:
        return []
    return list(study.best_trials) if len(settings.objectives) > 1 else [study.best_trial]


def _best_value(complete: list[FrozenTrial], index: int, direction: str) -> float | None:
    values = [t.values[index] for t in complete]
    if not values:
        return None
    return max(values) if direction == "maximize" else min(values)


def _values(trial: FrozenTrial, objectives: tuple[str, ...]) -> dict[str, float]:
    return dict(zip(objectives, trial.values, strict=True))


def _trial_row(trial: FrozenTrial, objectives: tuple[str, ...]) -> dict[str, Any]:
    return {
        "number": trial.number,
        "params": dict(trial.params),
        "values": _values(trial, objectives),
        "stats": trial.user_attrs.get("stats"),
    }
