"""The analytics screen: a tearsheet of the live account or of a stored backtest run.

The subjects table lists `live` and the stored runs; `enter` builds the report of the
selected one (through the analytics daemon when it runs, else in-process), shown as
headline statistics, equity and drawdown sparklines and the monthly returns.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Sparkline, Static

from bifrost.errors import BifrostError
from tui.app import app_of

HEADLINE = (
    ("return %", "total_return_pct"),
    ("annual %", "annual_return_pct"),
    ("vol %", "annual_volatility_pct"),
    ("Sharpe", "sharpe"),
    ("max dd %", "max_drawdown_pct"),
    ("dd days", "max_drawdown_duration_days"),
    ("beta", "beta"),
    ("exposure %", "exposure_pct"),
    ("turnover", "turnover"),
)


class AnalyticsScreen(Screen[None]):
    """Pick `live` or a run; `enter` builds its tearsheet."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "reload", "Reload runs"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Analytics: choose the live account or a run, then enter", id="status")
        with Horizontal(id="analytics"):
            yield DataTable(id="subjects", cursor_type="row")
            with Vertical(id="tearsheet"):
                yield Static(id="stats")
                yield Label("equity")
                yield Sparkline([], id="equity")
                yield Label("drawdown")
                yield Sparkline([], id="drawdown")
                yield Static(id="extra")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#subjects", DataTable)
        table.add_columns("subject", "strategy", "symbols")
        table.add_row("live", "", "account", key="live")
        self.action_reload()
        self.action_report()

    @work(thread=True, exclusive=True, group="analytics-runs", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch the stored runs (strategy daemon or its file)."""
        from bifrost.backtest.gateway import BacktestGateway

        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=2000, retries=0) as client:
                runs = BacktestGateway(client, app.bus.home).list(50)
        except BifrostError as exc:
            app.call_from_thread(self._status, f"[red]runs unavailable[/]: {escape(exc.message)}")
            return
        app.call_from_thread(self._show_runs, runs)

    def _show_runs(self, runs: list[dict[str, Any]]) -> None:
        table = self.query_one("#subjects", DataTable)
        for run in runs:
            if run["run_id"] not in table.rows:
                table.add_row(
                    run["run_id"], run["strategy"], " ".join(run["symbols"]), key=run["run_id"]
                )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_report()

    def action_report(self) -> None:
        """Build the report of the subject under the cursor."""
        table = self.query_one("#subjects", DataTable)
        subject = str(table.get_row_at(table.cursor_row)[0]) if table.row_count else "live"
        self._status(f"building the report of {subject}…")
        self.build(subject)

    @work(thread=True, exclusive=True, group="analytics-report", exit_on_error=False)
    def build(self, subject: str) -> None:
        """Build one report on a worker thread."""
        from bifrost.analytics.gateway import AnalyticsGateway

        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=30_000, retries=0) as client:
                gateway = AnalyticsGateway(app.bus.config, client, app.bus.home)
                report = gateway.report(subject)
        except BifrostError as exc:
            app.call_from_thread(self._status, f"[red]{escape(subject)}[/]: {escape(exc.message)}")
            return
        app.call_from_thread(self._show, report)

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _show(self, report: dict[str, Any]) -> None:
        from bifrost.analytics.html import day, number

        summary, series = report["summary"], report["series"]
        self._status(
            f"[bold]{report['title']}[/]  {day(summary['start_ns'])} to {day(summary['end_ns'])}"
            f"  ·  report {report['report_id']}"
        )
        stats = "   ".join(f"{name} [b]{number(summary.get(key))}[/]" for name, key in HEADLINE)
        if summary.get("too_short"):
            stats += f"\n[yellow]{escape(summary['too_short'])}[/]"
        self.query_one("#stats", Static).update(stats)
        self.query_one("#equity", Sparkline).data = [v for v in series["equity"] if v is not None]
        self.query_one("#drawdown", Sparkline).data = [
            v for v in series["drawdown_pct"] if v is not None
        ]
        self.query_one("#extra", Static).update(_extra(report))


def _extra(report: dict[str, Any]) -> str:
    """Trades, costs and the last twelve months as text lines."""
    from bifrost.analytics.html import number

    trades = report["trades"]
    lines = [
        f"trades {trades['trades']}  win rate {number(trades['win_rate_pct'])}%  "
        f"profit factor {number(trades['profit_factor'])}  "
        f"avg win {number(trades['avg_win'])}  avg loss {number(trades['avg_loss'])}"
    ]
    costs = (report.get("tca") or {}).get("summary")
    if costs:
        lines.append(
            f"costs: shortfall {number(costs['shortfall_bps'])} bps  slippage "
            f"{number(costs['slippage_bps'])} bps  fees {number(costs['fees_bps'])} bps "
            f"over {costs['fills']} fills"
        )
    months = report["monthly"][-12:]
    lines.append(
        "months: "
        + "  ".join(f"{m['year']}-{m['month']:02d} {number(m['return_pct'])}%" for m in months)
    )
    return "\n".join(lines)
