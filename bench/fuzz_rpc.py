"""Fuzz a running data daemon's RPC socket with garbage; it must answer and stay up.

Starts a real data daemon (`daemons.build_daemon("data", ...)`) as a subprocess on
free loopback ports from a temporary config and home, then sends `--frames` messages
from a raw DEALER socket: wrong frame counts, random bytes, truncated msgpack, huge
declared lengths, ext types, msgpack Timestamps, wrongly typed request fields,
unknown methods, known methods with bad params, deeply nested arrays and maps,
oversized frames, and a few well-formed read-only calls in between. Replies are read
while sending (at most `--window` outstanding) and checked in order against the
codes each case may get; an INTERNAL reply to garbage counts as unexpected.

At the end the daemon must still be running and answer `health` through
`RpcClient`; its `bifrost_bad_frames` count comes from the `metrics` RPC. Prints a
table and one JSON line; exits 1 if the daemon crashed (or, with `--strict`, if a
reply was missing or unexpected). The daemon is always terminated.

    .venv/bin/python bench/fuzz_rpc.py                  # 100,000 frames
    .venv/bin/python bench/fuzz_rpc.py --frames 5000 --seed 3
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import zmq

from bifrost.bus import codec
from bifrost.bus.rpc import RpcClient
from bifrost.config import load_config
from bifrost.errors import BifrostError, UnknownMethod
from bifrost.local_config import write_local_config

DAEMON_CODE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from bifrost.config import load_config\n"
    "from daemons import build_daemon\n"
    "sys.exit(build_daemon('data', load_config(sys.argv[1]), Path(sys.argv[2])).run())\n"
)
READY_TIMEOUT_S = 60.0
REPLY_WAIT_MS = 5000
"""How long a full window waits for a reply before writing the outstanding ones off."""
STALLS_TO_GIVE_UP = 3
METRICS_TIMEOUT_MS = 60_000
READ_ONLY = ("health", "ready", "config", "snapshot", "jobs.list", "data.list", "instruments.list")
"""Methods a valid fuzz call may use: none of them writes or starts anything."""
FIELD_NAMES = (
    "symbol",
    "symbols",
    "name",
    "prefix",
    "timeframe",
    "start",
    "end",
    "speed",
    "paths",
    "format",
    "tz",
    "venue",
    "tick_size",
    "x",
)
BAD = frozenset({"BAD_REQUEST"})
UNKNOWN = frozenset({"UNKNOWN_METHOD"})
ANSWERED = frozenset({"OK", "BAD_REQUEST", "NOT_FOUND", "TIMEOUT", "UNKNOWN_METHOD"})
"""Codes a plausible-but-odd request may get; anything but INTERNAL."""

Case = tuple[list[bytes], frozenset[str]]
"""Frames to send and the reply codes ("OK" or an error code) that are acceptable."""


def write_config(directory: Path) -> Path:
    """The data service on free loopback ports with the small test feed."""
    return write_local_config(directory)


class Fuzzer:
    """Draws fuzz cases from one seeded RNG."""

    def __init__(self, rng: random.Random, methods: list[str]) -> None:
        self.rng = rng
        self.methods = methods
        weighted: list[tuple[Callable[[], Case], int]] = [
            (self.wrong_frame_count, 8),
            (self.random_bytes, 12),
            (self.truncated, 10),
            (self.huge_declared_size, 8),
            (self.ext_type, 8),
            (self.timestamp, 6),
            (self.wrong_field_type, 12),
            (self.unknown_method, 8),
            (self.bad_params, 12),
            (self.deep_nesting, 6),
            (self.bad_encoding, 4),
            (self.valid_call, 6),
        ]
        self._draw = [kind for kind, weight in weighted for _ in range(weight)]

    def case(self, i: int) -> Case:
        """One case; every 2000th is an oversized frame (they are 1 MiB each)."""
        if i % 2000 == 1999:
            return self.oversized()
        return self.rng.choice(self._draw)()

    # -- value helpers

    def scalar(self) -> Any:
        r = self.rng
        return r.choice(
            (
                None,
                True,
                False,
                r.randint(-(2**63), 2**64 - 1),
                r.random() * 1e6,
                float("nan"),
                float("inf"),
                r.randbytes(r.randint(0, 12)),
                self.text(),
            )
        )

    def text(self, max_len: int = 12) -> str:
        r = self.rng
        return "".join(
            chr(r.choice((r.randint(32, 126), r.randint(0xA0, 0xD7FF))))
            for _ in range(r.randint(0, max_len))
        )

    def plain(self, depth: int = 0) -> Any:
        r = self.rng.random()
        if depth > 3 or r < 0.55:
            return self.scalar()
        if r < 0.8:
            return [self.plain(depth + 1) for _ in range(self.rng.randint(0, 3))]
        return {self.text(6): self.plain(depth + 1) for _ in range(self.rng.randint(0, 3))}

    def not_of(self, *types: type) -> Any:
        """A value whose type is none of `types` (bool counts as its own type)."""
        while True:
            value = self.rng.choice(
                (
                    self.scalar(),
                    self.plain(),
                    [self.scalar()],
                    {"k": self.scalar()},
                    msgpack.Timestamp(1, 0),
                )
            )
            if type(value) not in types:
                return value

    def request(self, **fields: Any) -> dict[str, Any]:
        base = {
            "v": 1,
            "id": self.rng.randint(1, 2**31),
            "method": self.rng.choice(READ_ONLY),
            "params": {},
            "cid": "fuzz",
            "deadline_ms": None,
        }
        base.update(fields)
        return base

    def pack(self, value: Any) -> bytes:
        return msgpack.packb(value, use_bin_type=True, datetime=False)

    # -- case kinds

    def wrong_frame_count(self) -> Case:
        r = self.rng
        choice = r.randrange(3)
        payload = self.pack(self.request())
        if choice == 0:  # two or more parts where one is expected
            return [r.randbytes(r.randint(1, 16)) for _ in range(r.randint(2, 4))], BAD
        if choice == 1:  # a REQ-style empty delimiter, then one part too many
            return [b"", b"", payload], BAD
        return [r.randbytes(r.randint(1, 8)), payload], BAD

    def random_bytes(self) -> Case:
        return [self.rng.randbytes(self.rng.randint(0, 300))], BAD

    def truncated(self) -> Case:
        data = self.pack(self.request(params={"prefix": self.text(40)}))
        return [data[: self.rng.randrange(len(data))]], BAD

    def huge_declared_size(self) -> Case:
        r = self.rng
        big = r.choice((0xFFFFFFFF, 0x7FFFFFFF, 1 << 24, r.randint(300, 1 << 31)))
        header = r.choice((b"\xdb", b"\xc6", b"\xdd", b"\xdf", b"\xc9")) + big.to_bytes(4, "big")
        tail = r.randbytes(r.randint(0, 16))
        if r.random() < 0.5:
            return [header + tail], BAD
        # inside an otherwise good request: the method name claims to be huge
        prefix = self.pack({"v": 1, "id": 1})[1:]  # the two pairs, without the map header
        data = b"\x83" + prefix + self.pack("method") + header + tail
        return [data], BAD

    def ext_type(self) -> Case:
        ext = msgpack.ExtType(self.rng.randint(0, 127), self.rng.randbytes(self.rng.randint(0, 20)))
        return [self.pack(self.misplace(ext))], BAD

    def timestamp(self) -> Case:
        r = self.rng
        if r.random() < 0.3:  # a Timestamp ext (-1) with a length msgpack rejects
            return [b"\xc7" + bytes([r.choice((1, 3, 5, 7))]) + b"\xff" + r.randbytes(8)], BAD
        stamp = msgpack.Timestamp(r.randint(0, 2**32 - 1), r.randint(0, 999_999_999))
        return [self.pack(self.misplace(stamp))], BAD

    def misplace(self, value: Any) -> Any:
        """`value` put where only plain data or a scalar of another type may be."""
        field = self.rng.choice(("v", "id", "method", "params", "cid", "deadline_ms", "top"))
        if field == "top":
            return value
        if field == "params":
            return self.request(params={"prefix": [value]})
        return self.request(**{field: value})

    def wrong_field_type(self) -> Case:
        r = self.rng
        choice = r.randrange(5)
        if choice == 0:
            field, ok_types = r.choice(
                (
                    ("v", (int,)),
                    ("id", (int,)),
                    ("method", (str,)),
                    ("params", (dict, type(None))),
                    ("cid", (str, type(None))),
                    ("deadline_ms", (int, type(None))),
                )
            )
            return [self.pack(self.request(**{field: self.not_of(*ok_types)}))], BAD
        if choice == 1:
            fields = self.request()
            del fields[r.choice(("v", "id", "method"))]
            return [self.pack(fields)], BAD
        if choice == 2:
            return [self.pack(self.request(**{self.text(8) + "_extra": self.scalar()}))], BAD
        if choice == 3:  # not a map at all, or a map with non-string keys
            return [self.pack(r.choice((self.plain(), [1, "health"], {1: 2, "v": 1})))], BAD
        bad = r.choice(({"v": 2}, {"deadline_ms": 0}, {"deadline_ms": -r.randint(1, 10**9)}))
        return [self.pack(self.request(**bad))], BAD

    def unknown_method(self) -> Case:
        while True:
            name = self.text(self.rng.choice((12, 80, 400)))
            if name not in self.methods:
                return [self.pack(self.request(method=name))], UNKNOWN

    def bad_params(self) -> Case:
        method = self.rng.choice(self.methods)
        params = {name: self.not_of(str, int) for name in self.rng.sample(FIELD_NAMES, 2)}
        # An unknown field makes the params wrong for every schema; methods that write or
        # start something always get one, so no draw can ever run them.
        if method not in READ_ONLY or self.rng.random() < 0.5:
            params["__fuzz__"] = self.scalar()
            return [self.pack(self.request(method=method, params=params))], BAD
        return [self.pack(self.request(method=method, params=params))], ANSWERED

    def deep_nesting(self) -> Case:
        r = self.rng
        depth = r.choice((r.randint(33, 200), r.randint(500, 3000), r.randint(10_000, 100_000)))
        opener = r.choice((b"\x91", b"\x81\xa1k"))  # [x] or {"k": x}
        nested = opener * depth + b"\xc0"
        if r.random() < 0.5:
            return [nested], BAD
        head = self.pack({"v": 1, "id": 1, "method": "health"})[1:]
        return [b"\x84" + head + self.pack("params") + b"\x81\xa1x" + nested], BAD

    def bad_encoding(self) -> Case:
        r = self.rng
        bad_utf8 = r.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"))
        head = self.pack({"v": 1, "id": 1})[1:]
        data = b"\x83" + head + self.pack("method") + bytes([0xA0 | len(bad_utf8)]) + bad_utf8
        return [data], BAD

    def valid_call(self) -> Case:
        r = self.rng
        method = r.choice([m for m in READ_ONLY if m in self.methods] or ["health"])
        params = {"prefix": self.text(4)} if method == "snapshot" else {}
        request = self.request(method=method, params=params, deadline_ms=r.choice((None, 30_000)))
        frames = [self.pack(request)]
        if r.random() < 0.3:
            frames.insert(0, b"")  # the REQ-style envelope is allowed too
        return frames, frozenset({"OK"})

    def oversized(self) -> Case:
        size = codec.MAX_REQUEST_BYTES + self.rng.randint(1, 4096)
        if self.rng.random() < 0.5:
            return [self.rng.randbytes(size)], BAD
        return [self.pack(self.request(params={"prefix": "x" * size}))], BAD


# -- the run ----------------------------------------------------------------------------


class Tally:
    """Replies counted and checked in order against what each case may get."""

    def __init__(self) -> None:
        self.sent = 0
        self.replies = 0
        self.codes: collections.Counter[str] = collections.Counter()
        self.unexpected: collections.Counter[str] = collections.Counter()
        self.examples: list[str] = []
        self.written_off = 0
        self.expected: collections.deque[tuple[frozenset[str], bytes]] = collections.deque()

    @property
    def outstanding(self) -> int:
        return self.sent - self.replies - self.written_off

    def reply(self, frames: list[bytes]) -> None:
        self.replies += 1
        allowed, sample = self.expected.popleft() if self.expected else (ANSWERED, b"")
        try:
            reply = codec.decode_reply(frames[-1])
            code = "OK" if reply["ok"] else str(reply["error"].get("code"))
        except BifrostError as exc:
            code = f"UNDECODABLE({exc.message[:40]})"
        self.codes[code] += 1
        if code not in allowed:
            self.unexpected[code] += 1
            if len(self.examples) < 5:
                self.examples.append(f"{code} for {sample[:80]!r} (allowed {sorted(allowed)})")


def drain(sock: zmq.Socket, tally: Tally, wait_ms: int) -> bool:
    """Read every reply waiting, after at most `wait_ms`; False if none came in time."""
    if not sock.poll(wait_ms):
        return False
    while True:
        try:
            tally.reply(sock.recv_multipart(zmq.NOBLOCK))
        except zmq.Again:
            return True


def fuzz(
    ctx: zmq.Context,
    endpoint: str,
    fuzzer: Fuzzer,
    frames: int,
    window: int,
    alive: Callable[[], bool],
) -> Tally:
    """Send `frames` cases, reading replies as they come; wait for the stragglers at the end.

    Stops early when the daemon has exited or stopped answering (STALLS_TO_GIVE_UP waits
    in a row without a reply).
    """
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.connect(endpoint)
    tally = Tally()
    try:
        stalls = 0
        for i in range(frames):
            parts, allowed = fuzzer.case(i)
            sock.send_multipart(parts)
            tally.sent += 1
            tally.expected.append((allowed, parts[-1]))
            drain(sock, tally, 0)
            while tally.outstanding >= window:
                if drain(sock, tally, REPLY_WAIT_MS):
                    stalls = 0
                    continue
                # Lost: stop waiting for them (later checks may then be misaligned).
                tally.written_off += tally.outstanding
                tally.expected.clear()
                stalls += 1
            if stalls >= STALLS_TO_GIVE_UP or not alive():
                break
        while tally.outstanding > 0 and alive() and drain(sock, tally, REPLY_WAIT_MS):
            pass
    finally:
        sock.close(linger=0)
    return tally


def start_daemon(config_path: Path, home: Path, log: Any) -> subprocess.Popen[bytes]:
    """The data daemon in its own process, in the temporary dir, logging to `log`."""
    return subprocess.Popen(
        [sys.executable, "-c", DAEMON_CODE, str(config_path), str(home)],
        cwd=home.parent,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(client: RpcClient, proc: subprocess.Popen[bytes]) -> None:
    """Block until the daemon answers `health`; raise if it exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"data daemon exited with {proc.returncode} before it was ready")
        try:
            client.call("health", timeout_ms=500, idempotent=True)
            return
        except BifrostError:
            continue
    raise RuntimeError(f"data daemon not ready after {READY_TIMEOUT_S:.0f} s")


def method_names(client: RpcClient) -> list[str]:
    """The daemon's methods, as its UNKNOWN_METHOD reply lists them."""
    try:
        client.call("__no_such_method__", idempotent=True)
    except UnknownMethod as exc:
        return list(exc.details.get("methods", [])) or list(READ_ONLY)
    return list(READ_ONLY)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (None where /proc has no answer)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def stop_daemon(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM, then SIGKILL if it lingers; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def check_after(client: RpcClient, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    """Is the daemon alive and healthy, and what does its `metrics` say."""
    out: dict[str, Any] = {"alive": proc.poll() is None, "healthy": False}
    if not out["alive"]:
        return out
    try:
        health = client.call("health", timeout_ms=10_000, idempotent=True)
        out["healthy"] = health.get("state") == "ready"
        started = time.monotonic()
        totals = client.call("metrics", timeout_ms=METRICS_TIMEOUT_MS, idempotent=True)
        out["metrics_call_ms"] = round((time.monotonic() - started) * 1000, 1)
        out["bad_frames"] = sum(v for k, v in totals.items() if k.startswith("bifrost_bad_frames"))
        out["handler_errors"] = sum(
            v for k, v in totals.items() if k.startswith("bifrost_handler_errors")
        )
    except BifrostError as exc:
        out["error"] = f"{exc.code.value}: {exc.message}"
    return out


def report(fig: dict[str, Any]) -> None:
    """A plain table on stdout."""
    rows = [
        ("frames sent", f"{fig['frames_sent']:,}"),
        ("replies received", f"{fig['replies']:,}"),
        ("replies missing", f"{fig['missing']:,}"),
        ("unexpected replies", f"{fig['unexpected']:,}"),
        ("crashes", str(fig["crashes"])),
        ("frames/s", f"{fig['frames_per_s']:,.0f}"),
        ("daemon bifrost_bad_frames", f"{fig.get('bad_frames', 'n/a')}"),
        ("daemon handler errors", f"{fig.get('handler_errors', 'n/a')}"),
        ("daemon RSS MB before/after", f"{fig.get('rss_mb_before')} / {fig.get('rss_mb_after')}"),
        ("`metrics` call after, ms", f"{fig.get('metrics_call_ms', 'n/a')}"),
        ("reply codes", ", ".join(f"{k} {v:,}" for k, v in sorted(fig["codes"].items()))),
    ]
    for name, value in rows:
        print(f"{name:28} {value}")
    for example in fig["unexpected_examples"]:
        print(f"  unexpected: {example}")


def main(argv: list[str] | None = None) -> int:
    """Start the daemon, fuzz it, check it survived, print the figures; exit 1 on a crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="messages to send")
    parser.add_argument("--seed", type=int, default=1, help="RNG seed (runs are repeatable)")
    parser.add_argument("--window", type=int, default=256, help="most replies outstanding")
    parser.add_argument(
        "--strict", action="store_true", help="also exit 1 on missing or unexpected replies"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bifrost-fuzz-") as tmp:
        config_path = write_config(Path(tmp))
        home = Path(tmp) / "home"
        home.mkdir()
        log_path = Path(tmp) / "daemon.log"
        endpoint = load_config(config_path).service("data").rpc
        ctx = zmq.Context()
        client = RpcClient(ctx, endpoint, name="data", timeout_ms=3000)
        with log_path.open("wb") as log:
            proc = start_daemon(config_path, home, log)
            try:
                wait_ready(client, proc)
                fuzzer = Fuzzer(random.Random(args.seed), method_names(client))
                started = time.monotonic()
                rss_before = rss_mb(proc.pid)
                tally = fuzz(
                    ctx,
                    endpoint,
                    fuzzer,
                    args.frames,
                    args.window,
                    alive=lambda: proc.poll() is None,
                )
                seconds = time.monotonic() - started
                after = check_after(client, proc)
                after["rss_mb_before"] = rss_before
                after["rss_mb_after"] = rss_mb(proc.pid) if after["alive"] else None
            finally:
                exit_code = stop_daemon(proc)
                client.close()
                ctx.destroy(linger=0)
        crashed = not (after["alive"] and after["healthy"])
        if crashed or after.get("error"):
            tail = log_path.read_text(errors="replace").splitlines()[-20:] or ["(empty)"]
            print("daemon log (last lines):", *tail, sep="\n  ", file=sys.stderr)
    fig = {
        "frames_sent": tally.sent,
        "replies": tally.replies,
        "missing": max(0, tally.sent - tally.replies),
        "unexpected": sum(tally.unexpected.values()),
        "unexpected_examples": tally.examples,
        "codes": dict(tally.codes),
        "written_off": tally.written_off,
        "crashes": int(crashed),
        "seconds": round(seconds, 2),
        "frames_per_s": tally.sent / seconds,
        "seed": args.seed,
        "daemon_exit_code": exit_code,
        **{k: v for k, v in after.items() if k not in ("alive", "healthy")},
        "alive": after["alive"],
        "healthy": after["healthy"],
    }
    report(fig)
    print(json.dumps(fig, sort_keys=True))
    if crashed:
        return 1
    return 1 if args.strict and (fig["missing"] or fig["unexpected"]) else 0


if __name__ == "__main__":
    sys.exit(main())
