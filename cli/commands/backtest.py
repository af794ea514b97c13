"""`bifrost backtest run|list|show|compare|sweep|walkforward`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.commands.backtest_optimize import optimize
from cli.commands.backtest_studies import studies
from cli.commands.data import instants
from cli.output import JSON_HELP, emit_json, print_table
from cli.state import CliState, state_of

if TYPE_CHECKING:
    from bifrost.backtest.gateway import BacktestGateway
    from bifrost.backtest.runner import RunRequest

app = typer.Typer(
    help="Backtests: run, sweep, walk forward, list, show, compare.", no_args_is_help=True
)
app.command("optimize")(optimize)
app.command("studies")(studies)
JsonOption = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ParamOption = Annotated[list[str] | None, typer.Option("--param", "-p", help="name=value")]
StartOption = Annotated[str | None, typer.Option(help="First date (ISO, UTC).")]
EndOption = Annotated[str | None, typer.Option(help="End date (ISO, UTC), exclusive.")]
TimeframeOption = Annotated[str, typer.Option("--timeframe", "-t", help="Bar timeframe.")]
CashOption = Annotated[float, typer.Option(help="Starting cash.")]
CommissionOption = Annotated[
    str,
    typer.Option(help="0.001 or 0.1% (of notional, at most 5%), 0.005/share,min=1, or 1/order."),
]
SlippageOption = Annotated[float, typer.Option(help="Slippage in basis points (0 to 500).")]
CloseAtEndOption = Annotated[
    bool,
    typer.Option(
        "--close-at-end/--no-close-at-end",
        help="Close what is still held at the last bar's close (a trade), or leave it open.",
    ),
]
PeriodsOption = Annotated[
    float | None,
    typer.Option(
        "--periods-per-year",
        help="Bars per year for annualised statistics (default: from the instrument's "
        "trading hours: equity 252 x 6.5 h sessions, fx 260 x 24 h, crypto 365 x 24 h).",
    ),
]
FillOption = Annotated[str, typer.Option(help="next-open or close.")]
EngineOption = Annotated[str, typer.Option(help="event or vector.")]
JobsOption = Annotated[
    int,
    typer.Option(
        min=0,
        help="1: run here; 2 or more: on a research cluster of that many local processes; "
        "0: on the cluster when the work is big (or [research] names a scheduler).",
    ),
]
FileOption = Annotated[str | None, typer.Option("--file", help="Python file with the strategy.")]
HEADLINE = (
    "total_return_pct",
    "annual_return_pct",
    "annual_volatility_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "max_drawdown_duration_days",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "expectancy",
    "sqn",
    "exposure_pct",
    "buy_hold_return_pct",
)


def gateway(state: CliState) -> BacktestGateway:
    """The backtest gateway (strategy daemon when it runs, else in-process)."""
    from bifrost.backtest.gateway import BacktestGateway

    return BacktestGateway(state.client(timeout_ms=5000), state.home)


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`name=value` options as a map (values are typed by the strategy)."""
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"'{pair}' is not name=value", param_hint="--param")
        out[name.strip()] = value.strip()
    return out


def make_request(
    strategy: str,
    symbols: list[str],
    params: dict[str, Any],
    start: str | None,
    end: str | None,
    **settings: Any,
) -> RunRequest:
    """A RunRequest from command options."""
    from bifrost.backtest.runner import RunRequest

    first, last = instants(start, end)
    return RunRequest(strategy, tuple(symbols), params, first, last, **settings)


def grid_setup(
    ctx: typer.Context,
    strategy: str,
    symbols: list[str],
    grid: list[str],
    start: str | None,
    end: str | None,
    **settings: Any,
) -> tuple[RunRequest, list[dict[str, Any]], dict[str, Any]]:
    """The request, the grid points and the loaded bars of a sweep or a walk-forward."""
    from bifrost.backtest.gateway import load_bars, with_trading_hours
    from bifrost.backtest.sweep import grid_points, parse_grid

    data = gateway(state_of(ctx)).data
    request = make_request(strategy, symbols, {}, start, end, **settings)
    request = with_trading_hours(data, request)
    points = grid_points({}, parse_grid(grid))
    return request, points, load_bars(data, request)


@app.command("run")
def run(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Argument(help="Strategy name, e.g. sma_cross.")],
    symbols: Annotated[list[str], typer.Argument(help="Symbols to trade.")],
    param: ParamOption = None,
    start: StartOption = None,
    end: EndOption = None,
    timeframe: TimeframeOption = "1d",
    cash: CashOption = 100_000.0,
    commission: CommissionOption = "0",
    slippage: SlippageOption = 0.0,
    fill: FillOption = "next-open",
    engine: EngineOption = "event",
    file: FileOption = None,
    close_at_end: CloseAtEndOption = True,
    periods_per_year: PeriodsOption = None,
    json: JsonOption = False,
) -> None:
    """Run one backtest, store it, print its statistics and equity curve."""
    request = make_request(
        strategy,
        symbols,
        parse_params(param),
        start,
        end,
        timeframe=timeframe,
        cash=cash,
        commission=commission,
        slippage_bps=slippage,
        fill=fill,
        engine=engine,
        file=file,
        close_at_end=close_at_end,
        periods_per_year=periods_per_year,
    )
    runs = gateway(state_of(ctx))
    stored = runs.run(request)
    if json:
        emit_json({k: v for k, v in stored.items() if k != "equity"} | {"via": runs.via})
        return
    show_run(stored)


def show_run(run: dict[str, Any], trades: int = 10) -> None:
    """Statistics, the last trades and the equity curve of a stored run."""
    from cli.chart import draw_equity

    stats = run["stats"]
    title = (
        f"run {run['run_id']}: {run['strategy']} {' '.join(run['symbols'])} "
        f"{run['params']} ({run['engine']})"
    )
    print_table(title, ["statistic", "value"], [[k, _fmt(stats.get(k))] for k in HEADLINE])
    print_table("conventions", ["setting", "value"], convention_rows(run.get("settings") or {}))
    if run.get("trades"):
        print_table(
            f"last {min(trades, len(run['trades']))} of {len(run['trades'])} trades",
            ["symbol", "entry", "exit", "size", "entry price", "exit price", "pnl"],
            [_trade_row(t) for t in run["trades"][-trades:]],
        )
    if run.get("equity"):
        draw_equity(run["equity"], f"equity {run['run_id']}")


def convention_rows(settings: dict[str, Any]) -> list[list[Any]]:
    """The costs as read and the conventions a run used (older runs lack some)."""
    ppy = settings.get("periods_per_year_used")
    basis = settings.get("annualisation")
    rows = [
        ["commission", settings.get("commission_read") or settings.get("commission")],
        ["slippage", settings.get("slippage_read") or settings.get("slippage_bps")],
        ["fill", settings.get("fill")],
        ["close at end", settings.get("close_at_end", True)],
        [
            "periods per year",
            None if ppy is None else f"{ppy:g}" + (f" ({basis})" if basis else ""),
        ],
    ]
    return [[name, "-" if value is None else value] for name, value in rows]


def _trade_row(trade: dict[str, Any]) -> list[Any]:
    from bifrost.clock import format_instant

    return [
        trade["symbol"],
        format_instant(trade["entry_ts"]),
        format_instant(trade["exit_ts"]),
        _fmt(trade["size"]),
        _fmt(trade["entry_price"]),
        _fmt(trade["exit_price"]),
        _fmt(trade["pnl"]),
    ]


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


@app.command("list")
def list_(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    json: JsonOption = False,
) -> None:
    """Stored runs, newest first."""
    runs = gateway(state_of(ctx)).list(limit)
    if json:
        emit_json({"runs": runs})
        return
    from bifrost.clock import format_instant

    rows = [
        [
            r["run_id"],
            format_instant(r["created_ns"]),
            r["strategy"],
            " ".join(r["symbols"]),
            r["params"],
            _fmt(r["stats"].get("total_return_pct")),
            _fmt(r["stats"].get("sharpe")),
            _fmt(r["stats"].get("max_drawdown_pct")),
            r["stats"].get("trades"),
        ]
        for r in runs
    ]
    print_table(
        "backtest runs",
        [
            "id",
            "created",
            "strategy",
            "symbols",
            "params",
            "return %",
            "sharpe",
            "max dd %",
            "trades",
        ],
        rows,
    )


@app.command("show")
def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    json: JsonOption = False,
) -> None:
    """One stored run: statistics, trades, equity curve."""
    stored = gateway(state_of(ctx)).show(run_id)
    if json:
        emit_json(stored)
    else:
        show_run(stored)


@app.command("compare")
def compare(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(help="A run id.")],
    second: Annotated[str, typer.Argument(help="Another run id.")],
    json: JsonOption = False,
) -> None:
    """Two runs' statistics side by side."""
    runs = gateway(state_of(ctx))
    a, b = runs.show(first), runs.show(second)
    rows = [[k, _fmt(a["stats"].get(k)), _fmt(b["stats"].get(k))] for k in a["stats"]]
    if json:
        emit_json(
            {
                "runs": [a["run_id"], b["run_id"]],
                "stats": {k: [a["stats"].get(k), b["stats"].get(k)] for k in a["stats"]},
            }
        )
        return
    print_table(
        "compare",
        [
            "statistic",
            f"{a['run_id']} {a['strategy']} {a['params']}",
            f"{b['run_id']} {b['strategy']} {b['params']}",
        ],
        rows,
    )


@app.command("sweep")
def sweep(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    symbols: Annotated[list[str], typer.Argument(help="Symbols.")],
    param: Annotated[list[str], typer.Option("--param", "-p", help="fast=5:50:5 or k=1,2")],
    jobs: JobsOption = 0,
    metric: Annotated[str, typer.Option(help="Statistic to rank by.")] = "sharpe",
    top: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    start: StartOption = None,
    end: EndOption = None,
    timeframe: TimeframeOption = "1d",
    cash: CashOption = 100_000.0,
    commission: CommissionOption = "0",
    slippage: SlippageOption = 0.0,
    fill: FillOption = "next-open",
    engine: EngineOption = "vector",
    file: FileOption = None,
    close_at_end: CloseAtEndOption = True,
    periods_per_year: PeriodsOption = None,
    json: JsonOption = False,
) -> None:
    """Run a parameter grid and rank the results.

    Through the strategy daemon when it runs, else here; either way a big grid is
    spread over the research cluster ([research] scheduler: a local cluster of `--jobs`
    processes by default, or a Dask cluster)."""
    from bifrost.backtest.sweep import rank, run_sweep, valid_points, worth_spreading

    settings = dict(
        timeframe=timeframe,
        cash=cash,
        commission=commission,
        slippage_bps=slippage,
        fill=fill,
        engine=engine,
        file=file,
        close_at_end=close_at_end,
        periods_per_year=periods_per_year,
    )
    state = state_of(ctx)
    runs = gateway(state)
    if runs.via == "daemon":
        request = make_request(strategy, symbols, {}, start, end, **settings)
        with progress_bar("sweep through the strategy service") as advance:
            results, skipped, via = runs.sweep(request, param, metric, jobs, advance)
    else:
        request, points, data = grid_setup(ctx, strategy, symbols, param, start, end, **settings)
        points, skipped = valid_points(request, points)
        big = worth_spreading(points, data)
        with (
            research_cluster(state, jobs, big) as cluster,
            progress_bar(f"sweep {len(points)} points") as advance,
        ):
            results = run_sweep(request, data, points, cluster=cluster, progress=advance)
        results = rank(results, metric)
        via = "here" if cluster is None else "cluster"
    skipped_count = sum(skipped.values())
    if json:
        emit_json(
            {
                "metric": metric,
                "points": len(results),
                "skipped": skipped_count,
                "skipped_by_rule": skipped,
                "via": via,
                "results": results,
            }
        )
        return
    rows = [
        [
            i + 1,
            r["params"],
            _fmt((r["stats"] or {}).get(metric)),
            _fmt((r["stats"] or {}).get("total_return_pct")),
            _fmt((r["stats"] or {}).get("max_drawdown_pct")),
            (r["stats"] or {}).get("trades"),
            r["error"] or "",
        ]
        for i, r in enumerate(results[:top])
    ]
    print_table(
        f"top {min(top, len(results))} of {len(results)} by {metric}"
        + (f"; {skipped_count} points skipped ({skipped_text(skipped)})" if skipped else ""),
        ["rank", "params", metric, "return %", "max dd %", "trades", "error"],
        rows,
    )


@app.command("walkforward")
def walkforward(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Argument(help="Strategy name.")],
    symbols: Annotated[list[str], typer.Argument(help="Symbols.")],
    param: Annotated[list[str], typer.Option("--param", "-p", help="fast=5:50:5 or k=1,2")],
    train: Annotated[int, typer.Option(help="Bars per training window.")] = 504,
    test: Annotated[int, typer.Option(help="Bars per test window.")] = 126,
    anchored: Annotated[
        bool, typer.Option(help="Training always starts at the first bar.")
    ] = False,
    metric: Annotated[str, typer.Option(help="Statistic to optimise.")] = "sharpe",
    jobs: JobsOption = 0,
    start: StartOption = None,
    end: EndOption = None,
    timeframe: TimeframeOption = "1d",
    cash: CashOption = 100_000.0,
    commission: CommissionOption = "0",
    slippage: SlippageOption = 0.0,
    fill: FillOption = "next-open",
    engine: EngineOption = "vector",
    file: FileOption = None,
    close_at_end: CloseAtEndOption = True,
    periods_per_year: PeriodsOption = None,
    json: JsonOption = False,
) -> None:
    """Optimise on each training window, trade the next window; out-of-sample report."""
    from bifrost.backtest.walkforward import walk_forward
    from bifrost.clock import format_instant

    request, points, data = grid_setup(
        ctx,
        strategy,
        symbols,
        param,
        start,
        end,
        timeframe=timeframe,
        cash=cash,
        commission=commission,
        slippage_bps=slippage,
        fill=fill,
        engine=engine,
        file=file,
        close_at_end=close_at_end,
        periods_per_year=periods_per_year,
    )
    from bifrost.backtest.sweep import worth_spreading

    big = worth_spreading(points, data)  # each window's grid is about that much work
    with (
        research_cluster(state_of(ctx), jobs, big) as cluster,
        progress_bar("walk-forward windows") as advance,
    ):
        report = walk_forward(
            request,
            data,
            points,
            train=train,
            test=test,
            anchored=anchored,
            metric=metric,
            cluster=cluster,
            progress=advance,
        )
    if json:
        emit_json(report)
        return
    rows = [
        [
            format_instant(w["test"][0], True),
            format_instant(w["test"][1], True),
            w["params"],
            _fmt(w["in_sample"].get(metric) if w["in_sample"] else None),
            _fmt(w["out_of_sample"].get(metric)),
            _fmt(w["out_of_sample"].get("total_return_pct")),
        ]
        for w in report["windows"]
    ]
    print_table(
        "walk-forward windows",
        [
            "test from",
            "test to",
            "best params",
            f"in-sample {metric}",
            f"out-of-sample {metric}",
            "oos return %",
        ],
        rows,
    )
    oos = report["out_of_sample"]
    print_table(
        "out of sample, chained",
        ["statistic", "value"],
        [[k, _fmt(oos.get(k))] for k in HEADLINE]
        + [["deflated_sharpe", _fmt(report["deflated_sharpe"])], ["trials", report["trials"]]]
        + [["skipped points", f"{report['skipped']} ({skipped_text(report['skipped_by_rule'])})"]],
    )


def research_cluster(state: CliState, jobs: int, big: bool) -> Any:
    """A context giving the research cluster for this work, or None to run it here
    (bifrost.research.cluster.wants_cluster); a cluster it opened is closed after."""
    from contextlib import contextmanager

    from bifrost.research.cluster import KeptCluster

    @contextmanager
    def opened() -> Any:
        with KeptCluster(state.config, state.home) as kept:
            yield kept.for_work(jobs, big)

    return opened()


def skipped_text(skipped: dict[str, int]) -> str:
    """Grid points skipped by rule: `fast < slow: 6`."""
    return ", ".join(f"{rule}: {count}" for rule, count in skipped.items()) or "none"


def progress_bar(label: str) -> Any:
    """A rich progress bar on stderr; yields `advance(done, total)`."""
    from contextlib import contextmanager

    from rich.console import Console
    from rich.progress import Progress

    @contextmanager
    def bar() -> Any:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(label, total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            yield advance

    return bar()
