"""`bifrost up | status | watch | down` as a user runs them: real subprocesses, real daemons."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.supervisor import alive


def bifrost(
    config_path: Path, home: Path, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run the CLI with this interpreter against the test config and home."""
    command = [sys.executable, "-m", "cli.main", "--config", str(config_path), "--home", str(home)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def stack(config_path: Path, home: Path) -> Iterator[dict]:
    """A running stack (`up --json` output); always brought down afterwards."""
    result = bifrost(config_path, home, "up", "--timeout", "90", "--json")
    try:
        assert result.returncode == 0, result.stderr
        yield json.loads(result.stdout)
    finally:
        bifrost(config_path, home, "down")


def test_up_twice_status_watch_down_leaves_no_process(config_path: Path, home: Path) -> None:
    first = bifrost(config_path, home, "up", "--json")
    try:
        assert first.returncode == 0, first.stderr
        started = json.loads(first.stdout)
        again = json.loads(bifrost(config_path, home, "up", "--json").stdout)
        status = json.loads(bifrost(config_path, home, "status", "--json").stdout)
        data = next(r for r in status["services"] if r["service"] == "data")
        assert started["started"] is True and again["started"] is False
        assert again["supervisor_pid"] == started["supervisor_pid"]
        assert data["state"] == "ready" and data["pid"] and alive(data["pid"])

        watch = bifrost(config_path, home, "watch", "--json", "--count", "200", "AAPL")
        lines = [json.loads(line) for line in watch.stdout.splitlines()]
        assert watch.returncode == 0, watch.stderr
        assert len(lines) == 200
        assert {q["symbol"] for q in lines} == {"AAPL"}
        assert all(q["bid"] < q["ask"] for q in lines)
        assert [q["seq"] for q in lines] == list(range(lines[0]["seq"], lines[0]["seq"] + 200))
    finally:
        down = bifrost(config_path, home, "down", "--json")
    assert down.returncode == 0
    assert not alive(data["pid"]) and not alive(started["supervisor_pid"])
    assert not (home / "run" / "supervisor.pid").exists()


def test_status_json_without_stack_reports_down(config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "status", "--json")
    assert result.returncode == 0
    rows = json.loads(result.stdout)["services"]
    assert [(r["service"], r["state"], r["pid"]) for r in rows] == [("data", "down", None)]


def test_watch_without_data_service_exits_3_saying_run_up(config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "watch", "--count", "1", "AAPL")
    assert result.returncode == 3
    assert "bifrost up" in result.stderr


def test_watch_unknown_symbol_exits_1_naming_it(stack: dict, config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "watch", "--count", "1", "NOPE")
    assert result.returncode == 1
    assert "NOPE" in result.stderr


def test_supervisor_restarts_a_killed_daemon(stack: dict, config_path: Path, home: Path) -> None:
    old_pid = stack["services"][0]["pid"]
    os.kill(old_pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    row: dict = {}
    while time.monotonic() < deadline:
        row = json.loads(bifrost(config_path, home, "status", "--json").stdout)["services"][0]
        if row["state"] == "ready" and row["pid"] not in (None, old_pid):
            break
        time.sleep(0.2)
    assert row["state"] == "ready" and row["pid"] != old_pid
    assert row["restarts"] == 1


def test_jobs_run_executes_inside_the_service(stack: dict, config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "jobs", "run", "feed-stats", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"]["quotes"] > 0
    listed = json.loads(bifrost(config_path, home, "jobs", "list", "--json").stdout)["jobs"]
    assert [(j["name"], j["service"]) for j in listed] == [("feed-stats", "data")]


def test_daemon_run_on_taken_port_exits_nonzero(stack: dict, config_path: Path, home: Path) -> None:
    result = bifrost(config_path, home, "daemon", "run", "data", timeout=20)
    assert result.returncode != 0
    assert "Address already in use" in result.stderr


def test_unknown_command_exits_2(config_path: Path, home: Path) -> None:
    assert bifrost(config_path, home, "frobnicate").returncode == 2


def test_status_all_hosts_reports_each_service_from_its_health(
    stack: dict, config_path: Path, home: Path
) -> None:
    result = bifrost(config_path, home, "status", "--all-hosts", "--json")
    rows = json.loads(result.stdout)["services"]
    assert [(r["service"], r["state"]) for r in rows] == [("data", "ready")]
    assert rows[0]["pid"] == stack["services"][0]["pid"]


def test_up_on_taken_ports_fails_fast_naming_them_and_leaves_no_process(
    stack: dict, config_path: Path, tmp_path: Path
) -> None:
    other_home = tmp_path / "other"
    started = time.monotonic()
    result = bifrost(config_path, other_home, "up")
    assert result.returncode == 3
    assert "Address already in use" in result.stderr.replace("\n", " ")
    assert time.monotonic() - started < 20
    assert not (other_home / "run" / "supervisor.pid").exists()
