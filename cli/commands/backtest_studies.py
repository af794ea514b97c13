"""`bifrost backtest studies [NAME]`: the Optuna studies `backtest optimize` kept.

Without a name, every study under HOME/studies with its trial counts and best values;
with one, its best trials (one objective) or its Pareto front (several). The journals
are read, no trial is run again; through the strategy service when it runs, else from
the files here (bifrost.backtest.studies), with the same document either way.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import CliState, state_of

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def studies(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="A study (default: list them all).")] = None,
    top: Annotated[int, typer.Option(min=1, help="Best trials to show (one objective).")] = 10,
    json: JsonOption = False,
) -> None:
    """Optuna studies of `backtest optimize`: counts, best trials and Pareto fronts.

    Read from the journals under HOME/studies (through the strategy service when it
    runs); no backtest runs again, so there is no deflated Sharpe here (see optimize)."""
    document, via = read_studies(state_of(ctx), name, top)
    if json:
        emit_json(document | {"via": via})
    elif name is None:
        show_list(document["studies"])
    else:
        show_study(document)


def read_studies(state: CliState, name: str | None, top: int) -> tuple[dict[str, Any], str]:
    """The list (`{"studies": [...]}`) or one study's summary, and the route it took."""
    from bifrost.bus import methods

    with state.client(timeout_ms=5000) as client:
        if client.answers("strategy"):  # the backtest modules are not imported for a call
            if name is None:
                return dict(client.call("strategy", methods.BACKTEST_STUDIES)), "daemon"
            params = {"name": name, "top": top}
            return dict(client.call("strategy", methods.BACKTEST_STUDY, params)), "daemon"
    from bifrost.backtest.studies import list_studies, study_summary

    if name is None:
        return {"studies": list_studies(state.home)}, "file"
    return study_summary(state.home, name, top), "file"


def show_list(found: list[dict[str, Any]]) -> None:
    """One row a study; an unreadable journal shows its error in place of figures."""
    from cli.commands.backtest import _fmt

    rows = []
    for s in found:
        if "error" in s:
            rows.append([s["name"], literal(s["error"]), *["-"] * 8])
            continue
        best = "  ".join(f"{o} {_fmt(v)}" for o, v in s["best"].items())
        rows.append(
            [
                s["name"],
                s["strategy"],
                " ".join(s["symbols"]),
                s["sampler"],
                s["trials"],
                s["complete"],
                s["pruned"],
                s["skipped"],
                s["failed"],
                best,
            ]
        )
    print_table(
        "studies (backtest optimize)",
        [
            "study",
            "strategy",
            "symbols",
            "sampler",
            "trials",
            "complete",
            "pruned",
            "skipped",
            "failed",
            "best",
        ],
        rows,
    )
    if not found:
        say("no study yet: bifrost backtest optimize STRATEGY SYMBOL -p name=low:high")


def show_study(study: dict[str, Any]) -> None:
    """The study's best trials or Pareto front as a table, then its counts."""
    from bifrost.backtest.studies import params_text
    from cli.commands.backtest import _fmt, skipped_text

    objectives = study["objectives"]
    title = "best trials" if len(objectives) == 1 else "Pareto front"
    rows = [
        [b["number"], literal(params_text(b["params"]))]
        + [_fmt(b["values"][o]) for o in objectives]
        for b in study["best"]
    ]
    symbols = " ".join(study["symbols"])
    print_table(
        f"study {study['name']}: {study['strategy']} {symbols}, {title} ({study['sampler']})",
        ["trial", "params", *objectives],
        rows,
    )
    skipped = literal(skipped_text(study["skipped_by_rule"]))
    say(
        f"{study['trials']} trials: {study['complete']} complete, {study['running']} running, "
        f"{study['pruned']} pruned on partial equity, {study['skipped']} skipped ({skipped}), "
        f"{study['failed']} failed"
    )
