"""`bifrost backtest optimize`: an Optuna study over a strategy's parameters, resumable.

The trials run in this process, or over the research cluster when there are enough of
them, over bars read through the data gateway (the data service when it runs, else
its file); the study is a journal file under
HOME/studies/, and the best trial (or each trial of the Pareto front) is stored as a
backtest run through the backtest gateway, so `backtest list/show/compare` see it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from cli.output import JSON_HELP, emit_json, literal, print_table, say
from cli.state import state_of

JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]


def optimize(
    ctx: typer.Context,
    strategy: Annotated[
        str | None, typer.Argument(help="Strategy name (not needed with --resume).")
    ] = None,
    symbols: Annotated[list[str] | None, typer.Argument(help="Symbols.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="fast=5:50, k=0.5:2.5:0.5 or kind=a,b (a range or choices)"
        ),
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="Trials to run (more, with --resume).")] = 50,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="1: trials here; 2 or more: that many at once on a local research cluster; "
            "0: on the cluster when the study is big (or [research] names a scheduler).",
        ),
    ] = 0,
    sampler: Annotated[str, typer.Option(help="tpe, cmaes, random or grid.")] = "tpe",
    objective: Annotated[
        list[str] | None,
        typer.Option(help="Statistic to maximise; give several for a Pareto front."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Name of the new study.")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue this stored study.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the sampler.")] = None,
    walkforward: Annotated[
        bool,
        typer.Option(help="Optimise in each training window, trade the next one (no study kept)."),
    ] = False,
    train: Annotated[int, typer.Option(help="Bars per training window (--walkforward).")] = 504,
    test: Annotated[int, typer.Option(help="Bars per test window (--walkforward).")] = 126,
    anchored: Annotated[
        bool, typer.Option(help="Training always starts at the first bar (--walkforward).")
    ] = False,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Store the best trials as runs.")
    ] = True,
    start: Annotated[str | None, typer.Option(help="First date (ISO, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="End date (ISO, UTC), exclusive.")] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe.")] = "1d",
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 100_000.0,
    commission: Annotated[str, typer.Option(help="0.001, 0.1%, 0.005/share or 1/order.")] = "0",
    slippage: Annotated[float, typer.Option(help="Slippage in basis points.")] = 0.0,
    fill: Annotated[str, typer.Option(help="next-open or close.")] = "next-open",
    engine: Annotated[str, typer.Option(help="event or vector.")] = "vector",
    file: Annotated[
        str | None, typer.Option("--file", help="Python file with the strategy.")
    ] = None,
    periods_per_year: Annotated[
        float | None, typer.Option("--periods-per-year", help="Bars per year.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Optimise a strategy's parameters with Optuna; `--resume STUDY` adds trials.

    The study is kept under HOME/studies/. Trials run in this process, or, when there
    are enough of them, over the research cluster ([research]; `--jobs`); bars come from
    the data service when it runs (else its file) and the best runs are stored through
    the strategy service when it runs (else into its file)."""
    import optuna

    from bifrost.backtest.gateway import load_bars, with_trading_hours
    from bifrost.backtest.optimize import StudySettings, optimize, study_settings
    from bifrost.backtest.sweep import worth_spreading
    from cli.commands.backtest import gateway, make_request, progress_bar, research_cluster

    state = state_of(ctx)
    runs = gateway(state)
    if resume is not None:
        name, settings = resume, study_settings(state.home, resume)
    else:
        if strategy is None or not symbols or not param:
            raise typer.BadParameter("give STRATEGY SYMBOL... and -p, or --resume STUDY")
        request = make_request(
            strategy,
            symbols,
            {},
            start,
            end,
            timeframe=timeframe,
            cash=cash,
            commission=commission,
            slippage_bps=slippage,
            fill=fill,
            engine=engine,
            file=file,
            periods_per_year=periods_per_year,
        )
        request = with_trading_hours(runs.data, request)
        settings = StudySettings.of(request, param, objective or [], sampler, seed)
        name = study or f"{strategy}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    data = load_bars(runs.data, settings.request)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    big = worth_spreading([{}] * trials, data)  # as much work as a grid of `trials` points
    if walkforward:
        from bifrost.backtest.optimize_walkforward import optimize_walk_forward

        if resume is not None:
            raise typer.BadParameter(
                "a walk-forward keeps no study to resume", param_hint="--resume"
            )
        with (
            research_cluster(state, jobs, big) as cluster,
            progress_bar("walk-forward windows") as advance,
        ):
            walked = optimize_walk_forward(
                settings,
                data,
                trials=trials,
                train=train,
                test=test,
                anchored=anchored,
                progress=advance,
                cluster=cluster,
            )
        if json:
            emit_json(walked | {"via": runs.via})
        else:
            show_walk(walked)
        return
    with (
        research_cluster(state, jobs, big) as cluster,
        progress_bar(f"study {name}") as advance,
    ):
        report = optimize(
            state.home,
            name,
            settings,
            data,
            trials=trials,
            resume=resume is not None,
            progress=advance,
            cluster=cluster,
        )
    if store:
        from dataclasses import replace

        for best in report["best"]:
            best["run_id"] = runs.run(replace(settings.request, params=best["params"]))["run_id"]
    if json:
        emit_json(report | {"via": runs.via})
        return
    show_report(report)


def show_report(report: dict[str, Any]) -> None:
    """The study's counts and its best trials (or Pareto front) as tables."""
    from cli.commands.backtest import _fmt, skipped_text

    objectives = report["objectives"]
    title = "best trial" if len(objectives) == 1 else "Pareto front"
    rows = [
        [b["number"], b["params"]]
        + [_fmt(b["values"][o]) for o in objectives]
        + [_fmt(b["deflated_sharpe"]), b.get("run_id", "-")]
        for b in report["best"]
    ]
    print_table(
        f"study {report['study']}: {title} ({report['sampler']})",
        ["trial", "params", *objectives, "deflated sharpe", "run"],
        rows,
    )
    skipped = literal(skipped_text(report["skipped_by_rule"]))
    say(
        f"{report['trials']} trials: {report['complete']} complete, {report['pruned']} pruned "
        f"on partial equity, {report['skipped']} skipped ({skipped})"
        f", {report['failed']} failed; deflated Sharpe over {report['trials_run']} trials run; "
        f"resume with --resume {report['study']}"
    )


def show_walk(report: dict[str, Any]) -> None:
    """Each window's best params and results, then the chained out-of-sample figures."""
    from bifrost.clock import format_instant
    from cli.commands.backtest import HEADLINE, _fmt

    metric = report["objective"]
    rows = [
        [
            format_instant(w["test"][0], True),
            format_instant(w["test"][1], True),
            w["params"],
            _fmt((w["in_sample"] or {}).get(metric)),
            _fmt(w["out_of_sample"].get(metric)),
        ]
        for w in report["windows"]
    ]
    print_table(
        f"walk-forward, {report['sampler']} search in each training window",
        ["test from", "test to", "best params", f"in-sample {metric}", f"out-of-sample {metric}"],
        rows,
    )
    oos = report["out_of_sample"]
    print_table(
        "out of sample, chained",
        ["statistic", "value"],
        [[k, _fmt(oos.get(k))] for k in HEADLINE]
        + [["deflated_sharpe", _fmt(report["deflated_sharpe"])], ["trials run", report["trials"]]],
    )
