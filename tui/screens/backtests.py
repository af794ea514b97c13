"""The backtests screen: run one as a strategy-daemon job with a progress bar, list stored
runs, show a run's statistics and equity curve, compare two; `o` opens the Optuna studies
(tui/screens/studies.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Static,
)

from bifrost.backtest.gateway import RUN_TIMEOUT_S
from bifrost.bus import methods, topics
from bifrost.errors import BifrostError
from bifrost.job_waiter import submit_and_wait
from tui.app import app_of
from tui.fetch import fetch
from tui.plot_figure import FigurePanel, figure_panels, fresh_figure
from tui.screens.strategies import BUILTIN, parse_params
from tui.widgets.cells import params_text

HEADLINE = (
    "total_return_pct",
    "sharpe",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "buy_hold_return_pct",
)


class NewBacktest(ModalScreen[dict[str, Any] | None]):
    """Strategy, symbols, parameters and range of a backtest."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="ticket"):
            yield Label("Run a backtest (in the strategy service)")
            with Horizontal(classes="row"):
                yield Label("strategy")
                yield Select(
                    [(n, n) for n in BUILTIN],
                    value="sma_cross",
                    allow_blank=False,
                    id="name",
                    classes="wide",
                )
            with Horizontal(classes="row"):
                yield Label("symbols ")
                yield Input("SPY", placeholder="symbols", id="symbols", classes="wide")
            with Horizontal(classes="row"):
                yield Label("params  ")
                yield Input("fast=10 slow=30", placeholder="params", id="params", classes="wide")
            with Horizontal(classes="row"):
                yield Label("start   ")
                yield Input(placeholder="ISO date", id="start")
                yield Label("end")
                yield Input(placeholder="ISO date", id="end")
            with Horizontal(classes="row"):
                yield Button("Run", variant="primary", id="run")
                yield Button("Close", id="close")
            yield Static(id="result")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "run":
            self.dismiss(None)
            return
        from bifrost.clock import parse_instant

        try:
            params = parse_params(self.query_one("#params", Input).value)
            bounds = {
                key: parse_instant(self.query_one(f"#{key}", Input).value.strip())
                for key in ("start", "end")
                if self.query_one(f"#{key}", Input).value
            }
        except ValueError as exc:
            self.query_one("#result", Static).update(f"[red]{escape(str(exc))}[/]")
            return
        self.dismiss(
            {
                "strategy": str(self.query_one("#name", Select).value),
                "symbols": self.query_one("#symbols", Input).value.upper().split(),
                "params": params,
                **{f"{key}_ns": value for key, value in bounds.items()},
            }
        )


class BacktestsScreen(Screen[None]):
    """Stored runs; `n` runs a new one, `enter` shows one, `m` marks two to compare,
    `o` opens the optimisation studies."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("n", "new", "New run"),
        Binding("enter", "show", "Show"),
        Binding("m", "mark", "Compare"),
        Binding("o", "studies", "Studies"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Backtest runs", id="status", classes="title")
        yield ProgressBar(id="progress", show_eta=False)
        yield DataTable(id="runs", cursor_type="row")
        yield Static(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#runs", DataTable).add_columns(
            "id", "strategy", "symbols", "params", "return %", "sharpe", "max dd %", "trades"
        )
        self.action_reload()

    @work(thread=True, exclusive=True, group="backtests", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch the stored runs."""
        reply = fetch(self, "strategy", methods.BACKTEST_LIST, {"limit": 50})
        if reply is not None:
            self.app.call_from_thread(self._show_runs, reply["runs"])

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _show_runs(self, runs: list[dict[str, Any]]) -> None:
        table = self.query_one("#runs", DataTable)
        table.clear()
        for r in runs:
            stats = r["stats"]
            table.add_row(
                r["run_id"],
                r["strategy"],
                " ".join(r["symbols"]),
                params_text(r["params"]),
                _num(stats.get("total_return_pct")),
                _num(stats.get("sharpe")),
                _num(stats.get("max_drawdown_pct")),
                str(stats.get("trades")),
                key=r["run_id"],
            )
        self._status(f"Backtest runs ({len(runs)})")

    def action_new(self) -> None:
        """Ask for a backtest, then run it as a job."""
        self.app.push_screen(NewBacktest(), self._run)

    def _run(self, spec: dict[str, Any] | None) -> None:
        if spec:
            self.query_one("#progress", ProgressBar).update(total=None, progress=0)
            self.run_job(spec)

    @work(thread=True, exclusive=True, group="backtest-job", exit_on_error=False)
    def run_job(self, spec: dict[str, Any]) -> None:
        """Start the job and follow it until it is done or failed."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=3000) as client:

                def follow(body: dict[str, Any]) -> None:
                    app.call_from_thread(self._status, f"job {body['job_id']}: {body['state']}")

                _, state = submit_and_wait(
                    client,
                    "strategy",
                    (methods.BACKTEST_RUN, spec),
                    methods.BACKTEST_JOB,
                    topics.backtest_job,
                    RUN_TIMEOUT_S,
                    follow,
                )
        except BifrostError as exc:
            app.call_from_thread(self._status, f"[red]{escape(exc.message)}[/]")
            return
        app.call_from_thread(self.query_one("#progress", ProgressBar).update, total=1, progress=1)
        if state["state"] == "failed":
            failure = escape(str(state["error"]))
            app.call_from_thread(self._status, f"[red]backtest failed[/]: {failure}")
            return
        self.action_reload()
        self.show_run(state["run_id"])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """`enter` on the runs table: the table takes the key, so its selection shows the run."""
        if event.data_table.id == "runs":
            self.action_show()

    def action_show(self) -> None:
        """Statistics and equity curve of the run under the cursor."""
        run_id = self._cursor_run()
        if run_id:
            self.show_run(run_id)

    def _cursor_run(self) -> str | None:
        table = self.query_one("#runs", DataTable)
        return str(table.get_row_at(table.cursor_row)[0]) if table.row_count else None

    @work(thread=True, exclusive=True, group="backtest-show", exit_on_error=False)
    def show_run(self, run_id: str) -> None:
        """Fetch one run and draw it."""
        app = app_of(self)
        try:
            run = app.bus.call(
                "strategy", methods.BACKTEST_SHOW, {"run_id": run_id}, timeout_ms=5000
            )
        except BifrostError as exc:
            app.call_from_thread(self._status, f"[red]{escape(exc.message)}[/]")
            return
        app.call_from_thread(self._detail, Text.from_ansi(render_run(run, self.size.width)))

    def _detail(self, content: Text) -> None:
        self.query_one("#detail", Static).update(content)

    def action_studies(self) -> None:
        """The Optuna studies: best trials and Pareto fronts."""
        from tui.screens.studies import StudiesScreen

        self.app.push_screen(StudiesScreen())

    def action_mark(self) -> None:
        """Mark the run under the cursor; with two marked, show them side by side."""
        run_id = self._cursor_run()
        if not run_id:
            return
        self.marked = [*self.marked[-1:], run_id]
        if len(self.marked) == 2:
            self.compare(*self.marked)
        else:
            self._status(f"marked {run_id}: mark another to compare")

    @work(thread=True, exclusive=True, group="backtest-show", exit_on_error=False)
    def compare(self, first: str, second: str) -> None:
        """Two runs' statistics side by side."""
        app = app_of(self)
        try:
            with app.bus.client(timeout_ms=5000) as client:
                a = client.call("strategy", methods.BACKTEST_SHOW, {"run_id": first})
                b = client.call("strategy", methods.BACKTEST_SHOW, {"run_id": second})
        except BifrostError as exc:
            app.call_from_thread(self._status, f"[red]{escape(exc.message)}[/]")
            return
        lines = [f"{'':28}{a['run_id']:>16}{b['run_id']:>16}"]
        lines += [
            f"{k:28}{_num(a['stats'].get(k)):>16}{_num(b['stats'].get(k)):>16}"
            for k in a["stats"]
            if k not in ("start", "end")
        ]
        app.call_from_thread(self._detail, Text("\n".join(lines)))


def render_run(run: dict[str, Any], width: int) -> str:
    """Headline statistics and the equity curve (plotext) of a stored run."""
    return draw_run(run, width)[0]


def draw_run(run: dict[str, Any], width: int) -> tuple[str, list[FigurePanel]]:
    """`render_run`, with the panels the figure held when it was built."""
    from bifrost.clock import format_instant

    stats = run["stats"]
    head = "  ".join(f"{k} {_num(stats.get(k))}" for k in HEADLINE)
    points = run["equity"]
    with fresh_figure() as plt:
        plt.date_form("Y-m-d")
        plt.plot(
            [format_instant(p["ts"], date_only=True) for p in points],
            [p["equity"] for p in points],
            marker="braille",
        )
        symbols = " ".join(run["symbols"])
        plt.title(f"{run['run_id']} {run['strategy']} {symbols} {params_text(run['params'])}")
        plt.plotsize(max(40, width - 2), 16)
        return head + "\n" + str(plt.build()), figure_panels(plt)


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f}" if isinstance(value, float) else str(value)
