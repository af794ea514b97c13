"""Bus benchmark: our PUB/SUB and RPC against raw pyzmq + msgpack, on loopback TCP.

Measures in one run, each side in its own process (multiprocessing, spawn) so both
cores work:

- events/s of `Publisher.publish` -> `Subscriber.poll` (envelope, per-topic seq,
  validation on receive) against a raw PUB/SUB socket pair sending one msgpack frame
  per message; goal: ours >= 60% of raw;
- events/s delivered by `Publisher.publish_batch` (1000 events per frame); goal:
  >= 1M events/s (the raw figure, one msgpack list per frame, is shown for scale);
- RPC round-trip p50/p99 of `RpcClient` -> `RpcServer` (driven the way `Daemon`
  drives it: a poller, then `serve_pending`) against raw REQ/REP; goal: our p50 <=
  1.5x raw p50.

Throughput is end to end: events received by the subscriber divided by the time from
the publisher's first send to the subscriber's last receive (both on CLOCK_MONOTONIC,
which all processes share). High-water marks are set above the message count so
nothing is dropped; drops would show as received < sent. Each throughput figure is
the median of `--repeat` runs.

    .venv/bin/python bench/bus.py            # full run (~30-40 s)
    .venv/bin/python bench/bus.py --quick    # short run (~5 s)
    .venv/bin/python bench/bus.py --check    # exit 1 when a goal is missed
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.context import SpawnContext, SpawnProcess
from typing import Any

import msgpack
import zmq

WARM_INTERVAL_S = 0.01
IDLE_TIMEOUT_MS = 2000
"""A subscriber that hears nothing this long after the start gives up (messages dropped)."""
CHILD_TIMEOUT_S = 120.0
TOPIC = "quote.AAPL"
WARM_TOPIC = "bench.warm"
BATCH_SIZE = 1000
POLL_EVENTS = 10_000
"""Events a subscriber takes per poll (`max_events`)."""
PUBSUB_GOAL = 0.60
BATCH_GOAL = 1_000_000
RPC_GOAL = 1.5
RPC_BLOCK = 250
"""RPC calls per turn; ours and raw take turns so machine noise hits both alike."""
MODES = ("ours", "raw")


def quote_body(i: int) -> dict[str, Any]:
    """The benchmark's event body: one quote."""
    return {
        "symbol": "AAPL",
        "bid": 189.97,
        "ask": 190.01,
        "bid_size": 1500.0,
        "ask_size": 800.0,
        "ts": 1_700_000_000_000_000_000 + i,
    }


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PUB/SUB: child processes ---------------------------------------------------------


def run_publisher(
    mode: str, endpoint: str, count: int, batch: int, warmed: Any, done: Any, results: Any
) -> None:
    """Child: bind, send warm-up events until the subscriber hears one, then `count` events."""
    from bifrost.bus.pubsub import Publisher

    ctx = zmq.Context()
    bodies = [quote_body(i) for i in range(batch)]
    try:
        if mode == "ours":
            pub = Publisher(ctx, endpoint, "bench@local", sndhwm=count + 100_000)
            while not warmed.wait(WARM_INTERVAL_S):
                pub.publish(WARM_TOPIC, "warm", {})
            send_one: Callable[[], Any] = (
                (lambda: pub.publish(TOPIC, "quote", bodies[0]))
                if batch == 1
                else (lambda: pub.publish_batch(TOPIC, "quote", bodies))
            )
        else:
            sock = ctx.socket(zmq.PUB)
            sock.setsockopt(zmq.SNDHWM, count + 100_000)
            sock.setsockopt(zmq.LINGER, 0)
            sock.bind(endpoint)
            while not warmed.wait(WARM_INTERVAL_S):
                sock.send(msgpack.packb(0))
            send = sock.send
            packb = msgpack.packb
            body = bodies[0] if batch == 1 else bodies
            send_one = lambda: send(packb(body))  # noqa: E731
        frames = count // batch
        start = time.monotonic()
        for _ in range(frames):
            send_one()
        end = time.monotonic()
        results.put(("pub", start, end, frames * batch))
        done.wait(CHILD_TIMEOUT_S)  # keep the socket open until the subscriber is through
    finally:
        ctx.destroy(linger=0)


def run_subscriber(
    mode: str, endpoint: str, count: int, batch: int, warmed: Any, results: Any
) -> None:
    """Child: connect, signal on the first warm-up event, count events until `count` or idle."""
    ctx = zmq.Context()
    try:
        if mode == "ours":
            received, last = _receive_ours(ctx, endpoint, count, batch, warmed)
        else:
            received, last = _receive_raw(ctx, endpoint, count, warmed)
        results.put(("sub", last, received))
    finally:
        ctx.destroy(linger=0)


def _receive_ours(
    ctx: zmq.Context, endpoint: str, count: int, batch: int, warmed: Any
) -> tuple[int, float]:
    from bifrost.bus.pubsub import Subscriber

    sub = Subscriber(ctx, [endpoint], ["bench.", "quote."], rcvhwm=count + 100_000)
    received, last = 0, 0.0
    while received < count:
        events = sub.poll(IDLE_TIMEOUT_MS, max_events=POLL_EVENTS)
        if not events:
            if warmed.is_set():
                break
            continue
        for event in events:
            if event.topic == TOPIC:
                received += 1
            else:
                warmed.set()
        last = time.monotonic()
    if sub.bad_frames or sub.gaps:
        print(
            f"subscriber: {sub.bad_frames} bad frames, {sub.gaps} gaps: {sub.last_error}",
            file=sys.stderr,
        )
    return received, last


def _receive_raw(ctx: zmq.Context, endpoint: str, count: int, warmed: Any) -> tuple[int, float]:
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.RCVHWM, count + 100_000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    recv, unpackb = sock.recv, msgpack.unpackb
    received, last = 0, 0.0
    while received < count:
        if not sock.poll(IDLE_TIMEOUT_MS):
            if warmed.is_set():
                break
            continue
        for _ in range(10_000):  # drain like Subscriber.poll does
            try:
                body = unpackb(recv(zmq.NOBLOCK))
            except zmq.Again:
                break
            kind = type(body)
            if kind is dict:
                received += 1
            elif kind is list:
                received += len(body)
            else:
                warmed.set()
        last = time.monotonic()
    return received, last


# -- RPC: child processes ---------------------------------------------------------------


def run_rpc_server(mode: str, endpoint: str, stop: Any) -> None:
    """Child: serve `echo` until `stop` is set; ours loops exactly like Daemon.serve_forever."""
    ctx = zmq.Context()
    try:
        if mode == "ours":
            from bifrost.bus.rpc import Method, RpcServer
            from bifrost.bus.schema import Schema
            from bifrost.metrics import ServiceMetrics

            server = RpcServer(ctx, endpoint, ServiceMetrics("bench"))
            server.add(Method("echo", lambda p, c: p, Schema("echo params", {}, open=True)))
            poller = zmq.Poller()
            poller.register(server.socket, zmq.POLLIN)
            while not stop.is_set():
                if poller.poll(50):
                    server.serve_pending()
        else:
            sock = ctx.socket(zmq.REP)
            sock.setsockopt(zmq.LINGER, 0)
            sock.bind(endpoint)
            while not stop.is_set():
                if sock.poll(50):
                    sock.send(msgpack.packb(msgpack.unpackb(sock.recv())))
    finally:
        ctx.destroy(linger=0)


def rpc_caller(ctx: zmq.Context, mode: str, endpoint: str) -> Callable[[], Any]:
    """A function doing one echo round trip with our RpcClient or a raw REQ socket."""
    params = {"symbol": "AAPL", "qty": 100}
    if mode == "ours":
        from bifrost.bus.rpc import RpcClient

        client = RpcClient(ctx, endpoint, name="bench", timeout_ms=5000)
        client.call("echo", params, idempotent=True, timeout_ms=20_000)  # wait for the server
        return lambda: client.call("echo", params)
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 20_000)
    sock.connect(endpoint)
    send, recv, packb, unpackb = sock.send, sock.recv, msgpack.packb, msgpack.unpackb

    def call() -> Any:
        send(packb(params))
        return unpackb(recv())

    return call


def measure_rpc(callers: dict[str, Callable[[], Any]], calls: int) -> dict[str, list[float]]:
    """Round-trip times in microseconds, the modes taking turns in blocks so drift hits both."""
    clock = time.perf_counter_ns
    times: dict[str, list[float]] = {mode: [] for mode in callers}
    for block in range(-1, calls // RPC_BLOCK):  # block -1 warms up, unmeasured
        for mode, call in callers.items():
            out = times[mode]
            for _ in range(RPC_BLOCK):
                t0 = clock()
                call()
                if block >= 0:
                    out.append((clock() - t0) / 1000)
    return times


# -- orchestration ----------------------------------------------------------------------


@contextlib.contextmanager
def children(ctx: SpawnContext) -> Iterator[list[SpawnProcess]]:
    """A list to put started child processes in; every one is stopped on the way out."""
    procs: list[SpawnProcess] = []
    try:
        yield procs
    finally:
        for proc in procs:
            proc.join(timeout=5 if proc.exitcode is None else 0)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=2)
            if proc.is_alive():
                proc.kill()
                proc.join()


def pubsub_run(ctx: SpawnContext, mode: str, count: int, batch: int) -> dict[str, float]:
    """One PUB/SUB run: events sent, received and delivered events/s."""
    endpoint = f"tcp://127.0.0.1:{free_port()}"
    warmed, done, results = ctx.Event(), ctx.Event(), ctx.Queue()
    with children(ctx) as procs:
        procs.append(
            ctx.Process(
                target=run_subscriber,
                daemon=True,
                args=(mode, endpoint, count, batch, warmed, results),
            )
        )
        procs.append(
            ctx.Process(
                target=run_publisher,
                daemon=True,
                args=(mode, endpoint, count, batch, warmed, done, results),
            )
        )
        for proc in procs:
            proc.start()
        got: dict[str, tuple[Any, ...]] = {}
        try:
            while len(got) < 2:
                item = results.get(timeout=CHILD_TIMEOUT_S)
                got[item[0]] = item[1:]
        finally:
            done.set()
    pub_start, _, sent = got["pub"]
    last, received = got["sub"]
    seconds = max(last - pub_start, 1e-9)
    return {"sent": sent, "received": received, "rate": received / seconds}


def pubsub_compare(ctx: SpawnContext, count: int, batch: int, repeat: int) -> dict:
    """Ours and raw in turns, `repeat` runs each; for each mode the run with the median rate."""
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(repeat):
        for mode in MODES:
            runs[mode].append(pubsub_run(ctx, mode, count, batch))
    out = {}
    for mode, done in runs.items():
        out[mode] = dict(sorted(done, key=lambda x: x["rate"])[len(done) // 2])
        out[mode]["dropped_all_runs"] = sum(r["sent"] - r["received"] for r in done)
    return out


def rpc_compare(ctx: SpawnContext, calls: int) -> dict[str, dict[str, float]]:
    """Echo round trips against our server and a raw REP server, each in a child process."""
    endpoints = {mode: f"tcp://127.0.0.1:{free_port()}" for mode in MODES}
    stop = ctx.Event()
    zctx = zmq.Context()
    with children(ctx) as procs:
        for mode, endpoint in endpoints.items():
            procs.append(
                ctx.Process(target=run_rpc_server, args=(mode, endpoint, stop), daemon=True)
            )
            procs[-1].start()
        try:
            callers = {mode: rpc_caller(zctx, mode, ep) for mode, ep in endpoints.items()}
            times = measure_rpc(callers, calls)
        finally:
            stop.set()
            zctx.destroy(linger=0)
    out = {}
    for mode, values in times.items():
        values.sort()
        out[mode] = {
            "calls": len(values),
            "p50_us": percentile(values, 50),
            "p99_us": percentile(values, 99),
            "mean_us": statistics.fmean(values),
        }
    return out


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the result table."""

    name: str
    ours: str
    raw: str
    ratio: str
    goal: str
    ok: bool


def build_lines(fig: dict[str, Any]) -> list[Line]:
    """Turn the figures into table rows with pass/fail against the goals."""
    ps, batch, rpc = fig["pubsub"], fig["batch"], fig["rpc"]
    ps_ratio = ps["ours"]["rate"] / ps["raw"]["rate"]
    b_ratio = batch["ours"]["rate"] / batch["raw"]["rate"]
    rpc_ratio = rpc["ours"]["p50_us"] / rpc["raw"]["p50_us"]
    p99_ratio = rpc["ours"]["p99_us"] / rpc["raw"]["p99_us"]
    fig["ratios"] = {
        "pubsub": ps_ratio,
        "batch": b_ratio,
        "rpc_p50": rpc_ratio,
        "rpc_p99": p99_ratio,
    }
    drops = sum(r["dropped_all_runs"] for part in (ps, batch) for r in part.values())
    return [
        Line(
            "pub/sub msgs/s",
            f"{ps['ours']['rate']:,.0f}",
            f"{ps['raw']['rate']:,.0f}",
            f"{ps_ratio:.0%}",
            f">= {PUBSUB_GOAL:.0%} of raw",
            ps_ratio >= PUBSUB_GOAL,
        ),
        Line(
            f"batched events/s ({BATCH_SIZE}/frame)",
            f"{batch['ours']['rate']:,.0f}",
            f"{batch['raw']['rate']:,.0f}",
            f"{b_ratio:.0%}",
            f">= {BATCH_GOAL:,}",
            batch["ours"]["rate"] >= BATCH_GOAL,
        ),
        Line(
            "rpc p50 us",
            f"{rpc['ours']['p50_us']:.1f}",
            f"{rpc['raw']['p50_us']:.1f}",
            f"{rpc_ratio:.2f}x",
            f"<= {RPC_GOAL}x raw",
            rpc_ratio <= RPC_GOAL,
        ),
        Line(
            "rpc p99 us",
            f"{rpc['ours']['p99_us']:.1f}",
            f"{rpc['raw']['p99_us']:.1f}",
            f"{p99_ratio:.2f}x",
            "(info)",
            True,
        ),
        Line("events dropped (all runs)", str(drops), "", "", "0", drops == 0),
    ]


def print_table(lines: list[Line]) -> None:
    """A rich table when rich is available, else plain columns."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for ln in lines:
            print(
                f"{ln.name:34} {ln.ours:>14} {ln.raw:>14} {ln.ratio:>7} {ln.goal:>16} "
                f"{'pass' if ln.ok else 'FAIL'}"
            )
        return
    table = Table(title="Bifrost bus vs raw pyzmq + msgpack (loopback TCP, 2 processes)")
    for col in ("measure", "ours", "raw", "ratio", "goal", "result"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for ln in lines:
        verdict = "[green]pass[/]" if ln.ok else "[red]FAIL[/]"
        table.add_row(ln.name, ln.ours, ln.raw, ln.ratio, ln.goal, verdict)
    console = Console()
    console.width = max(console.width, 100)  # no wrapped rows when piped (80 columns)
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (fewer messages)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per throughput figure")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    count = 100_000 if args.quick else 400_000
    batch_events = 1_000_000 if args.quick else 3_000_000
    calls = 3_000 if args.quick else 20_000
    repeat = args.repeat or (1 if args.quick else 3)
    ctx = mp.get_context("spawn")
    fig: dict[str, Any] = {"quick": args.quick, "repeat": repeat, "batch_size": BATCH_SIZE}
    started = time.monotonic()
    fig["pubsub"] = pubsub_compare(ctx, count, 1, repeat)
    fig["batch"] = pubsub_compare(ctx, batch_events, BATCH_SIZE, repeat)
    fig["rpc"] = rpc_compare(ctx, calls)
    fig["seconds"] = round(time.monotonic() - started, 1)
    lines = build_lines(fig)
    fig["pass"] = all(ln.ok for ln in lines)
    print_table(lines)
    print(json.dumps(fig, sort_keys=True))
    return 1 if args.check and not fig["pass"] else 0


if __name__ == "__main__":
    sys.exit(main())
