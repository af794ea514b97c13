"""The studies view of the backtests screen: the Optuna studies `backtest optimize` kept,
a study's best trials, and for several objectives its Pareto front over every trial.

Read from the strategy service (`backtest.studies`, `backtest.study`), which reads the
journals without running a trial again.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bifrost.backtest.studies import params_text
from bifrost.bus import methods
from tui.fetch import fetch
from tui.plot_figure import FigurePanel, figure_panels, fresh_figure

FRONT_LABELS = 20
"""Front points labelled with their trial number on the plot; past that they crowd it."""


class StudiesScreen(Screen[None]):
    """Studies; `enter` shows the one under the cursor: best trials, Pareto front plot."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("enter", "show", "Show study"),
        Binding("f5", "reload", "Reload"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Studies (backtest optimize)", id="status", classes="title")
        yield DataTable(id="studies", cursor_type="row")
        yield DataTable(id="trials", cursor_type="row")
        yield Static(id="front")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#studies", DataTable).add_columns(
            "study", "strategy", "symbols", "objectives", "sampler", "trials", "complete", "best"
        )
        self.action_reload()

    @work(thread=True, exclusive=True, group="studies", exit_on_error=False)
    def action_reload(self) -> None:
        """Fetch the list of studies."""
        reply = fetch(self, "strategy", methods.BACKTEST_STUDIES)
        if reply is not None:
            self.app.call_from_thread(self._show_studies, reply["studies"])

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(text)

    def _show_studies(self, studies: list[dict[str, Any]]) -> None:
        table = self.query_one("#studies", DataTable)
        table.clear()
        for s in studies:
            if "error" in s:
                table.add_row(s["name"], Text(s["error"], style="red"), key=s["name"])
                continue
            best = "  ".join(f"{o} {_num(v)}" for o, v in s["best"].items())
            table.add_row(
                s["name"],
                s["strategy"],
                " ".join(s["symbols"]),
                " ".join(s["objectives"]),
                s["sampler"],
                str(s["trials"]),
                str(s["complete"]),
                best,
                key=s["name"],
            )
        self._status(f"Studies ({len(studies)}): enter shows one")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "studies":
            self.action_show()

    def action_show(self) -> None:
        """The best trials (and Pareto front) of the study under the cursor."""
        table = self.query_one("#studies", DataTable)
        if table.row_count:
            self.show_study(str(table.get_row_at(table.cursor_row)[0]))

    @work(thread=True, exclusive=True, group="study", exit_on_error=False)
    def show_study(self, name: str) -> None:
        """Fetch one study and draw it."""
        study = fetch(self, "strategy", methods.BACKTEST_STUDY, {"name": name}, timeout_ms=10_000)
        if study is None:
            return
        plot = draw_front(study, self.size.width)[0] if len(study["objectives"]) > 1 else ""
        self.app.call_from_thread(self._show_study, study, plot)

    def _show_study(self, study: dict[str, Any], plot: str) -> None:
        objectives = study["objectives"]
        table = self.query_one("#trials", DataTable)
        table.clear(columns=True)
        table.add_columns("trial", "params", *objectives)
        for b in study["best"]:
            values = [_num(b["values"][o]) for o in objectives]
            table.add_row(str(b["number"]), params_text(b["params"]), *values)
        what = "best trials" if len(objectives) == 1 else "Pareto front"
        self._status(
            f"study {study['name']}: {what} ({len(study['best'])}) of {study['trials']} trials:"
            f" {study['complete']} complete, {study['running']} running, {study['pruned']} pruned,"
            f" {study['skipped']} skipped, {study['failed']} failed"
        )
        self.query_one("#front", Static).update(Text.from_ansi(plot))


def draw_front(study: dict[str, Any], width: int) -> tuple[str, list[FigurePanel]]:
    """Every complete trial on the first two objectives, the Pareto front marked and
    labelled with trial numbers; with the panels the figure held when it was built."""
    x_name, y_name = study["objectives"][:2]
    cloud, front = study["points"], study["best"]
    if not cloud:
        return "no trial of this study has completed yet", []
    xs = [p["values"][x_name] for p in cloud]
    nudge = (max(xs) - min(xs)) / max(40, width) * 2  # a label just right of its mark
    with fresh_figure() as plt:
        plt.scatter(
            xs,
            [p["values"][y_name] for p in cloud],
            marker="dot",
            label="trials",
        )
        plt.scatter(
            [b["values"][x_name] for b in front],
            [b["values"][y_name] for b in front],
            marker="x",
            color="red",
            label="Pareto front",
        )
        for b in front[:FRONT_LABELS]:
            plt.text(str(b["number"]), b["values"][x_name] + nudge, b["values"][y_name])
        plt.title(f"study {study['name']}: Pareto front")
        plt.xlabel(x_name)
        plt.ylabel(y_name)
        plt.plotsize(max(40, width - 2), 16)
        return str(plt.build()), figure_panels(plt)


def _num(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)
