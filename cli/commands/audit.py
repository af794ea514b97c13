"""`bifrost audit parity STRATEGY_ID`: does a live strategy do what its backtest said?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import JSON_HELP, emit_json, print_table, say
from cli.state import state_of

app = typer.Typer(help="Audits of live trading against research.", no_args_is_help=True)


def _instant(name: str, text: str | None) -> int | None:
    from bifrost.clock import parse_instant

    try:
        return parse_instant(text) if text else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from None


@app.command("parity")
def parity(
    ctx: typer.Context,
    strategy_id: Annotated[str, typer.Argument(help="A live strategy's id (strategy list).")],
    start: Annotated[str | None, typer.Option("--from", help="First instant (ISO, UTC).")] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="End instant (ISO, UTC), exclusive.")
    ] = None,
    commission: Annotated[
        str, typer.Option(help="The cost model's commission, as in `backtest run`.")
    ] = "0",
    slippage_bps: Annotated[
        float, typer.Option("--slippage-bps", help="The cost model's slippage (bps).")
    ] = 0.0,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Fill delay past the backtest's allowed.")
    ] = 5_000.0,
    tolerance_bps: Annotated[
        float, typer.Option("--tolerance-bps", help="Price worse than the backtest's allowed.")
    ] = 5.0,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Replay a live or paper strategy over its recorded bars and diff orders, fills
    and P&L event by event; each divergence names its cause."""
    from bifrost.audit.parity import ParitySettings, audit
    from bifrost.audit.parity_report import divergence_rows, render_html, summary_rows
    from bifrost.audit.parity_sources import load_session
    from bifrost.errors import BadRequest
    from bifrost.sql.console import SqlConsole

    first, last = _instant("--from", start), _instant("--to", end)
    settings = ParitySettings(commission, slippage_bps, latency_ms, tolerance_bps)
    state = state_of(ctx)
    with state.client(retries=0) as client:
        session = load_session(SqlConsole(state.home, client), strategy_id, first, last)
    report = audit(session, settings)
    if html is not None:
        try:
            html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise BadRequest(f"cannot write {html}: {exc.strerror}") from None
        say(f"wrote {html}")
    if json:
        emit_json(report.to_dict())
        return
    print_table("parity", ["", ""], [list(row) for row in summary_rows(report)])
    if report.divergences:
        print_table(
            "divergences",
            ["time (UTC)", "kind", "cause", "symbol", "detail"],
            divergence_rows(report),
        )
