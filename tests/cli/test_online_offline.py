"""Every CLI command with a daemon route and a file route gives the same answer on both.

DESIGN: a command that needs data opens the owner's file itself when the owner daemon
is not running and goes through the daemon when it is. Each case below runs the same
command line (`--json`) against one data dir twice: with no daemon running, and with
the owning daemons up (`bifrost up` on free loopback ports). The two JSON documents
must be equal once the fields named in the case's `differ` are removed: those are the
only ones that may differ (an id or timestamp a write mints anew, the route taken).

Writes that mint new records (a run, a model version, a report) run first, offline and
then online, with versions pinned where a later write would change the answer. Reads,
and re-runs of idempotent writes (importing what is stored already), then run online
and, after `down`, offline: the same state, including what the daemons wrote when they
started (the compliance trail's config record, the feed's instruments).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bifrost.local_config import write_local_config
from tests.cli.test_stack import bifrost

pytestmark = pytest.mark.timeout(300)

SERVICES = ("data", "news", "strategy", "ml", "analytics", "compliance", "microstructure")
FEED = """[feed]
symbols = ["ZZFEED"]
quotes_per_second = 0.001
"""
"""A feed that stays silent for the life of the test, so the running data and
microstructure daemons record nothing that the offline runs would not see."""
ARTICLES = (
    '{"ts": "2024-12-30T12:00:00Z", "title": "Apple beats estimates", "url": "https://x/1"}\n'
    '{"ts": "2024-12-30T13:00:00Z", "title": "Nvidia slumps on weak demand"}\n'
    '{"ts": "2024-12-31T09:00:00Z", "title": "Microsoft shares rally on record cloud sales"}\n'
    "this line is not JSON\n"
)
TRAINING = ("--start", "2020-01-01", "--folds", "3")
"""A small training run: five years of daily bars, three folds."""
GRID = ("-p", "fast=5,10", "--start", "2023-01-01", "--jobs", "1")
"""A two-point grid over two years: sweeps and walk-forwards read their bars on both routes
and store nothing."""
READERS = 3
"""Read-only commands run this many at a time (they spend most of their life starting)."""


@dataclass(frozen=True)
class Case:
    """One command line run on both routes; `differ` names the fields that may differ."""

    name: str
    args: tuple[str, ...]
    kind: str = "read"  # read | rerun (idempotent write) | write (mints new records)
    differ: tuple[str, ...] = ()


CASES = [
    # data service: data.duckdb
    Case("data list", ("data", "list")),
    Case("data bars", ("data", "bars", "SPY", "--start", "2024-06-01", "--end", "2024-07-01")),
    Case("data validate", ("data", "validate", "MSFT")),
    Case("data quarantine list", ("data", "quarantine", "list")),
    Case("instruments list", ("instruments", "list")),
    Case("data bars unknown symbol", ("data", "bars", "NOPE")),
    Case("data validate unknown symbol", ("data", "validate", "NOPE")),
    Case("data bars bad timeframe", ("data", "bars", "SPY", "-t", "7x")),
    Case(
        "sql",
        ("sql", "SELECT symbol, count(*) AS n FROM data.bars GROUP BY 1 ORDER BY 1"),
        differ=("sources",),  # the route each store was read by: daemon or file
    ),
    Case(
        "data import again",
        ("data", "import", "{home}/sample/SPY.csv"),
        kind="rerun",
        differ=("import_id", "started_ns"),
    ),
    Case("instruments add again", ("instruments", "add", "SPY"), kind="rerun"),
    # strategy service: strategy.duckdb
    Case("backtest list", ("backtest", "list")),
    Case("backtest show", ("backtest", "show", "{run1}")),
    Case("backtest show prefix", ("backtest", "show", "{run1_prefix}")),
    Case("backtest compare", ("backtest", "compare", "{run1}", "{run2}")),
    Case("backtest show unknown run", ("backtest", "show", "nope")),
    Case(
        "backtest sweep",
        ("backtest", "sweep", "sma_cross", "SPY", *GRID),
        differ=("via",),  # here, or in the strategy service
    ),
    Case(
        "backtest walkforward",
        ("backtest", "walkforward", "sma_cross", "SPY", *GRID, "--train", "120", "--test", "60"),
    ),
    Case(
        "backtest run",
        ("backtest", "run", "sma_cross", "SPY", "--start", "2023-01-01", "-p", "fast=5"),
        kind="write",
        differ=("run_id", "created_ns", "via"),
    ),
    Case(
        "backtest run unknown symbol",
        ("backtest", "run", "sma_cross", "NOPE"),
        kind="write",
    ),
    Case(
        "backtest run bad parameter",
        ("backtest", "run", "sma_cross", "SPY", "-p", "fast=-3"),
        kind="write",
    ),
    # ml service: ml.duckdb
    Case("ml list", ("ml", "list")),
    Case("ml show", ("ml", "show", "m")),
    Case("ml show unknown model", ("ml", "show", "nope")),
    Case("ml patterns", ("ml", "patterns", "SPY")),
    Case("ml patterns unknown symbol", ("ml", "patterns", "NOPE")),
    Case("ml predict", ("ml", "predict", "m", "SPY", "--version", "1"), kind="write"),
    Case("ml predict unknown symbol", ("ml", "predict", "m", "NOPE"), kind="write"),
    Case(
        "ml train",
        ("ml", "train", "m", "--symbols", "SPY", "--kind", "logistic", *TRAINING),
        kind="write",
        differ=("version", "created_ns", "via"),
    ),
    Case(
        "ml train, folds on a research cluster",
        ("ml", "train", "m", "--symbols", "SPY", "--kind", "logistic", *TRAINING, "--jobs", "2"),
        kind="write",
        differ=("version", "created_ns", "via"),
    ),
    # news service: news.duckdb
    Case("news latest", ("news", "latest")),
    Case("news latest of a symbol", ("news", "latest", "NVDA", "--limit", "5")),
    Case("news sentiment", ("news", "sentiment", "AAPL", "--at", "2024-12-31T12:00")),
    Case("news sentiment unknown symbol", ("news", "sentiment", "NOPE", "--at", "2024-12-31")),
    Case("news import again", ("news", "import", "{articles}"), kind="rerun"),
    # analytics service: analytics.duckdb
    Case("analytics list", ("analytics", "list")),
    Case("analytics show", ("analytics", "show", "{report}")),
    Case("analytics show unknown report", ("analytics", "show", "nope")),
    Case(
        "analytics report",
        ("analytics", "report", "{run1}", "--benchmark", "SPY"),
        kind="write",
        differ=("report_id", "created_ns"),
    ),
    Case("analytics report unknown run", ("analytics", "report", "nope"), kind="write"),
    # compliance service: compliance.duckdb
    Case("compliance verify", ("compliance", "verify")),
    Case("compliance rules", ("compliance", "rules")),
    Case("compliance report", ("compliance", "report", "--date", "2024-12-31")),
    # microstructure service: micro.duckdb
    Case("micro history", ("micro", "history", "ZZFEED")),
    Case("micro history unknown symbol", ("micro", "history", "NOPE")),
]


def run_json(config: Path, home: Path, args: tuple[str, ...]) -> dict[str, Any]:
    """Exit code and stdout document of one CLI run (stdout must hold one JSON document)."""
    result = bifrost(config, home, *args, "--json", timeout=120)
    try:
        document = json.loads(result.stdout)
    except ValueError:
        document = {"unparsed stdout": result.stdout, "stderr": result.stderr[-2000:]}
    return {"exit": result.returncode, "document": document}


def seed(config: Path, home: Path, root: Path) -> dict[str, str]:
    """Offline: the daily sample, two backtest runs and a report, articles and a model.

    After the sample, two lanes run side by side; each writes files the other does not
    open (DuckDB lets one process write a file, and nobody read it meanwhile).
    """

    def ok(*args: str) -> dict[str, Any]:
        answer = run_json(config, home, args)
        assert answer["exit"] == 0, (args, answer)
        return answer["document"]

    def runs_and_report() -> dict[str, str]:
        run1 = ok("backtest", "run", "sma_cross", "SPY", "--start", "2022-01-01")["run_id"]
        run2 = ok("backtest", "run", "sma_cross", "SPY", "--start", "2022-01-01", "-p", "fast=5")
        report = ok("analytics", "report", run1, "--benchmark", "SPY")["report_id"]
        return {"run1": run1, "run1_prefix": run1[:6], "run2": run2["run_id"], "report": report}

    def articles_and_model() -> dict[str, str]:
        articles = root / "articles.jsonl"
        articles.write_text(ARTICLES, encoding="utf-8")
        ok("news", "import", str(articles))
        ok("ml", "train", "m", "--symbols", "SPY", "--kind", "logistic", *TRAINING)
        return {"articles": str(articles)}

    ok("data", "sample")
    ok("instruments", "add", "SPY")
    with ThreadPoolExecutor(2) as pool:
        lanes = [pool.submit(runs_and_report), pool.submit(articles_and_model)]
        return {"home": str(home), **lanes[0].result(), **lanes[1].result()}


def filled(case: Case, values: dict[str, str]) -> tuple[str, ...]:
    """The case's command line with the seeded ids put in."""
    return tuple(arg.format(**values) for arg in case.args)


def run_all(
    config: Path, home: Path, values: dict[str, str], kind: str
) -> dict[str, dict[str, Any]]:
    """Every case of `kind`: reads side by side; writes in two lanes, ml's and the rest
    (in order within a lane, since ml writes only ml.duckdb and the others never open it)."""
    cases = [c for c in CASES if c.kind == kind]

    def run_lane(lane: list[Case]) -> list[dict[str, Any]]:
        return [run_json(config, home, filled(c, values)) for c in lane]

    if kind == "read":
        lanes = [[c] for c in cases]
    else:
        lanes = [[c for c in cases if c.args[0] == "ml"], [c for c in cases if c.args[0] != "ml"]]
    with ThreadPoolExecutor(READERS) as pool:
        answered = pool.map(run_lane, lanes)
        return {
            case.name: answer
            for lane, got in zip(lanes, answered, strict=True)
            for case, answer in zip(lane, got, strict=True)
        }


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Each case's answer offline and online, on one data dir."""
    root = tmp_path_factory.mktemp("online-offline")
    config = write_local_config(root, SERVICES, feed=FEED)
    home = root / "home"
    values = seed(config, home, root)
    offline = run_all(config, home, values, "write")
    up = bifrost(config, home, "up", "--timeout", "120", "--json", timeout=150)
    try:
        assert up.returncode == 0, up.stderr
        online = {}
        for kind in ("write", "read", "rerun"):
            online |= run_all(config, home, values, kind)
    finally:
        down = bifrost(config, home, "down", "--json")
    assert down.returncode == 0, down.stderr
    for kind in ("read", "rerun"):
        offline |= run_all(config, home, values, kind)
    yield {name: {"offline": offline[name], "online": online[name]} for name in offline}


def without(document: Any, fields: tuple[str, ...]) -> Any:
    """`document` with every key named in `fields` removed, at any depth."""
    if isinstance(document, dict):
        return {k: without(v, fields) for k, v in document.items() if k not in fields}
    if isinstance(document, list):
        return [without(v, fields) for v in document]
    return document


@pytest.mark.parametrize("case", CASES, ids=[re.sub(r"\W+", "-", c.name) for c in CASES])
def test_command_online_and_offline_give_the_same_answer(
    answers: dict[str, dict[str, Any]], case: Case
) -> None:
    pair = answers[case.name]
    offline, online = pair["offline"], pair["online"]
    assert online["exit"] == offline["exit"], pair
    assert without(online["document"], case.differ) == without(offline["document"], case.differ)


@pytest.mark.timeout(60)
def test_store_never_written_reads_as_empty_offline(tmp_path: Path) -> None:
    """A service that never ran here answers as from its empty store, not with an error:
    the running service on a fresh data dir answers the same way."""
    config = write_local_config(tmp_path, SERVICES, feed=FEED)
    home = tmp_path / "home"
    verify = run_json(config, home, ("compliance", "verify"))
    report = run_json(config, home, ("compliance", "report", "--date", "2024-12-31"))
    history = run_json(config, home, ("micro", "history", "ZZFEED"))
    unknown = run_json(config, home, ("micro", "history", "NOPE"))
    assert verify["exit"] == 0 and verify["document"]["ok"] is True
    assert verify["document"]["records"] == 0
    assert report["exit"] == 0 and report["document"]["records"] == []
    assert history == {"exit": 0, "document": {"symbol": "ZZFEED", "rows": []}}
    assert unknown["exit"] == 1 and unknown["document"]["error"]["code"] == "NOT_FOUND"
