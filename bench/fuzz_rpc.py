"""Fuzz a daemon's RPC socket with garbage, with CURVE off or on; it must answer and stay up.

Starts a real daemon (`daemons.build_daemon(NAME, ...)`) as a subprocess on free
loopback ports from a temporary config and home with that one service, then sends
`--frames` messages from a DEALER socket: wrong frame counts, random bytes, truncated
msgpack, huge declared lengths, ext types, msgpack Timestamps, wrongly typed request
fields, unknown methods, known methods with bad params, deeply nested arrays and maps,
oversized frames, and a few well-formed read-only calls in between. Replies are read
while sending (at most `--window` outstanding) and checked in order against the
codes each case may get; an INTERNAL reply to garbage counts as unexpected.

With `--curve` the service's host (127.0.0.2) is marked `secure = true`: a host key and
an admin client key are generated in the temporary home, and the fuzz DEALER is a
CURVE client holding the admin key, so the garbage reaches the RPC layer through the
encrypted channel. Then `bench/handshakes.py` sends raw TCP garbage and NULL greetings
to the RPC and PUB ports and opens CURVE clients with unknown keys and with a wrong
server key, while the admin client must keep getting answers; the daemon's
`bifrost_bad_frames{reason="unauthenticated"}` must count the refusals.

At the end the daemon must still be running and answer `health` through
`RpcClient`; its `bifrost_bad_frames` count comes from the `metrics` RPC. Prints a
table per run and one JSON line (with several runs, a summary table first); exits 1
if a daemon crashed (or, with `--strict`, if a reply was missing or unexpected, the
admin client went unanswered or a bad client got through). Every daemon is
terminated. A daemon that cannot start on its own is skipped with its reason.

    .venv/bin/python bench/fuzz_rpc.py                  # data, 100,000 frames
    .venv/bin/python bench/fuzz_rpc.py --frames 5000 --seed 3
    .venv/bin/python bench/fuzz_rpc.py --service risk --curve
    .venv/bin/python bench/fuzz_rpc.py --all --both     # every daemon, CURVE off then on
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.handshakes import AdminProbe, attack  # noqa: E402
from bifrost.bus import codec, methods  # noqa: E402
from bifrost.bus.curve import ClientCurve  # noqa: E402
from bifrost.bus.keys import KeyStore, host_key_name  # noqa: E402
from bifrost.bus.rpc import RpcClient  # noqa: E402
from bifrost.config import BifrostConfig, load_config  # noqa: E402
from bifrost.errors import BifrostError, UnknownMethod  # noqa: E402
from bifrost.local_config import write_local_config  # noqa: E402
from daemons import DAEMONS  # noqa: E402

DAEMON_CODE = (
    "import sys\n"
    "from pathlib import Path\n"
    "from bifrost.config import load_config\n"
    "from daemons import build_daemon\n"
    "sys.exit(build_daemon(sys.argv[3], load_config(sys.argv[1]), Path(sys.argv[2])).run())\n"
)
SECURE_ADDRESS = "127.0.0.2"
"""The loopback address of the host marked `secure = true` in a CURVE run."""
READY_TIMEOUT_S = 60.0
REPLY_WAIT_MS = 5000
"""How long a full window waits for a reply before writing the outstanding ones off."""
STALLS_TO_GIVE_UP = 3
METRICS_TIMEOUT_MS = 60_000
READ_ONLY = (
    methods.HEALTH,
    methods.READY,
    methods.CONFIG,
    methods.SNAPSHOT,
    methods.JOBS_LIST,
    methods.DATA_LIST,
    methods.INSTRUMENTS_LIST,
)
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


def write_config(directory: Path, service: str, secure: bool) -> Path:
    """`service` alone on free loopback ports with the small test feed; `secure` needs CURVE."""
    if not secure:
        return write_local_config(directory, (service,))
    return write_local_config(directory, (service,), address=SECURE_ADDRESS, secure=True)


def make_keys(config: BifrostConfig, home: Path) -> ClientCurve:
    """The host key pair and an admin client key in the daemon's key store; the admin's curve."""
    store = KeyStore(config.keys_dir(home))
    host = store.generate(host_key_name(config.site.host), "admin")
    admin = store.generate("admin", "admin")
    return ClientCurve(host.public, admin.public, admin.secret)


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
        head = self.pack({"v": 1, "id": 1, "method": methods.HEALTH})[1:]
        return [b"\x84" + head + self.pack("params") + b"\x81\xa1x" + nested], BAD

    def bad_encoding(self) -> Case:
        r = self.rng
        bad_utf8 = r.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"))
        head = self.pack({"v": 1, "id": 1})[1:]
        data = b"\x83" + head + self.pack("method") + bytes([0xA0 | len(bad_utf8)]) + bad_utf8
        return [data], BAD

    def valid_call(self) -> Case:
        r = self.rng
        method = r.choice([m for m in READ_ONLY if m in self.methods] or [methods.HEALTH])
        params = {"prefix": self.text(4)} if method == methods.SNAPSHOT else {}
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
    curve: ClientCurve | None = None,
) -> Tally:
    """Send `frames` cases, reading replies as they come; wait for the stragglers at the end.

    Stops early when the daemon has exited or stopped answering (STALLS_TO_GIVE_UP waits
    in a row without a reply). With `curve` the DEALER is a CURVE client of that key.
    """
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    sock.setsockopt(zmq.SNDHWM, 0)
    if curve is not None:
        curve.apply(sock)
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


def start_daemon(service: str, config_path: Path, home: Path, log: Any) -> subprocess.Popen[bytes]:
    """The daemon of `service` in its own process, in the temporary dir, logging to `log`."""
    return subprocess.Popen(
        [sys.executable, "-c", DAEMON_CODE, str(config_path), str(home), service],
        cwd=home.parent,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class NotStarted(Exception):
    """The daemon exited, or never answered, before it was ready: the run is skipped."""


def wait_ready(service: str, client: RpcClient, proc: subprocess.Popen[bytes]) -> None:
    """Block until the daemon answers `health`; NotStarted if it exits or takes too long."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise NotStarted(f"{service} daemon exited with {proc.returncode} before it was ready")
        try:
            client.call(methods.HEALTH, timeout_ms=500, idempotent=True)
            return
        except BifrostError:
            continue
    raise NotStarted(f"{service} daemon not ready after {READY_TIMEOUT_S:.0f} s")


def method_names(client: RpcClient) -> list[str]:
    """The daemon's methods, as its UNKNOWN_METHOD reply lists them (READ_ONLY without one:
    a daemon that went down meanwhile is then found out by the run)."""
    try:
        client.call("__no_such_method__", idempotent=True)
    except UnknownMethod as exc:
        return list(exc.details.get("methods", [])) or list(READ_ONLY)
    except BifrostError:
        pass
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
        health = client.call(methods.HEALTH, timeout_ms=10_000, idempotent=True)
        out["healthy"] = health.get("state") == "ready"
        started = time.monotonic()
        totals = client.call(methods.METRICS, timeout_ms=METRICS_TIMEOUT_MS, idempotent=True)
        out["metrics_call_ms"] = round((time.monotonic() - started) * 1000, 1)
        out["bad_frames"] = sum(v for k, v in totals.items() if k.startswith("bifrost_bad_frames"))
        out["handler_errors"] = sum(
            v for k, v in totals.items() if k.startswith("bifrost_handler_errors")
        )
    except BifrostError as exc:
        out["error"] = f"{exc.code.value}: {exc.message}"
    return out


def log_tail(path: Path, lines: int = 20) -> list[str]:
    """The last lines of the daemon's output."""
    return path.read_text(errors="replace").splitlines()[-lines:] or ["(empty)"]


def run_one(service: str, secure: bool, args: argparse.Namespace) -> dict[str, Any]:
    """Start `service` alone (CURVE on when `secure`), fuzz it, attack its handshakes
    (CURVE only), check it survived; the figures of the run, or NotStarted."""
    with tempfile.TemporaryDirectory(prefix=f"bifrost-fuzz-{service}-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        try:
            config_path = write_config(Path(tmp), service, secure)
            config = load_config(config_path)
            curve = make_keys(config, home) if secure else None
        except BifrostError as exc:
            raise NotStarted(f"no standalone config for {service}: {exc.message}") from None
        log_path = Path(tmp) / "daemon.log"
        spec = config.service(service)
        ctx = zmq.Context()
        client = RpcClient(ctx, spec.rpc, name=service, timeout_ms=3000, curve=curve)
        handshakes: list[dict[str, Any]] = []
        attack_error = None
        with log_path.open("wb") as log:
            proc = start_daemon(service, config_path, home, log)
            try:
                try:
                    wait_ready(service, client, proc)
                except NotStarted as exc:
                    raise NotStarted(f"{exc}: {log_tail(log_path, 1)[0][:200]}") from None
                fuzzer = Fuzzer(random.Random(args.seed), method_names(client))
                started = time.monotonic()
                rss_before = rss_mb(proc.pid)
                tally = fuzz(
                    ctx,
                    spec.rpc,
                    fuzzer,
                    args.frames,
                    args.window,
                    alive=lambda: proc.poll() is None,
                    curve=curve,
                )
                seconds = time.monotonic() - started
                if curve is not None and proc.poll() is None:
                    try:
                        handshakes = attack(
                            random.Random(args.seed),
                            address=spec.address,
                            ports=(spec.rpc_port, spec.pub_port),
                            endpoints=(spec.rpc, spec.pub),
                            http_url=spec.http,
                            server_public=curve.server_public,
                            admin=curve,
                            raw_connections=args.raw_connections,
                            bad_clients=args.bad_clients,
                            probe=AdminProbe(client),
                        )
                    except (OSError, zmq.ZMQError) as exc:  # the daemon is gone: check_after
                        attack_error = f"{type(exc).__name__}: {exc}"
                after = check_after(client, proc)
                after["rss_mb_before"] = rss_before
                after["rss_mb_after"] = rss_mb(proc.pid) if after["alive"] else None
            finally:
                exit_code = stop_daemon(proc)
                client.close()
                ctx.destroy(linger=0)
        crashed = not (after["alive"] and after["healthy"])
        if crashed or after.get("error"):
            print("daemon log (last lines):", *log_tail(log_path), sep="\n  ", file=sys.stderr)
    return {
        "service": service,
        "curve": secure,
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
        **({"handshakes": handshakes, "attack_error": attack_error} if secure else {}),
    }


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
    if fig.get("handshakes"):
        report_handshakes(fig["handshakes"])
    if fig.get("attack_error"):
        print(f"handshake attacks aborted: {fig['attack_error']}")


def report_handshakes(phases: list[dict[str, Any]]) -> None:
    """The handshake attacks of a CURVE run, one row per kind."""
    print(
        f"{'handshake attack':30} {'attempts':>8} {'refused':>8} {'counted':>8} "
        f"{'admin answered':>15} {'admin worst ms':>15}"
    )
    for p in phases:
        answered = f"{p['admin_answered']}/{p['admin_calls']}"
        print(
            f"{p['kind']:30} {p['attempts']:>8,} {p['refused']:>8,} {p['counted']:>8,} "
            f"{answered:>15} {p['admin_worst_ms']:>15}"
        )


def summary_row(fig: dict[str, Any]) -> dict[str, Any]:
    """One line of the summary table."""
    phases = fig.get("handshakes", [])
    return {
        "service": fig["service"],
        "curve": "on" if fig["curve"] else "off",
        "frames": fig["frames_sent"],
        "crashes": fig["crashes"],
        "frames_per_s": round(fig["frames_per_s"]),
        "bad_frames": fig.get("bad_frames"),
        "refused_counted": (
            f"{sum(p['counted'] for p in phases)}/{sum(p['attempts'] for p in phases)}"
            if phases
            else "-"
        ),
        "admin_answered": (
            f"{sum(p['admin_answered'] for p in phases)}/{sum(p['admin_calls'] for p in phases)}"
            if phases
            else "-"
        ),
    }


def report_summary(runs: list[dict[str, Any]], skipped: list[dict[str, str]]) -> None:
    """Every run in one table, then the skipped daemons with their reasons."""
    print("\n== summary ==")
    print(
        f"{'service':16} {'curve':5} {'frames':>9} {'crashes':>7} {'frames/s':>9} "
        f"{'bad frames':>10} {'refusals counted':>17} {'admin answered':>14}"
    )
    for row in map(summary_row, runs):
        bad = "n/a" if row["bad_frames"] is None else f"{row['bad_frames']:,.0f}"
        print(
            f"{row['service']:16} {row['curve']:5} {row['frames']:>9,} {row['crashes']:>7} "
            f"{row['frames_per_s']:>9,} {bad:>10} {row['refused_counted']:>17} "
            f"{row['admin_answered']:>14}"
        )
    for skip in skipped:
        print(f"skipped {skip['service']} (curve {skip['curve']}): {skip['reason']}")


def failed_strictly(fig: dict[str, Any]) -> bool:
    """A missing or unexpected reply, aborted attacks, an unanswered admin call, a bad client
    let in."""
    phases = fig.get("handshakes", [])
    return bool(
        fig.get("attack_error")
        or fig["missing"]
        or fig["unexpected"]
        or any(p["admin_answered"] < p["admin_calls"] for p in phases)
        or any(p["refused"] < p["attempts"] for p in phases)
    )


def main(argv: list[str] | None = None) -> int:
    """Start each daemon, fuzz it, check it survived, print the figures; exit 1 on a crash."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000, help="messages to send per run")
    parser.add_argument("--seed", type=int, default=1, help="RNG seed (runs are repeatable)")
    parser.add_argument("--window", type=int, default=256, help="most replies outstanding")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also exit 1 on missing or unexpected replies, or (CURVE) an unanswered admin "
        "call or a bad client let in",
    )
    parser.add_argument(
        "--service", default="data", choices=sorted(DAEMONS), help="the daemon to fuzz"
    )
    parser.add_argument(
        "--all", action="store_true", help="every daemon of this build, one after another"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--curve", action="store_true", help="the service's host needs CURVE")
    mode.add_argument("--both", action="store_true", help="each service with CURVE off, then on")
    parser.add_argument(
        "--raw-connections",
        type=int,
        default=1000,
        help="raw TCP garbage connections per CURVE run",
    )
    parser.add_argument(
        "--bad-clients",
        type=int,
        default=200,
        help="CURVE clients with an unknown key, and as many with a wrong server key, per run",
    )
    args = parser.parse_args(argv)
    services = list(DAEMONS) if args.all else [args.service]
    modes = [False, True] if args.both else [args.curve]
    runs: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    several = len(services) * len(modes) > 1
    for service in services:
        for secure in modes:
            curve = "on" if secure else "off"
            label = f"{service}, curve {curve}"
            try:
                fig = run_one(service, secure, args)
            except NotStarted as exc:
                print(f"skipped {label}: {exc}", file=sys.stderr)
                skipped.append({"service": service, "curve": curve, "reason": str(exc)})
                continue
            if several:
                print(f"\n== {label} ==")
            report(fig)
            runs.append(fig)
    if several:
        report_summary(runs, skipped)
        crashes = sum(fig["crashes"] for fig in runs)
        print(
            json.dumps(
                {
                    "runs": runs,
                    "summary": [summary_row(fig) for fig in runs],
                    "skipped": skipped,
                    "crashes": crashes,
                },
                sort_keys=True,
            )
        )
    elif runs:
        print(json.dumps(runs[0], sort_keys=True))
    else:
        print(json.dumps({"skipped": skipped, "crashes": 0}, sort_keys=True))
    if any(fig["crashes"] for fig in runs):
        return 1
    return 1 if args.strict and any(map(failed_strictly, runs)) else 0


if __name__ == "__main__":
    sys.exit(main())
