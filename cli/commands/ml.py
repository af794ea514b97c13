"""`bifrost ml train|list|show|predict|patterns`: models, their signals, candle patterns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.commands.data import instants
from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import CliState, state_of

if TYPE_CHECKING:
    from bifrost.ml.gateway import MLGateway

app = typer.Typer(
    help="Machine learning: train models walk-forward, list, show, predict; patterns.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
VersionOption = Annotated[int | None, typer.Option(help="Model version (default: latest).")]
TimeframeOption = Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe.")]
DEMO_MODEL = "demo-spy"


def gateway(state: CliState) -> MLGateway:
    """The ML gateway (ml daemon when it runs, else in-process on the files)."""
    from bifrost.ml.gateway import MLGateway

    return MLGateway(state.client(timeout_ms=5000), state.home)


@app.command("train")
def train(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name; training again adds a version.")],
    symbols: Annotated[str, typer.Option(help="Symbols to learn from, e.g. SPY,AAPL.")],
    start: Annotated[str | None, typer.Option(help="First date (ISO, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="End date (ISO, UTC), exclusive.")] = None,
    kind: Annotated[str, typer.Option(help="gbm, logistic or ridge.")] = "gbm",
    horizon: Annotated[int, typer.Option(help="Bars ahead the label looks.")] = 5,
    timeframe: TimeframeOption = "1d",
    folds: Annotated[int, typer.Option(help="Walk-forward folds.")] = 5,
    jobs: Annotated[
        int,
        typer.Option(
            min=0,
            help="1: fit the folds here; 2 or more: on a research cluster of that many local "
            "processes; 0: on the cluster when the folds are big (or [research] names one).",
        ),
    ] = 0,
    json: JsonOption = False,
) -> None:
    """Train a model walk-forward (purged, embargoed), register it, show its OOS metrics."""
    import functools

    from bifrost.ml.training import TrainRequest
    from bifrost.research.cluster import KeptCluster

    names = tuple(s.strip() for s in symbols.split(",") if s.strip())
    if not names:
        raise typer.BadParameter("give at least one symbol, e.g. SPY,AAPL", param_hint="--symbols")
    first, last = instants(start, end)
    request = TrainRequest(name, names, first, last, kind, horizon, timeframe, folds)
    state = state_of(ctx)
    models = gateway(state)
    from rich.console import Console

    with (
        KeptCluster(state.config, state.home) as research,
        Console(stderr=True).status(f"training {name} ({kind}) on {', '.join(names)}"),
    ):
        record = models.train(request, jobs, functools.partial(research.for_work, jobs))
    if json:
        emit_json({**record, "via": models.via})
        return
    show_model(record)


@app.command("list")
def list_(ctx: typer.Context, json: JsonOption = False) -> None:
    """Registered models, newest first, with their out-of-sample AUC and IC."""
    models = gateway(state_of(ctx)).list()
    if json:
        emit_json({"models": models})
        return
    print_table(
        "models",
        ["name", "version", "kind", "symbols", "tf", "horizon", "OOS acc", "OOS AUC", "OOS IC",
         "created"],
        [model_row(m) for m in models],
    )


def model_row(model: dict[str, Any]) -> list[Any]:
    """One registry line for a table."""
    from bifrost.clock import format_instant

    overall = model["metrics"]["overall"]
    return [
        model["name"],
        model["version"],
        model["kind"],
        ",".join(model["symbols"]),
        model["timeframe"],
        model["horizon"],
        _fmt(overall["accuracy"]),
        _fmt(overall["auc"]),
        _fmt(overall["ic"]),
        format_instant(model["created_ns"]),
    ]


@app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: VersionOption = None,
    json: JsonOption = False,
) -> None:
    """One model: parameters, features, training range and per-fold OOS metrics."""
    record = gateway(state_of(ctx)).show(name, version)
    if json:
        emit_json(record)
        return
    show_model(record)


def show_model(record: dict[str, Any]) -> None:
    """A model's headline and its walk-forward folds as tables."""
    from bifrost.clock import format_instant

    metrics = record["metrics"]
    overall = metrics["overall"]
    say(
        f"[bold]{record['name']} v{record['version']}[/] {record['kind']} on "
        f"{','.join(record['symbols'])} {record['timeframe']}, horizon {record['horizon']}, "
        f"{format_instant(record['train_start'], True)} .. "
        f"{format_instant(record['train_end'], True)} ({record['rows']} rows); "
        f"purge {metrics['purge']}, embargo {metrics['embargo']}; "
        f"features: {', '.join(record['features'])}"
    )
    rows = [
        [
            f["fold"],
            f["train_rows"],
            f["test_rows"],
            format_instant(f["test_start_ts"], True),
            format_instant(f["test_end_ts"], True),
            _fmt(f["accuracy"]),
            _fmt(f["auc"]),
            _fmt(f["ic"]),
        ]
        for f in metrics["folds"]
    ]
    rows.append(
        ["all", "", overall["rows"], "", "", _fmt(overall["accuracy"]), _fmt(overall["auc"]),
         _fmt(overall["ic"])]
    )
    print_table(
        "out-of-sample, walk-forward",
        ["fold", "train rows", "test rows", "test from", "test to", "accuracy", "AUC", "IC"],
        rows,
    )


@app.command("predict")
def predict(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name.")],
    symbol: Annotated[str, typer.Argument(help="Symbol to score (its newest bar).")],
    version: VersionOption = None,
    json: JsonOption = False,
) -> None:
    """Score the newest bar of a symbol: probability of a rise over the model's horizon."""
    body = gateway(state_of(ctx)).predict(name, symbol, version)
    if json:
        emit_json(body)
        return
    show_signal(body)


def show_signal(body: dict[str, Any]) -> None:
    """One prediction as a line."""
    from bifrost.clock import format_instant

    colour = "green" if body["signal"] == "long" else "yellow"
    say(
        f"[bold]{body['symbol']}[/] {format_instant(body['bar_ts'])}: "
        f"P(rise over {body['horizon']} bars) = {body['probability']:.3f} "
        f"(score {body['score']:.4g}) -> [{colour}]{body['signal']}[/] "
        f"[dim]({body['model']} v{body['version']}, {body['kind']})[/]"
    )


@app.command("patterns")
def patterns(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="Symbol.")],
    timeframe: TimeframeOption = "1d",
    last: Annotated[int, typer.Option(help="Recent bars to list.")] = 10,
    json: JsonOption = False,
) -> None:
    """Candlestick patterns of the recent bars and the volatility regimes (k-means)."""
    report = gateway(state_of(ctx)).patterns(symbol, timeframe, last)
    if json:
        emit_json(report)
        return
    from bifrost.clock import format_instant

    say(
        f"[bold]{symbol}[/] {timeframe}: {report['bars']} bars, volatility regime now "
        f"[bold]{report['current_regime']}[/]; patterns seen: "
        + ", ".join(f"{k} {v}" for k, v in report["counts"].items())
    )
    print_table(
        "volatility regimes (std of 20 log returns)",
        ["regime", "centre", "bars"],
        [[r["name"], f"{r['volatility']:.4%}", r["bars"]] for r in report["regimes"]],
    )
    print_table(
        f"last {len(report['recent'])} bars",
        ["time", "close", "regime", "patterns"],
        [
            [format_instant(r["ts"]), _fmt(r["close"]), r["regime"] or "-",
             ", ".join(r["patterns"]) or "-"]
            for r in report["recent"]
        ],
    )


def show_ml(state: CliState) -> None:
    """The demo's ML step: train a small model on the sample daily bars once, then predict."""
    from bifrost.errors import NotFound
    from bifrost.ml.training import TrainRequest

    models = gateway(state)
    say("[bold]ML signal[/]: a gradient-boosting model, walk-forward with purge and embargo")
    try:
        record = models.show(DEMO_MODEL)
    except NotFound:
        request = TrainRequest(DEMO_MODEL, ("SPY",), kind="gbm", horizon=5, folds=4)
        record = models.train(request)
    overall = record["metrics"]["overall"]
    say(
        f"{DEMO_MODEL} v{record['version']}: out-of-sample accuracy {_fmt(overall['accuracy'])}, "
        f"AUC {_fmt(overall['auc'])}, IC {_fmt(overall['ic'])} over {overall['rows']} test rows "
        "(sample prices are a random walk, so about 0.5 is the honest answer)"
    )
    show_signal(models.predict(DEMO_MODEL, "SPY"))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)
