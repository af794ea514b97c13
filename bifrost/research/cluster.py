"""The research cluster: a Dask client on a LocalCluster of this machine or a scheduler.

`ResearchCluster.open(config, home)` follows `[research]`: with `scheduler = "local"`
it starts a LocalCluster of worker processes bound to 127.0.0.1 (closed with the
cluster object); with an address it connects to a running scheduler, over mutual TLS
when the address is `tls://` (the certificate files must exist and the key must be
readable by its owner only, as for the bus's secret keys). Work is sent with
`scatter` (data once per worker) and `submit`; a worker lost mid-run has its tasks
rerun elsewhere by Dask.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bifrost.bus.keys import refuse_if_shared
from bifrost.errors import ConfigError, Unavailable
from bifrost.research.config import ResearchConfig

if TYPE_CHECKING:
    from distributed import Client, Future, LocalCluster

    from bifrost.config import BifrostConfig

CONNECT_TIMEOUT_S = 10.0
LOCAL_START_TIMEOUT_S = 60.0
"""Longest a local cluster may take until all its workers run (a loaded machine)."""
WORKER_SETTINGS = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}
"""Dask settings of the research workers. Dask sets MALLOC_TRIM_THRESHOLD_ in its
workers, which stops glibc from raising its mmap threshold: every bar-sized array is
then mapped fresh and faulted in page by page, and a sweep point costs twice the CPU
(docs/BENCHMARKS.md, "Research on Dask"); the workers keep glibc's defaults here. Its
statistical profiler samples every worker 100 times a second, half of an idle
worker's CPU; nothing reads its profiles (no dashboard). `dask worker` units get the
same through WORKER_ENVIRONMENT."""
WORKER_ENVIRONMENT = (
    "DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON={'MALLOC_TRIM_THRESHOLD_': None}",
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False",
)
"""WORKER_SETTINGS as the environment variables a `dask worker` process reads."""


def machine_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ResearchCluster:
    """A Dask client and, for a local cluster, the LocalCluster it owns."""

    def __init__(self, client: Client, local: LocalCluster | None = None) -> None:
        self.client = client
        self.local = local

    @classmethod
    def open(
        cls, config: BifrostConfig, home: Path, *, workers: int | None = None
    ) -> ResearchCluster:
        """The cluster `[research]` names; `workers` overrides the size of a local one."""
        settings = config.research
        if settings.is_local:
            return cls.start_local(workers or settings.workers or machine_cores())
        files = settings.tls_files(config.keys_dir(home), config.path.parent)
        return cls.connect(settings, files)

    @classmethod
    def start_local(cls, workers: int) -> ResearchCluster:
        """A LocalCluster of `workers` single-threaded processes on 127.0.0.1, set up as
        WORKER_SETTINGS says."""
        # distributed is imported before dask.config.set is entered, which otherwise
        # loses distributed's own defaults.
        import dask
        from distributed import Client, LocalCluster

        with dask.config.set(WORKER_SETTINGS):
            local = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address="127.0.0.1:0",  # its HTTP endpoint: loopback, any free port
                worker_dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            )
        client = Client(local, set_as_default=False)
        try:
            # A worker still registering is not yet one the scheduler hands data or work
            # to: a first scatter would miss it, and its tasks would fetch the bars.
            client.wait_for_workers(workers, timeout=LOCAL_START_TIMEOUT_S)
        except BaseException:
            client.close()
            local.close()
            raise
        return cls(client, local)

    @classmethod
    def connect(cls, settings: ResearchConfig, tls: dict[str, Path]) -> ResearchCluster:
        """A client of the running scheduler at `settings.scheduler`."""
        from distributed import Client

        security = tls_security(tls) if settings.uses_tls else None
        try:
            client = Client(
                settings.scheduler,
                security=security,
                timeout=CONNECT_TIMEOUT_S,
                set_as_default=False,
            )
        except (OSError, TimeoutError) as exc:
            raise Unavailable(
                f"the research scheduler {settings.scheduler} does not answer: {exc}",
                {"scheduler": settings.scheduler},
            ) from None
        return cls(client)

    @property
    def address(self) -> str:
        """The scheduler's address."""
        return str(self.client.scheduler.address)

    @property
    def workers(self) -> int:
        """Workers connected now (at least 1, so work is cut for one when all are away)."""
        return max(1, len(self.client.scheduler_info(n_workers=-1)["workers"]))

    def scatter(self, value: Any) -> Future:
        """`value` copied to every worker once; tasks given the future share that copy."""
        return self.client.scatter([value], broadcast=True, hash=False)[0]

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        """`function(*args)` on a worker (futures among `args` become their values);
        never cached by key, so a rerun of the same work runs again."""
        return self.client.submit(function, *args, pure=False)

    def as_completed(self, futures: Iterable[Future] = ()) -> Any:
        """Dask's as_completed on this client: futures in the order they finish, and more
        can be added while iterating."""
        from distributed import as_completed

        return as_completed(list(futures), loop=self.client.loop)

    def close(self) -> None:
        """Close the client and, for a local cluster, its worker processes; idempotent."""
        self.client.close()
        if self.local is not None:
            self.local.close()

    def __enter__(self) -> ResearchCluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def tls_security(files: dict[str, Path]) -> Any:
    """Dask's Security for mutual TLS with these files; a missing file or a key others can
    read is a ConfigError that says what to do."""
    from distributed.security import Security

    for name, path in files.items():
        if not path.is_file():
            raise ConfigError(
                f"[research] {name} {path} does not exist; run `bifrost keys research-tls` "
                "and copy the files to every cluster host",
                {"file": str(path)},
            )
    refuse_if_shared(files["tls_key"], files["tls_key"].stat().st_mode, "the research TLS key")
    return Security(
        tls_ca_file=str(files["tls_ca"]),
        tls_client_cert=str(files["tls_cert"]),
        tls_client_key=str(files["tls_key"]),
        require_encryption=True,
    )


def wants_cluster(settings: ResearchConfig, jobs: int, big: bool) -> bool:
    """Whether a piece of work goes to the research cluster: never with `jobs = 1`;
    always when `jobs` asks for processes (2 or more) or a scheduler address is set;
    else (a local cluster, `jobs = 0`) only when the work is `big` enough to pay for
    starting one."""
    if jobs == 1:
        return False
    return jobs > 1 or not settings.is_local or big


class KeptCluster:
    """The research cluster of a service or a command: opened by the first piece of work
    that wants it (a local one sized by that work's `jobs`), kept until `close` (or the
    end of a `with` block)."""

    def __init__(self, config: BifrostConfig, home: Path) -> None:
        self.config, self.home = config, home
        self.cluster: ResearchCluster | None = None
        self._lock = threading.Lock()

    def for_work(self, jobs: int, big: bool) -> ResearchCluster | None:
        """The cluster for this work (`wants_cluster`), or None to run it here; safe from
        any thread."""
        if not wants_cluster(self.config.research, jobs, big):
            return None
        with self._lock:
            if self.cluster is None:
                self.cluster = ResearchCluster.open(self.config, self.home, workers=jobs or None)
            return self.cluster

    def details(self) -> dict[str, Any]:
        """The configured scheduler and, once opened, the cluster's address (for health)."""
        cluster = self.cluster
        return {
            "scheduler": self.config.research.scheduler,
            "address": cluster.address if cluster is not None else None,
        }

    def close(self) -> None:
        """Close the cluster when one was opened."""
        with self._lock:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None

    def __enter__(self) -> KeptCluster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
