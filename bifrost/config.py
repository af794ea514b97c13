"""Bifrost configuration: TOML files read with tomllib into frozen dataclasses.

A config names the hosts, where each service runs and listens, and the scheduled jobs;
each component's own section (`[feed]`, `[risk]`, `[compliance]`, `[portfolio]`,
`[news]`, `[research]`, `[telemetry]`) is a dataclass in that component's `config.py`, beside its
engine, and this module gathers them. Every key is checked: an unknown key, a wrong
type or a dangling reference is a `ConfigError` that names the key and the file.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from bifrost.compliance.config import ComplianceConfig
from bifrost.errors import BadRequest, BifrostError, ConfigError
from bifrost.feed.config import SYNTHETIC, FeedConfig
from bifrost.news.config import NewsConfig
from bifrost.portfolio.config import PortfolioConfig
from bifrost.research.config import ResearchConfig
from bifrost.risk.config import RiskConfig
from bifrost.telemetry.config import TelemetryConfig
from bifrost.venues.config import VenueConfig, read_venues

GONE = {
    "strategy": "backtests are spread by Dask; configure [research] (scheduler, workers)",
    "worker_port": "backtests are spread by Dask; configure [research] (scheduler, workers)",
}
"""Keys of earlier configs, with what replaces them."""
SERVICE_NAMES: tuple[str, ...] = (
    "data",
    "news",
    "portfolio",
    "execution",
    "risk",
    "compliance",
    "strategy",
    "ml",
    "analytics",
    "microstructure",
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "configs" / "local.toml"


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """Settings of the whole installation."""

    host: str = "local"
    """The host this machine plays when no `--host` is given."""
    log_level: str = "info"
    """Lowest level written to the JSON logs: debug, info, warning or error."""
    rpc_rate_per_second: float = 20_000.0
    """Requests a second each client may send to a service (RATE_LIMITED beyond)."""


@dataclass(frozen=True, slots=True)
class HostConfig:
    """One machine of the deployment."""

    name: str
    address: str
    """The IP address the host's services bind and clients connect to."""
    secure: bool = False
    """Require CURVE even on a loopback address (how one machine stands in for several)."""

    @property
    def is_loopback(self) -> bool:
        """True when the address is in 127.0.0.0/8 (or ::1)."""
        return ipaddress.ip_address(self.address).is_loopback

    @property
    def needs_curve(self) -> bool:
        """True when this host's sockets must be encrypted and authenticated (CURVE + ZAP)."""
        return self.secure or not self.is_loopback


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """Where the CURVE keys live and which client key this machine's commands use."""

    keys_dir: str | None = None
    """The key store (relative to the config file); default: the `keys` dir under the data dir."""
    client: str | None = None
    """The key pair the CLI and TUI present (BIFROST_KEY overrides it)."""


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Where one service runs and the three ports it listens on."""

    name: str
    host: str
    address: str
    rpc_port: int
    pub_port: int
    http_port: int
    watchdog_seconds: float = 10.0
    """Interval systemd expects WATCHDOG=1 within; the daemon pings at half of it."""

    @property
    def rpc(self) -> str:
        """The ROUTER endpoint clients connect their DEALER to."""
        return f"tcp://{self.address}:{self.rpc_port}"

    @property
    def pub(self) -> str:
        """The PUB endpoint subscribers connect to."""
        return f"tcp://{self.address}:{self.pub_port}"

    @property
    def http(self) -> str:
        """The base URL of /health, /ready and /metrics."""
        return f"http://{self.address}:{self.http_port}"


@dataclass(frozen=True, slots=True)
class JobConfig:
    """A scheduled job: a named task of a service run on an interval or a cron rule."""

    name: str
    service: str
    task: str
    every_seconds: float | None = None
    cron: str | None = None
    """A five-field crontab rule (minute hour day month weekday), UTC."""


@dataclass(frozen=True, slots=True)
class BifrostConfig:
    """The resolved configuration of a deployment."""

    path: Path
    site: SiteConfig
    hosts: dict[str, HostConfig]
    services: dict[str, ServiceConfig]
    feed: FeedConfig
    jobs: dict[str, JobConfig]
    portfolio: PortfolioConfig = field(default_factory=PortfolioConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    compliance: ComplianceConfig = field(default_factory=ComplianceConfig)
    news: NewsConfig = field(default_factory=NewsConfig)
    research: ResearchConfig = field(default_factory=ResearchConfig)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    """Where OpenTelemetry spans go (bifrost.telemetry); off by default."""
    venues: dict[str, VenueConfig] = field(default_factory=lambda: read_venues({}))
    """Every venue by name, `paper` included (bifrost.venues.config)."""

    def live_symbols(self) -> list[str]:
        """Every symbol with live data: the synthetic feed's (when it is a source) and the
        symbols of each source venue, in that order."""
        symbols = list(self.feed.symbols) if SYNTHETIC in self.feed.sources else []
        for source in self.feed.sources:
            if source in self.venues:
                symbols += [s for s in self.venues[source].symbols if s not in symbols]
        return symbols

    def venue(self, name: str) -> VenueConfig:
        """The named venue, or a ConfigError listing the configured ones."""
        try:
            return self.venues[name]
        except KeyError:
            raise ConfigError(
                f"venue '{name}' is not in {self.path} (configured: {', '.join(self.venues)})",
                {"venue": name},
            ) from None

    def service(self, name: str) -> ServiceConfig:
        """The named service, or a ConfigError listing the configured ones."""
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(self.services) or "none"
            raise ConfigError(
                f"service '{name}' is not in {self.path} (configured: {known})"
            ) from None

    def services_on(self, host: str) -> list[ServiceConfig]:
        """The services configured to run on `host`, in config order."""
        if host not in self.hosts:
            known = ", ".join(self.hosts)
            raise ConfigError(f"host '{host}' is not in {self.path} (hosts: {known})")
        return [s for s in self.services.values() if s.host == host]

    def keys_dir(self, home: Path) -> Path:
        """The CURVE key store: [security] keys_dir (relative to this file), else HOME/keys."""
        if self.security.keys_dir is None:
            return home / "keys"
        return (self.path.parent / Path(self.security.keys_dir).expanduser()).resolve()

    def jobs_of(self, service: str) -> list[JobConfig]:
        """The scheduled jobs that belong to `service`."""
        return [j for j in self.jobs.values() if j.service == service]

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-ready view of the resolved config."""
        return {
            "path": str(self.path),
            "site": asdict(self.site),
            "hosts": {
                h.name: {"address": h.address, "secure": h.needs_curve} for h in self.hosts.values()
            },
            "services": {
                s.name: {
                    "host": s.host,
                    "address": s.address,
                    "rpc": s.rpc,
                    "pub": s.pub,
                    "http": s.http,
                    "watchdog_seconds": s.watchdog_seconds,
                }
                for s in self.services.values()
            },
            "feed": self.feed.to_dict(),
            "portfolio": self.portfolio.to_dict(),
            "risk": self.risk.to_dict(),
            "security": asdict(self.security),
            "research": self.research.to_dict(),
            "telemetry": self.telemetry.to_dict(),
            "news": self.news.to_dict(),
            "compliance": self.compliance.to_dict(),
            "venues": {name: venue.to_dict() for name, venue in self.venues.items()},
            "jobs": {
                j.name: {
                    "service": j.service,
                    "task": j.task,
                    "every_seconds": j.every_seconds,
                    "cron": j.cron,
                }
                for j in self.jobs.values()
            },
        }


def resolve_config_path(explicit: str | Path | None = None) -> Path:
    """`--config`, else `BIFROST_CONFIG`, else the packaged configs/local.toml."""
    chosen = explicit or os.environ.get("BIFROST_CONFIG") or DEFAULT_CONFIG
    return Path(chosen).expanduser().resolve()


def resolve_home(explicit: str | Path | None = None) -> Path:
    """`--home`, else `BIFROST_HOME`, else `$XDG_DATA_HOME/bifrost` (~/.local/share)."""
    if explicit or os.environ.get("BIFROST_HOME"):
        return Path(explicit or os.environ["BIFROST_HOME"]).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return (Path(xdg) / "bifrost").resolve()


def load_config(path: str | Path | None = None) -> BifrostConfig:
    """Read and check a config file; see `resolve_config_path` for the default."""
    file = resolve_config_path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    return _ConfigReader(file).read(raw)


Section = TypeVar("Section")
"""A component's config dataclass."""


class _ConfigReader:
    """Turns the parsed TOML tables into the dataclasses, checking every key."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: [{where}] {problem}", {"file": str(self.file)})

    def read(self, raw: dict[str, Any]) -> BifrostConfig:
        self.check_keys(
            "top level",
            raw,
            {
                "site",
                "hosts",
                "services",
                "feed",
                "jobs",
                "portfolio",
                "risk",
                "security",
                "compliance",
                "news",
                "research",
                "telemetry",
                "venues",
            },
            GONE,
        )
        site = SiteConfig(**self.values("site", raw.get("site", {}), SiteConfig))
        if not site.rpc_rate_per_second > 0:
            raise self.fail("site", "rpc_rate_per_second must be positive")
        if site.log_level not in {"debug", "info", "warning", "error"}:
            raise self.fail("site", f"log_level '{site.log_level}' is not debug/info/warning/error")
        hosts = {
            name: HostConfig(name=name, **self.values(f"hosts.{name}", table, HostConfig, {"name"}))
            for name, table in self.tables("hosts", raw.get("hosts", {})).items()
        }
        for host in hosts.values():
            try:
                ipaddress.ip_address(host.address)
            except ValueError:
                raise self.fail(
                    f"hosts.{host.name}", f"address '{host.address}' is not an IP"
                ) from None
        if site.host not in hosts:
            raise self.fail(
                "site", f"host '{site.host}' is not one of [hosts] ({', '.join(hosts)})"
            )
        services = {
            name: self.service(name, table, hosts)
            for name, table in self.tables("services", raw.get("services", {})).items()
        }
        self.check_ports(services)
        feed = self.section("feed", raw, FeedConfig, FeedConfig.from_table)
        jobs = {
            name: self.job(name, table, services)
            for name, table in self.tables("jobs", raw.get("jobs", {})).items()
        }
        portfolio = self.section("portfolio", raw, PortfolioConfig)
        risk = self.section("risk", raw, RiskConfig, RiskConfig.from_table)
        security = SecurityConfig(
            **self.values("security", raw.get("security", {}), SecurityConfig)
        )
        compliance = self.section("compliance", raw, ComplianceConfig, ComplianceConfig.from_table)
        try:
            venues = read_venues(self.tables("venues", raw.get("venues", {})))
        except BadRequest as exc:
            raise ConfigError(f"{self.file}: {exc.message}", {"file": str(self.file)}) from None
        for source in feed.sources:
            if source != SYNTHETIC and source not in venues:
                raise self.fail(
                    "feed", f"source '{source}' is neither synthetic nor one of [venues]"
                )
        return BifrostConfig(
            self.file,
            site,
            hosts,
            services,
            feed,
            jobs,
            portfolio,
            risk,
            security=security,
            compliance=compliance,
            news=self.section("news", raw, NewsConfig, NewsConfig.from_table),
            research=self.research(raw, hosts),
            telemetry=self.section("telemetry", raw, TelemetryConfig),
            venues=venues,
        )

    def section(
        self,
        name: str,
        raw: dict[str, Any],
        cls: type[Section],
        build: Callable[[dict[str, Any]], Section] | None = None,
    ) -> Section:
        """A component's table as its config dataclass: keys and value types checked
        here, values by the component (`build`, else the dataclass itself), whose
        BadRequest becomes a ConfigError naming the section and the file."""
        values = self.values(name, raw.get(name, {}), cls)
        try:
            return build(values) if build is not None else cls(**values)
        except BifrostError as exc:
            raise self.fail(name, exc.message) from None

    def research(self, raw: dict[str, Any], hosts: dict[str, HostConfig]) -> ResearchConfig:
        config = self.section("research", raw, ResearchConfig)
        named = [config.scheduler_host] if config.scheduler_host else []
        for host in [*named, *config.worker_hosts]:
            if host not in hosts:
                raise self.fail("research", f"host '{host}' is not one of [hosts]")
        if config.scheduler_host and hosts[config.scheduler_host].address != config.host:
            address = hosts[config.scheduler_host].address
            raise self.fail(
                "research",
                f"scheduler '{config.scheduler}' is not on scheduler_host "
                f"'{config.scheduler_host}' ({address})",
            )
        return config

    def service(self, name: str, table: Any, hosts: dict[str, HostConfig]) -> ServiceConfig:
        where = f"services.{name}"
        if name not in SERVICE_NAMES:
            raise self.fail(
                where, f"unknown service '{name}' (services: {', '.join(SERVICE_NAMES)})"
            )
        values = self.values(where, table, ServiceConfig, {"name", "address"}, GONE)
        if values.get("host") not in hosts:
            raise self.fail(where, f"host '{values.get('host')}' is not one of [hosts]")
        for key in ("rpc_port", "pub_port", "http_port"):
            if key in values and not 1 <= values[key] <= 65535:
                raise self.fail(where, f"{key} {values[key]} is not a port number (1-65535)")
        return ServiceConfig(name=name, address=hosts[values["host"]].address, **values)

    def check_ports(self, services: dict[str, ServiceConfig]) -> None:
        seen: dict[tuple[str, int], str] = {}
        for svc in services.values():
            for key in ("rpc_port", "pub_port", "http_port"):
                if getattr(svc, key) is None:
                    continue
                slot = (svc.address, getattr(svc, key))
                if slot in seen:
                    raise self.fail(
                        f"services.{svc.name}",
                        f"{key} {slot[1]} on {slot[0]} is already used by {seen[slot]}",
                    )
                seen[slot] = f"services.{svc.name}.{key}"

    def job(self, name: str, table: Any, services: dict[str, ServiceConfig]) -> JobConfig:
        where = f"jobs.{name}"
        values = self.values(where, table, JobConfig, {"name"})
        if values.get("service") not in services:
            raise self.fail(where, f"service '{values.get('service')}' is not in [services]")
        if (values.get("every_seconds") is None) == (values.get("cron") is None):
            raise self.fail(where, "give exactly one of every_seconds or cron")
        if values.get("every_seconds") is not None and values["every_seconds"] <= 0:
            raise self.fail(where, "every_seconds must be positive")
        if values.get("cron") is not None and len(values["cron"].split()) != 5:
            raise self.fail(where, f"cron '{values['cron']}' must have five fields")
        return JobConfig(name=name, **values)

    def tables(self, where: str, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a table")
        return raw

    def check_keys(
        self,
        where: str,
        table: dict[str, Any],
        allowed: set[str],
        gone: dict[str, str] | None = None,
    ) -> None:
        for key in table:
            if gone and key in gone:
                raise self.fail(where, f"'{key}' is no longer read: {gone[key]}")
            if key not in allowed:
                raise self.fail(
                    where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})"
                )

    def values(
        self,
        where: str,
        table: Any,
        cls: type,
        derived: frozenset[str] | set[str] = frozenset(),
        gone: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Check a table's keys and value types against a dataclass's fields."""
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        spec = {f.name: f for f in fields(cls) if f.name not in derived}
        self.check_keys(where, table, set(spec), gone)
        missing = [
            name
            for name, f in spec.items()
            if name not in table and f.default is MISSING and f.default_factory is MISSING
        ]
        if missing:
            raise self.fail(where, f"missing key '{missing[0]}'")
        for key, value in table.items():
            self.check_type(where, key, value, str(spec[key].type))
        return dict(table)

    def check_type(self, where: str, key: str, value: Any, annotation: str) -> None:
        expected: tuple[type, ...]
        if annotation == "bool":
            expected = (bool,)
        elif annotation.startswith(("tuple", "list")):
            expected = (list,)
        elif annotation.startswith("dict"):
            expected = (dict,)
        elif "float" in annotation:
            expected = (int, float)
        elif "int" in annotation:
            expected = (int,)
        elif "str" in annotation:
            expected = (str,)
        else:
            expected = (object,)
        if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
            want = " or ".join(t.__name__ for t in expected)
            raise self.fail(where, f"key '{key}' must be {want}, not {type(value).__name__}")
