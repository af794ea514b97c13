"""Bus benchmark: our PUB/SUB and RPC against raw pyzmq + msgpack, on loopback TCP.

Measures in one run, each side in its own process (multiprocessing, spawn) so both
cores work, every figure `--repeat` times (3 by default) with ours and the baselines
taking turns, and prints the median ratio with its range:

- events/s of `Publisher.publish` -> `Subscriber.poll` (one event per frame: topic,
  envelope, per-topic seq, checks on receive) against a raw PUB/SUB pair sending one
  msgpack frame of the bare body per message (`pubsub_vs_raw`, goal >= 0.6), and
  against a raw pair sending the very same frames and bytes as ours (context);
- events/s of `Publisher.publish_columns` -> `Subscriber.poll_columns` (1000 events
  per columnar frame) against a raw pair sending and unpacking the same frames and
  bytes (`batched_per_s` goal >= 1M/s, `batched_vs_raw` goal >= 0.6);
- RPC round-trip p50/p99 of `RpcClient` -> `RpcServer` (driven the way `Daemon`
  drives it: a poller, then `serve_pending`) against raw REQ/REP
  (`rpc_p50_vs_raw`, goal <= 1.3).

Throughput is end to end: events received by the subscriber divided by the time from
the publisher's first send to the subscriber's last receive (both on CLOCK_MONOTONIC,
which all processes share). High-water marks are set above the message count so
nothing is dropped; drops would show as received < sent.

    .venv/bin/python bench/bus.py                  # 1M messages per run (several minutes)
    .venv/bin/python bench/bus.py --count 100000   # a quick look
    .venv/bin/python bench/bus.py --check          # exit 1 when a goal is missed
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
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
CHILD_TIMEOUT_S = 600.0
TOPIC = "quote.AAPL"
WARM_TOPIC = "bench.warm"
SRC = "bench@local"
BATCH_SIZE = 1000
POLL_EVENTS = 10_000
"""Events a subscriber takes per poll (`max_events`)."""
PUBSUB_GOAL = 0.60
BATCH_GOAL = 1_000_000
BATCH_RATIO_GOAL = 0.60
RPC_GOAL = 1.3
RPC_BLOCK = 250
"""RPC calls per turn; ours and raw take turns so machine noise hits both alike."""
SINGLE_MODES = ("ours", "raw", "raw_same")
"""raw: one msgpack frame of the bare body; raw_same: the same frames and bytes as ours."""
BATCH_MODES = ("ours", "raw_same")
RPC_MODES = ("ours", "raw")


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


def quote_columns(count: int) -> dict[str, list[Any]]:
    """`count` quotes as columns, the way a feed that holds arrays has them."""
    bodies = [quote_body(i) for i in range(count)]
    return {name: [body[name] for body in bodies] for name in bodies[0]}


def free_port() -> int:
    """A port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- PUB/SUB: child processes ---------------------------------------------------------


def ours_sender(
    ctx: zmq.Context, endpoint: str, count: int, batch: int, warmed: Any
) -> Callable[[], Any]:
    """Bind our Publisher, warm up, and return the call that sends one message."""
    from bifrost.bus.pubsub import Publisher

    pub = Publisher(ctx, endpoint, SRC, sndhwm=count + 100_000)
    while not warmed.wait(WARM_INTERVAL_S):
        pub.publish(WARM_TOPIC, "warm", {})
    if batch == 1:
        body = quote_body(0)
        return lambda: pub.publish(TOPIC, "quote", body)
    columns = quote_columns(batch)
    return lambda: pub.publish_columns(TOPIC, "quote", columns)


def raw_sender(
    ctx: zmq.Context, endpoint: str, count: int, batch: int, warmed: Any, same: bool
) -> Callable[[], Any]:
    """Bind a bare PUB socket, warm up, and return the call that sends one message.

    `same`: the frame ours sends (topic, NUL, envelope with a seq and a time, columnar
    body for a batch), packed the same way; else the bare msgpack body.
    """
    from bifrost.bus import codec

    sock = ctx.socket(zmq.PUB)
    sock.setsockopt(zmq.SNDHWM, count + 100_000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    send, packb = sock.send, msgpack.Packer().pack
    while not warmed.wait(WARM_INTERVAL_S):
        send(b"bench.warm\x00" + packb(0))
    if not same:
        body: Any = quote_body(0)
        return lambda: send(packb(body))
    prefix, version, now = TOPIC.encode() + b"\x00", codec.PROTOCOL_VERSION, time.time_ns
    type_ = "quote"
    if batch > 1:
        type_, body = "batch", {"type": "quote", "n": batch, "columns": quote_columns(batch)}
    else:
        body = quote_body(0)
    seq = itertools.count(1, batch)
    return lambda: send(prefix + packb((version, type_, next(seq), now(), SRC, "", body)))


def run_publisher(
    mode: str, endpoint: str, count: int, batch: int, warmed: Any, done: Any, results: Any
) -> None:
    """Child: bind, send warm-up messages until the subscriber hears one, then `count` events."""
    ctx = zmq.Context()
    try:
        if mode == "ours":
            send_one = ours_sender(ctx, endpoint, count, batch, warmed)
        else:
            send_one = raw_sender(ctx, endpoint, count, batch, warmed, mode == "raw_same")
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
            received, last = _receive_ours(ctx, endpoint, count, warmed)
        else:
            received, last = _receive_raw(ctx, endpoint, count, warmed, mode == "raw_same")
        results.put(("sub", last, received))
    finally:
        ctx.destroy(linger=0)


def _receive_ours(ctx: zmq.Context, endpoint: str, count: int, warmed: Any) -> tuple[int, float]:
    from bifrost.bus.pubsub import EventBatch, Subscriber

    sub = Subscriber(ctx, [endpoint], ["bench.", "quote."], rcvhwm=count + 100_000)
    received, last = 0, 0.0
    while received < count:
        items = sub.poll_columns(IDLE_TIMEOUT_MS, max_events=POLL_EVENTS)
        if not items:
            if warmed.is_set():
                break
            continue
        for item in items:
            if item.topic != TOPIC:
                warmed.set()
            elif type(item) is EventBatch:
                received += item.count
            else:
                received += 1
        last = time.monotonic()
    if sub.bad_frames or sub.gaps:
        print(
            f"subscriber: {sub.bad_frames} bad frames, {sub.gaps} gaps: {sub.last_error}",
            file=sys.stderr,
        )
    return received, last


def _receive_raw(
    ctx: zmq.Context, endpoint: str, count: int, warmed: Any, same: bool
) -> tuple[int, float]:
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
                frame = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if frame.startswith(b"bench.warm"):
                warmed.set()
            elif not same:
                unpackb(frame)
                received += 1
            else:
                envelope = unpackb(frame.partition(b"\x00")[2])
                received += envelope[6]["n"] if envelope[1] == "batch" else 1
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
                    server.serve_pending(readable=True)
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


def pubsub_compare(
    ctx: SpawnContext, count: int, batch: int, repeat: int, modes: tuple[str, ...]
) -> dict[str, list[dict[str, float]]]:
    """`repeat` rounds in which every mode runs once, in turns: runs per mode."""
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for round_ in range(repeat):
        for mode in modes:
            run = pubsub_run(ctx, mode, count, batch)
            runs[mode].append(run)
            log(f"pub/sub batch={batch} {mode} {round_ + 1}/{repeat}: {run['rate']:,.0f}/s")
    return runs


def rpc_compare(ctx: SpawnContext, calls: int, repeat: int) -> dict[str, list[dict[str, float]]]:
    """Echo round trips against our server and a raw REP server, each in a child process;
    `repeat` rounds of `calls` calls per mode."""
    endpoints = {mode: f"tcp://127.0.0.1:{free_port()}" for mode in RPC_MODES}
    stop = ctx.Event()
    zctx = zmq.Context()
    rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in RPC_MODES}
    with children(ctx) as procs:
        for mode, endpoint in endpoints.items():
            procs.append(
                ctx.Process(target=run_rpc_server, args=(mode, endpoint, stop), daemon=True)
            )
            procs[-1].start()
        try:
            callers = {mode: rpc_caller(zctx, mode, ep) for mode, ep in endpoints.items()}
            for round_ in range(repeat):
                times = measure_rpc(callers, calls)
                for mode, values in times.items():
                    values.sort()
                    rounds[mode].append(
                        {
                            "calls": len(values),
                            "p50_us": percentile(values, 50),
                            "p99_us": percentile(values, 99),
                            "mean_us": statistics.fmean(values),
                        }
                    )
                log(f"rpc {round_ + 1}/{repeat}: p50 ours {rounds['ours'][-1]['p50_us']:.1f} us")
        finally:
            stop.set()
            zctx.destroy(linger=0)
    return rounds


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(0, min(len(sorted_values) - 1, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table and the JSON line."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Line:
    """One row of the result table: medians over the rounds, the ratio's range."""

    name: str
    ours: float
    base: float
    ratios: list[float]
    goal: str
    ok: bool | None
    """None for a row shown for context only."""

    @property
    def ratio(self) -> float:
        """The median ratio over the rounds."""
        return statistics.median(self.ratios)


def ratio_line(
    name: str,
    runs: dict[str, list[dict[str, float]]],
    key: str,
    base: str,
    goal: str,
    passes: Callable[[float, float], bool] | None,
) -> Line:
    """A row from per-round runs: ratio of ours to `base` in each round."""
    ours = [run[key] for run in runs["ours"]]
    other = [run[key] for run in runs[base]]
    ratios = [a / b for a, b in zip(ours, other, strict=True)]
    line = Line(name, statistics.median(ours), statistics.median(other), ratios, goal, None)
    if passes is None:
        return line
    return Line(line.name, line.ours, line.base, ratios, goal, passes(line.ours, line.ratio))


def build_lines(fig: dict[str, Any]) -> list[Line]:
    """The table rows, with pass/fail against the goals."""
    single, batch, rpc = fig["pubsub"], fig["batch"], fig["rpc"]
    return [
        ratio_line(
            "pub/sub msgs/s vs raw single frame",
            single,
            "rate",
            "raw",
            f">= {PUBSUB_GOAL:.0%}",
            lambda _, r: r >= PUBSUB_GOAL,
        ),
        ratio_line(
            "pub/sub msgs/s vs raw, same bytes", single, "rate", "raw_same", "context", None
        ),
        ratio_line(
            f"batched events/s ({BATCH_SIZE}/frame)",
            batch,
            "rate",
            "raw_same",
            f">= {BATCH_RATIO_GOAL:.0%}, >= {BATCH_GOAL / 1e6:g}M/s",
            lambda rate, r: r >= BATCH_RATIO_GOAL and rate >= BATCH_GOAL,
        ),
        ratio_line(
            "rpc p50 us vs raw REQ/REP",
            rpc,
            "p50_us",
            "raw",
            f"<= {RPC_GOAL}x",
            lambda _, r: r <= RPC_GOAL,
        ),
        ratio_line("rpc p99 us vs raw REQ/REP", rpc, "p99_us", "raw", "context", None),
    ]


def print_table(lines: list[Line], drops: int) -> None:
    """Plain columns: medians, median ratio and its range over the rounds."""
    print(f"{'measure':38} {'ours':>12} {'baseline':>12} {'ratio':>6} {'range':>13}  goal")
    for ln in lines:
        verdict = "-" if ln.ok is None else "met" if ln.ok else "MISSED"
        spread = f"{min(ln.ratios):.2f}-{max(ln.ratios):.2f}"
        print(
            f"{ln.name:38} {ln.ours:12,.1f} {ln.base:12,.1f} {ln.ratio:6.2f} {spread:>13}  "
            f"{ln.goal} {verdict}"
        )
    print(f"events dropped (all runs): {drops}")


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table and one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="messages per pub/sub run")
    parser.add_argument(
        "--batch-events", type=int, default=None, help="events per batched run (10x --count)"
    )
    parser.add_argument("--calls", type=int, default=20_000, help="RPC calls per round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every figure")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args(argv)
    batch_events = args.batch_events or 10 * args.count
    ctx = mp.get_context("spawn")
    fig: dict[str, Any] = {"count": args.count, "repeat": args.repeat, "batch_size": BATCH_SIZE}
    started = time.monotonic()
    fig["pubsub"] = pubsub_compare(ctx, args.count, 1, args.repeat, SINGLE_MODES)
    fig["batch"] = pubsub_compare(ctx, batch_events, BATCH_SIZE, args.repeat, BATCH_MODES)
    fig["rpc"] = rpc_compare(ctx, args.calls, args.repeat)
    fig["seconds"] = round(time.monotonic() - started, 1)
    lines = build_lines(fig)
    drops = sum(
        int(run["sent"] - run["received"])
        for part in ("pubsub", "batch")
        for runs in fig[part].values()
        for run in runs
    )
    print_table(lines, drops)
    pubsub, _, batched, rpc_p50, _ = lines
    fig.update(
        pubsub_vs_raw=round(pubsub.ratio, 3),
        pubsub_vs_raw_range=[round(min(pubsub.ratios), 3), round(max(pubsub.ratios), 3)],
        batched_per_s=round(batched.ours),
        batched_vs_raw=round(batched.ratio, 3),
        batched_vs_raw_range=[round(min(batched.ratios), 3), round(max(batched.ratios), 3)],
        rpc_p50_vs_raw=round(rpc_p50.ratio, 3),
        rpc_p50_vs_raw_range=[round(min(rpc_p50.ratios), 3), round(max(rpc_p50.ratios), 3)],
        dropped=drops,
        goals_met=all(ln.ok for ln in lines if ln.ok is not None) and drops == 0,
    )
    print(json.dumps(fig, sort_keys=True))
    return 1 if args.check and not fig["goals_met"] else 0


if __name__ == "__main__":
    sys.exit(main())
