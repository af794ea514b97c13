"""The one life cycle every Bifrost daemon shares.

`start()` binds the RPC (ROUTER), event (PUB) and HTTP ports, registers the
built-in methods (`health`, `ready`, `metrics`, `config`, `snapshot`, `jobs.list`,
`jobs.run`), lets the subclass register its own, starts the scheduled jobs and
reports ready (also to systemd). `serve_forever()` runs one thread that owns every
socket: it answers requests, fires timers and runs jobs handed over by the
scheduler. SIGTERM makes it stop taking requests, finish what it read, flush,
checkpoint and exit 0. Subclasses only register handlers, timers and tasks.

A daemon that owns a DuckDB file declares it once (`store_file`, `store_schema`); the
base opens it as `self.db` before `setup()` and checkpoints and closes it last when
stopping, also when `setup()` failed.

With `[telemetry] otlp_endpoint` set, the daemon traces: every call it serves or makes
is an OpenTelemetry span (bifrost.telemetry), sent to the collector and flushed when it
stops. Without it, OpenTelemetry is not even imported.

On a host that needs CURVE the daemon refuses to start without its host key pair
and a non-empty allow-list; with them, its ROUTER and PUB sockets are CURVE servers,
a ZAP handler admits only allow-listed keys, and each request runs with the role of
the key that made it. Refusals are logged (`auth.refused`, once per peer and reason a
minute) and counted. The allow-list is re-read when its file changes and on SIGHUP.
"""

from __future__ import annotations

import functools
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb
import zmq

from bifrost import __version__
from bifrost.bus import methods, topics
from bifrost.bus.allow_list import CHECK_EVERY_S, AllowList
from bifrost.bus.curve import RefusalLog, ServerCurve, ZapHandler
from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.bus.pending_calls import PendingCalls
from bifrost.bus.pubsub import Event, Publisher, Subscriber
from bifrost.bus.rpc import CallContext, Method, RpcServer
from bifrost.bus.schema import Optional, Schema
from bifrost.bus.service_auth import ServiceCallers
from bifrost.client import BifrostClient
from bifrost.clock import Clock, LiveClock
from bifrost.config import BifrostConfig, ConfigError
from bifrost.errors import BifrostError, NotFound, Unavailable
from bifrost.logs import JsonLogger
from bifrost.metrics import ServiceMetrics
from bifrost.scheduler import JobRunner
from bifrost.sdnotify import Notifier
from bifrost.status_http import StatusHttpServer
from bifrost.store.database import open_store
from bifrost.store.schema import Migrations
from bifrost.telemetry import start_tracing

if TYPE_CHECKING:
    from bifrost.telemetry.spans import Tracing

LOOP_TICK_S = 0.05
"""Longest the loop sleeps, so stop requests and handed-over work are seen quickly."""


class Timer:
    """A callback the loop runs every `interval` seconds."""

    __slots__ = ("callback", "due", "interval")

    def __init__(self, interval: float, callback: Callable[[], Any]) -> None:
        self.interval = interval
        self.callback = callback
        self.due = time.monotonic() + interval


class Daemon:
    """Base of every service daemon; subclasses override `setup`, `on_stop`, `details`."""

    store_file: ClassVar[str | None] = None
    """The DuckDB file this service owns, in the data dir (None: it owns none)."""
    store_schema: ClassVar[Migrations | None] = None
    """The migrations of `store_file` (from bifrost.store.schema)."""

    def __init__(
        self,
        config: BifrostConfig,
        name: str,
        home: Path,
        clock: Clock | None = None,
        log: JsonLogger | None = None,
    ) -> None:
        self.config = config
        self.spec = config.service(name)
        self.name = name
        self.home = home
        self.clock = clock or LiveClock()
        self.src = f"{name}@{self.spec.host}"
        self.log = log or JsonLogger(name, self.spec.host, config.site.log_level)
        self.metrics = ServiceMetrics(name)
        self.state = "starting"
        self.started_ns = 0
        self._db: duckdb.DuckDBPyConnection | None = None
        self._set_up = False
        """True once `setup()` returned: `details()` and `on_stop()` may use what it made."""
        self.tasks: dict[str, Callable[[], Any]] = {}
        self._timers: list[Timer] = []
        self._handed_over: queue.SimpleQueue[Callable[[], Any]] = queue.SimpleQueue()
        self._stop_requested = threading.Event()
        self._stopped = False
        self._notifier = Notifier()
        self._ctx: zmq.Context | None = None
        self.rpc: RpcServer | None = None
        self.publisher: Publisher | None = None
        self._http: StatusHttpServer | None = None
        self._jobs: JobRunner | None = None
        self._bus: BifrostClient | None = None
        self._zap: ZapHandler | None = None
        self._allow_list: AllowList | None = None
        self._subscriptions: list[tuple[Subscriber, Callable[[Event], Any]]] = []
        self._watched: list[tuple[zmq.Socket, Callable[[], Any]]] = []
        self._after_turn: list[Callable[[], Any]] = []
        self._pending_calls: list[PendingCalls] = []
        self.server_curve: ServerCurve | None = None
        """This host's CURVE server keys when it needs them (for more server sockets)."""
        self.client_roles: dict[str, str] | None = None
        """Allow-listed client name -> role when the host needs CURVE."""
        self.service_token: bytes | None = None
        """Set by a daemon whose calls others accept only from it (risk, see
        bifrost.bus.service_auth): its clients then sign every request with it."""
        self.tracing: Tracing | None = None
        """This daemon's tracer once started, when [telemetry] names a collector."""

    # -- for subclasses ---------------------------------------------------------------

    def setup(self) -> None:
        """Register methods, timers and tasks; sockets are bound and the store is open."""

    def on_stop(self) -> None:
        """Flush what the service keeps of its own; runs once while stopping, after a
        completed `setup()` and before the base checkpoints and closes the store."""

    def details(self) -> dict[str, Any]:
        """Service-specific facts added to `health` (asked only after `setup()`)."""
        return {}

    @property
    def db(self) -> duckdb.DuckDBPyConnection:
        """The service's own store, open from just before `setup()` until stopped."""
        if self._db is None:
            raise NotFound(f"{self.name} owns no store")
        return self._db

    def add_method(self, method: Method) -> None:
        """Serve one more RPC method."""
        assert self.rpc is not None, "add methods in setup()"
        self.rpc.add(method)

    def every(self, seconds: float, callback: Callable[[], Any]) -> None:
        """Run `callback` on the loop thread every `seconds`."""
        self._timers.append(Timer(seconds, callback))

    def subscribe(self, service: str, prefixes: list[str], handler: Callable[[Event], Any]) -> None:
        """Follow another service's events (gaps healed); `handler` runs on the loop thread.

        A service that is not part of this deployment's config is not followed.
        """
        if service not in self.config.services:
            self.log.info("daemon.not_following", service=service)
            return
        subscriber = self.bus.subscribe(service, prefixes)
        self._subscriptions.append((subscriber, handler))

    @property
    def bus(self) -> BifrostClient:
        """This daemon's client of the other services (use it on the loop thread only)."""
        if self._bus is None:
            self._bus = self.new_client()
        return self._bus

    def new_client(self, timeout_ms: int = 3000) -> BifrostClient:
        """A client of the other services that presents this host's key (one per thread)."""
        return BifrostClient(
            self.config,
            timeout_ms=timeout_ms,
            identity=host_key_name(self.spec.host),
            keys_dir=self.config.keys_dir(self.home),
            service_token=self.service_token,
            tracing=self.tracing,
        )

    @property
    def context(self) -> zmq.Context:
        """The ZeroMQ context of this daemon's sockets; its ZAP handler vets their CURVE peers."""
        assert self._ctx is not None, "the context exists once start() runs"
        return self._ctx

    def watch(self, socket: zmq.Socket, on_readable: Callable[[], Any]) -> None:
        """Poll one more socket on the loop; `on_readable` runs there when it has input."""
        self._watched.append((socket, on_readable))

    def calls_to(self, service: str) -> PendingCalls:
        """A connection to `service` for calls that do not block the loop: their replies
        run callbacks on the loop thread, and their deadlines are kept by a timer."""
        calls = PendingCalls(
            self.context,
            self.config.service(service).rpc,
            name=service,
            curve=self.bus.curve_for(service),
            service_token=self.service_token,
            tracing=self.tracing,
        )
        self._pending_calls.append(calls)
        self.watch(calls.socket, calls.on_readable)
        if len(self._pending_calls) == 1:
            self.every(LOOP_TICK_S, self._expire_calls)
        return calls

    def _expire_calls(self) -> None:
        for calls in self._pending_calls:
            calls.expire()

    def after_each_turn(self, callback: Callable[[], Any]) -> None:
        """Run `callback` at the end of every turn of the loop (after the requests, events,
        timers and handed-over work the turn ran): where a group commit goes."""
        self._after_turn.append(callback)

    def hand_over(self, callback: Callable[[], Any]) -> None:
        """Run `callback` on the loop thread soon; safe to call from any thread."""
        self._handed_over.put(callback)

    # -- life cycle ---------------------------------------------------------------------

    def run(self) -> int:
        """Start, serve until SIGTERM/SIGINT, stop; returns the exit code (0)."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: self.request_stop())
        try:
            self.start()
            if self._allow_list is not None and hasattr(signal, "SIGHUP"):
                reload = functools.partial(self.hand_over, self._allow_list.reload)
                signal.signal(signal.SIGHUP, lambda *_: reload())  # SimpleQueue.put is reentrant
            self.serve_forever()
        finally:
            self.stop()
        return 0

    def start(self) -> None:
        """Bind, register, schedule and report ready."""
        self.started_ns = self.clock.now_ns()
        self._ctx = zmq.Context()
        self.tracing = start_tracing(self.config.telemetry, self.name, self.log)
        self.server_curve, self.client_roles = self._security()
        self._bind(self.server_curve, self.client_roles)
        rpc, publisher, http = self.rpc, self.publisher, self._http
        assert rpc is not None and publisher is not None and http is not None
        self.metrics.count_live(
            "bifrost_messages_in", "RPC frames read", lambda: rpc.received, socket="rpc"
        )
        self.metrics.count_live(
            "bifrost_messages_out", "Events published", lambda: publisher.sent, socket="pub"
        )
        self.metrics.queue_depth.labels("handed_over").set_function(self._handed_over.qsize)
        if self._allow_list is not None:
            self.every(CHECK_EVERY_S, self._allow_list.check)
        self._register_builtins()
        self._open_store()
        self.setup()
        self._set_up = True
        self._jobs = JobRunner(self.config.jobs_of(self.name), self.tasks, self.hand_over)
        http.start()
        self._jobs.start()
        self._set_state("ready")
        self._notifier.notify("READY=1", f"STATUS={self.name} ready on {self.spec.rpc}")
        self.log.info("daemon.ready", rpc=self.spec.rpc, pub=self.spec.pub, http=self.spec.http)

    def serve_forever(self) -> None:
        """The loop: requests, timers and handed-over work, until a stop is requested."""
        assert self.rpc is not None
        poller = zmq.Poller()
        poller.register(self.rpc.socket, zmq.POLLIN)
        for subscriber, _ in self._subscriptions:
            poller.register(subscriber.socket, zmq.POLLIN)
        for socket, _ in self._watched:
            poller.register(socket, zmq.POLLIN)
        ping_every = self._notifier.watchdog_interval()
        next_ping = time.monotonic()
        while not self._stop_requested.is_set():
            now = time.monotonic()
            wait = min([LOOP_TICK_S, *(max(0.0, t.due - now) for t in self._timers)])
            ready = dict(poller.poll(int(wait * 1000)))
            if ready:
                # Replies to this daemon's own calls first (their callers are waiting),
                # then events, then requests: a request of this turn is answered on the
                # freshest state (an order checked against fills that already arrived).
                # Only the sockets the poll found readable are read; the rest wait for
                # the next turn.
                for socket, on_readable in self._watched:
                    if socket in ready:
                        self._guarded(on_readable, "socket.failed")
                self._deliver_events(ready)
                if self.rpc.socket in ready:
                    self.rpc.serve_pending(readable=True)
                self._end_turn()  # before timers: held replies do not wait on them
            self._run_due_timers()
            self._run_handed_over()
            self._end_turn()
            if ping_every is not None and time.monotonic() >= next_ping:
                self._notifier.notify("WATCHDOG=1")
                next_ping = time.monotonic() + ping_every

    def request_stop(self) -> None:
        """Ask the loop to stop; safe from signal handlers and other threads."""
        self._stop_requested.set()

    def stop(self) -> None:
        """Drain, flush, checkpoint and release every resource; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self._set_state("draining")
        self._notifier.notify("STOPPING=1", f"STATUS={self.name} stopping")
        if self._jobs is not None:
            self._jobs.stop()
        if self.rpc is not None:
            self.rpc.serve_pending()  # answer what was already read off the wire
            self._end_turn()
            for calls in self._pending_calls:  # their callers are told, not left waiting
                calls.close()
            self.rpc.close()
        if self._zap is not None:
            self._zap.close()
        self._run_handed_over()
        try:
            if self._set_up:
                self.on_stop()
        finally:
            self._close_store()
            if self.publisher is not None:
                self.publisher.close()
            if self._http is not None:
                self._http.close()
            for subscriber, _ in self._subscriptions:
                subscriber.close()
            if self._bus is not None:
                self._bus.close()
            if self._ctx is not None:
                self._ctx.destroy(linger=0)
            self._notifier.close()
            if self.tracing is not None and not self.tracing.close():
                self.log.warning("telemetry.unsent", endpoint=self.config.telemetry.otlp_endpoint)
            self._set_state("stopped")
            self.log.info("daemon.stopped")

    # -- built-in methods -------------------------------------------------------------

    def health(self, params: dict[str, Any] | None = None, ctx: CallContext | None = None) -> dict:
        """`health`: who and where this daemon is, its state and uptime."""
        uptime = (self.clock.now_ns() - self.started_ns) / 1e9 if self.started_ns else 0.0
        return {
            "service": self.name,
            "host": self.spec.host,
            "src": self.src,
            "state": self.state,
            "pid": os.getpid(),
            "version": __version__,
            "started_ns": self.started_ns,
            "uptime_s": round(uptime, 3),
            "rpc": self.spec.rpc,
            "pub": self.spec.pub,
            "http": self.spec.http,
            "details": self.details() if self._set_up else {},
        }

    def _register_builtins(self) -> None:
        prefix = Schema("snapshot params", {"prefix": Optional(str)})
        job_name = Schema("jobs.run params", {"name": str})
        cid = Schema("logs.trace params", {"cid": str})
        for method in (
            Method(methods.HEALTH, self.health),
            Method(methods.READY, lambda p, c: {"ready": self.state == "ready"}),
            Method(methods.METRICS, lambda p, c: self.metrics.totals()),
            Method(methods.CONFIG, lambda p, c: self.config.to_dict()),
            Method(methods.SNAPSHOT, self._snapshot, prefix),
            Method(methods.JOBS_LIST, lambda p, c: self._jobs.describe() if self._jobs else []),
            Method(methods.JOBS_RUN, self._run_job_now, job_name, idempotent=False, role="admin"),
            Method(methods.LOGS_TRACE, lambda p, c: {"records": self.log.with_cid(p["cid"])}, cid),
            Method(methods.SQL_TABLES, self._sql_tables),
            Method(
                methods.SQL_EXPORT, self._sql_export, Schema("sql.export params", {"table": str})
            ),
            Method(
                methods.ALERT_RAISE,
                self._raise_alert,
                Schema("alert.raise params", {"source": str, "message": str}),
                idempotent=False,
                role="admin",
            ),
        ):
            self.add_method(method)

    def _raise_alert(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`alert.raise`: an operator's alert (a unit that gave up restarting, say),
        published on this service's alert topic and logged."""
        assert self.publisher is not None
        source, message = params["source"][:64], params["message"][:500]
        body = {"kind": "ops", "source": source, "message": f"{source}: {message}"}
        self.publisher.publish(topics.alert(self.name), "ops", body, ctx.cid)
        self.log.warning("alert.raised", ctx.cid, source=source, message=message)
        return {"published": topics.alert(self.name)}

    def _snapshot(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        assert self.publisher is not None
        return self.publisher.snapshot(params.get("prefix") or "")

    def _store_cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the service's declared store; a cursor of its own, as a worker
        may be using `self.db`."""
        return self.db.cursor()

    def _sql_tables(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`sql.tables`: the store's tables, columns and row counts (for the SQL console)."""
        from bifrost.store.export import list_tables

        with self._store_cursor() as cursor:
            return {"service": self.name, "tables": list_tables(cursor)}

    def _sql_export(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`sql.export`: one whole table as Arrow IPC, read-only (for the SQL console)."""
        from bifrost.bus.arrow import frame_to_bulk
        from bifrost.store.export import export_table

        with self._store_cursor() as cursor:
            frame = export_table(cursor, params["table"])
        return {"table": params["table"], "rows": frame.height, "arrow": frame_to_bulk(frame)}

    def _run_job_now(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["name"]
        job = self.config.jobs.get(name)
        if job is None or job.service != self.name:
            raise NotFound(f"{self.name} has no job '{name}'")
        result = self.tasks[job.task]()
        self.log.info("job.ran", ctx.cid, job=name, by="request")
        return {"job": name, "result": result}

    # -- internals ----------------------------------------------------------------------

    def _open_store(self) -> None:
        """Open (create, migrate) the declared store as `self.db`; nothing without one."""
        if self.store_file is None:
            return
        assert self.store_schema is not None, f"{self.name} declares a store without a schema"
        self._db = open_store(self.home / self.store_file, migrations=self.store_schema)

    def _close_store(self) -> None:
        """Checkpoint and close the store; it is closed even when the checkpoint fails."""
        store, self._db = self._db, None
        if store is None:
            return
        try:
            store.execute("CHECKPOINT")
        finally:
            store.close()

    def _security(self) -> tuple[ServerCurve | None, dict[str, str] | None]:
        """The server keys and client roles this host needs; (None, None) on plain loopback.

        Fails closed: a host that needs CURVE without its key pair or an allow-list is
        a ConfigError naming what is missing.
        """
        host = self.config.hosts[self.spec.host]
        if not host.needs_curve:
            return None, None
        store = KeyStore(self.config.keys_dir(self.home))
        why = "not loopback" if not host.is_loopback else "marked secure"
        try:
            pair = store.key_pair(host_key_name(host.name))
        except BifrostError as exc:
            raise ConfigError(
                f"{self.name} would bind {host.address} ({why}), which needs CURVE keys: "
                f"{exc.message}; refusing to start (run `bifrost keys gen --host {host.name}`)"
            ) from None
        try:
            allow_list = AllowList(store, self.log.log)
        except ConfigError as exc:
            raise ConfigError(
                f"{self.name} would bind {host.address} ({why}), but {exc.message}; "
                "refusing to start",
                exc.details,
            ) from None
        assert self._ctx is not None
        refusals = RefusalLog(self._refused, lambda: self.metrics.bad_frame("unauthenticated"))
        self._zap = ZapHandler(self._ctx, allow_list.name_of, refusals)
        self._allow_list = allow_list
        return ServerCurve(pair.public, pair.secret), allow_list.roles

    def _refused(self, reason: str, **details: Any) -> None:
        """Handshakes turned away by CURVE or ZAP (counted by the RefusalLog): logged."""
        self.log.warning("auth.refused", reason=reason, **details)

    def _forbidden(self, method: str, cid: str, user: str, reason: str) -> None:
        self.metrics.bad_frame("forbidden")
        self.log.warning("auth.forbidden", cid, method=method, client=user, reason=reason)

    def _bind(self, curve: ServerCurve | None, roles: dict[str, str] | None) -> None:
        """Open the RPC, PUB and HTTP ports; a taken port is a clear Unavailable error."""
        assert self._ctx is not None
        address = self.spec.address
        endpoint = self.spec.rpc
        try:
            self.rpc = RpcServer(
                self._ctx,
                endpoint,
                self.metrics,
                log_error=self._log_handler_error,
                rate_per_second=self.config.site.rpc_rate_per_second,
                curve=curve,
                roles=roles,
                refused=self._forbidden,
                callers=ServiceCallers(
                    {n: host_key_name(s.host) for n, s in self.config.services.items()},
                    self.home,
                ),
                tracing=self.tracing,
            )
            endpoint = self.spec.pub
            self.publisher = Publisher(
                self._ctx, endpoint, self.src, now_ns=self.clock.now_ns, curve=curve
            )
            if self._zap is not None:
                self._zap.watch(self.rpc.socket, "rpc")
                self._zap.watch(self.publisher.socket, "pub")
                self._zap.start()
            endpoint = self.spec.http
            self._http = StatusHttpServer(
                address,
                self.spec.http_port,
                self.health,
                lambda: self.state == "ready",
                self.metrics.render,
            )
        except (zmq.ZMQError, OSError) as exc:
            raise Unavailable(
                f"{self.name} cannot listen on {endpoint}: {exc}", {"endpoint": endpoint}
            ) from None

    def _set_state(self, state: str) -> None:
        self.state = state
        self.metrics.ready.set(1 if state == "ready" else 0)

    def _run_due_timers(self) -> None:
        now = time.monotonic()
        for timer in self._timers:
            if now >= timer.due:
                timer.due = max(timer.due + timer.interval, now)
                self._guarded(timer.callback, "timer.failed")

    def _end_turn(self) -> None:
        for callback in self._after_turn:
            self._guarded(callback, "turn.failed")

    def _deliver_events(self, ready: dict[Any, int]) -> None:
        for subscriber, handler in self._subscriptions:
            if subscriber.socket not in ready:
                continue
            for event in subscriber.poll(0):
                self._guarded(functools.partial(handler, event), "event.failed")

    def _run_handed_over(self) -> None:
        while True:
            try:
                callback = self._handed_over.get_nowait()
            except queue.Empty:
                return
            self._guarded(callback, "job.failed")

    def _guarded(self, callback: Callable[[], Any], event: str) -> None:
        try:
            callback()
        except Exception as exc:
            # A failing timer or job must not take the service down; it is logged and counted.
            self.metrics.handler_failed(getattr(callback, "__name__", "callback"))
            self.log.error(event, error=f"{type(exc).__name__}: {exc}")

    def _log_handler_error(self, method: str, cid: str, exc: BaseException) -> None:
        self.log.error(
            "rpc.handler_failed", cid, method=method, error=f"{type(exc).__name__}: {exc}"
        )
