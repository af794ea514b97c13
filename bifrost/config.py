"""Bifrost configuration: TOML files read with tomllib into frozen dataclasses.

A config names the hosts, where each service runs and listens, the synthetic feed
and the scheduled jobs. Every key is checked: an unknown key, a wrong type or a
dangling reference is a `ConfigError` that names the key and the file.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from bifrost.errors import BifrostError, ConfigError
from bifrost.market.timeframes import timeframe_ns
from bifrost.news.config import NewsConfig

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
    worker_port: int | None = None
    """The strategy service's backend ROUTER that backtest workers connect to; none: no
    workers (backtests run on the daemon's own threads)."""

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

    @property
    def worker(self) -> str | None:
        """The ROUTER endpoint backtest workers connect their DEALER to (None: no workers)."""
        return None if self.worker_port is None else f"tcp://{self.address}:{self.worker_port}"


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """The synthetic market feed of the data service (geometric Brownian motion)."""

    symbols: tuple[str, ...] = ("AAPL", "MSFT", "NVDA", "SPY", "BTC-USD")
    quotes_per_second: float = 50.0
    """Quote updates per second for each symbol."""
    seed: int = 7
    annual_volatility: float = 0.30
    spread_bps: float = 2.0
    """Typical quoted spread in basis points of the price."""
    trade_ratio: float = 0.25
    """Fraction of quote updates that also print a trade."""
    prices: dict[str, float] = field(default_factory=dict)
    """Starting prices by symbol, for a symbol with no stored bars (one with bars starts from
    its last stored close); a symbol with neither starts at 100."""
    bar_timeframes: tuple[str, ...] = ("1m",)
    """Live bars built from the feed's trades, published on `bar.<tf>.<SYM>` and stored."""
    book_levels: int = 0
    """Price levels per side of the L2 book published on `book.<SYM>` with each quote;
    0 publishes no book."""


@dataclass(frozen=True, slots=True)
class PortfolioConfig:
    """The paper account the portfolio service books fills into."""

    account: str = "paper"
    base_currency: str = "USD"
    starting_cash: float = 100_000.0
    """Deposited once, when the ledger is empty."""
    snapshot_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Pre-trade limits the risk service starts with (changeable at run time)."""

    max_order_quantity: float = 10_000.0
    max_order_notional: float = 1_000_000.0
    max_position: float = 50_000.0
    """Largest absolute quantity held in one symbol."""
    max_gross_exposure: float = 5_000_000.0
    max_net_exposure: float = 2_500_000.0
    max_open_orders: int = 200
    price_collar_pct: float = 5.0
    """A limit or stop price must be within this % of the last quote's mid."""
    max_orders_per_second: float = 100.0
    """Per strategy (or account for manual orders)."""
    restricted_symbols: tuple[str, ...] = ()
    daily_loss_limit: float = 10_000.0
    """Loss (in the base currency) since the start of the UTC day that halts trading."""


@dataclass(frozen=True, slots=True)
class ComplianceConfig:
    """Compliance rules the compliance service starts with (an admin may change them)."""

    restricted: tuple[str, ...] = ()
    """Symbols no order may trade (rule `restricted`)."""
    watch: tuple[str, ...] = ()
    """Symbols whose orders pass but are recorded as hits and raise `alert.compliance`."""
    max_orders_per_day: int = 0
    """Orders a UTC day per symbol; 0 means no limit."""
    wash_trade_prevention: bool = True
    """Refuse an order that would cross a resting order of its own account and strategy."""
    pdt_max_day_trades: int = 3
    """Day trades allowed in 5 rolling business days while equity is under the threshold
    (the pattern-day-trader rule); 0 turns the rule off."""
    pdt_equity_threshold: float = 25_000.0
    market_hours_only: bool = False
    """Orders only while the instrument's exchange is open (24/7 calendars always are)."""
    max_concentration_pct: float = 0.0
    """Largest position value after an order, in % of equity; 0 means no limit."""


@dataclass(frozen=True, slots=True)
class StrategyConfig:
    """Backtest workers of the strategy service (they need its `worker_port`)."""

    workers: int = 0
    """Worker processes the strategy daemon starts on its own host; more can join from
    other hosts with `bifrost daemon worker --connect strategy`."""
    heartbeat_seconds: float = 1.0
    """Heartbeat interval between the service and its workers; three missed is death."""
    max_attempts: int = 3
    """Times a job is handed to a worker before a job whose workers keep dying fails."""


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
    strategy: StrategyConfig = field(default_factory=StrategyConfig)

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
                    "worker": s.worker,
                }
                for s in self.services.values()
            },
            "feed": {
                "symbols": list(self.feed.symbols),
                "quotes_per_second": self.feed.quotes_per_second,
                "seed": self.feed.seed,
                "annual_volatility": self.feed.annual_volatility,
                "spread_bps": self.feed.spread_bps,
                "trade_ratio": self.feed.trade_ratio,
                "prices": dict(self.feed.prices),
                "bar_timeframes": list(self.feed.bar_timeframes),
                "book_levels": self.feed.book_levels,
            },
            "portfolio": asdict(self.portfolio),
            "risk": {**asdict(self.risk), "restricted_symbols": list(self.risk.restricted_symbols)},
            "security": asdict(self.security),
            "strategy": asdict(self.strategy),
            "news": self.news.to_dict(),
            "compliance": {
                **asdict(self.compliance),
                "restricted": list(self.compliance.restricted),
                "watch": list(self.compliance.watch),
            },
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
                "strategy",
            },
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
        feed = self.feed(raw.get("feed", {}))
        jobs = {
            name: self.job(name, table, services)
            for name, table in self.tables("jobs", raw.get("jobs", {})).items()
        }
        portfolio = PortfolioConfig(
            **self.values("portfolio", raw.get("portfolio", {}), PortfolioConfig)
        )
        risk_values = self.values("risk", raw.get("risk", {}), RiskConfig)
        risk_values["restricted_symbols"] = tuple(risk_values.get("restricted_symbols", ()))
        risk = RiskConfig(**risk_values)
        security = SecurityConfig(
            **self.values("security", raw.get("security", {}), SecurityConfig)
        )
        compliance = self.compliance(raw.get("compliance", {}))
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
            news=self.news(raw.get("news", {})),
            strategy=self.strategy(raw.get("strategy", {}), services),
        )

    def strategy(self, table: Any, services: dict[str, ServiceConfig]) -> StrategyConfig:
        values = self.values("strategy", table, StrategyConfig)
        config = StrategyConfig(**values)
        if config.workers < 0 or config.max_attempts < 1 or not config.heartbeat_seconds > 0:
            raise self.fail(
                "strategy", "workers must be >= 0, max_attempts >= 1, heartbeat_seconds > 0"
            )
        owner = services.get("strategy")
        if config.workers and (owner is None or owner.worker_port is None):
            raise self.fail(
                "strategy", f"workers = {config.workers} needs [services.strategy] worker_port"
            )
        return config

    def news(self, table: Any) -> NewsConfig:
        values = self.values("news", table, NewsConfig)
        if "feeds" in values:
            values["feeds"] = tuple(values["feeds"])
        try:
            return NewsConfig(**values)
        except BifrostError as exc:
            raise self.fail("news", exc.message) from None

    def compliance(self, table: Any) -> ComplianceConfig:
        values = self.values("compliance", table, ComplianceConfig)
        for key in ("restricted", "watch"):
            if key in values:
                if not all(isinstance(s, str) and s.strip() for s in values[key]):
                    raise self.fail("compliance", f"{key} must be a list of symbols")
                values[key] = tuple(s.strip() for s in values[key])
        for key, value in values.items():
            if type(value) in (int, float) and value < 0:  # bool is an int, but never negative
                raise self.fail("compliance", f"key '{key}' must not be negative")
        for f in fields(ComplianceConfig):
            if str(f.type) == "float" and f.name in values:
                values[f.name] = float(values[f.name])
        return ComplianceConfig(**values)

    def service(self, name: str, table: Any, hosts: dict[str, HostConfig]) -> ServiceConfig:
        where = f"services.{name}"
        if name not in SERVICE_NAMES:
            raise self.fail(
                where, f"unknown service '{name}' (services: {', '.join(SERVICE_NAMES)})"
            )
        values = self.values(where, table, ServiceConfig, {"name", "address"})
        if values.get("host") not in hosts:
            raise self.fail(where, f"host '{values.get('host')}' is not one of [hosts]")
        if values.get("worker_port") is not None and name != "strategy":
            raise self.fail(where, "only the strategy service has a worker_port")
        for key in ("rpc_port", "pub_port", "http_port", "worker_port"):
            if key in values and not 1 <= values[key] <= 65535:
                raise self.fail(where, f"{key} {values[key]} is not a port number (1-65535)")
        return ServiceConfig(name=name, address=hosts[values["host"]].address, **values)

    def check_ports(self, services: dict[str, ServiceConfig]) -> None:
        seen: dict[tuple[str, int], str] = {}
        for svc in services.values():
            for key in ("rpc_port", "pub_port", "http_port", "worker_port"):
                if getattr(svc, key) is None:
                    continue
                slot = (svc.address, getattr(svc, key))
                if slot in seen:
                    raise self.fail(
                        f"services.{svc.name}",
                        f"{key} {slot[1]} on {slot[0]} is already used by {seen[slot]}",
                    )
                seen[slot] = f"services.{svc.name}.{key}"

    def feed(self, table: Any) -> FeedConfig:
        values = self.values("feed", table, FeedConfig)
        if "symbols" in values:
            values["symbols"] = tuple(values["symbols"])
            if not values["symbols"] or not all(
                isinstance(s, str) and s for s in values["symbols"]
            ):
                raise self.fail("feed", "symbols must be a non-empty list of names")
        prices = values.get("prices", {})
        if not all(type(p) in (int, float) and p > 0 for p in prices.values()):  # bool is an int
            raise self.fail("feed", "prices must map symbols to positive numbers")
        values["prices"] = {k: float(v) for k, v in prices.items()}
        if "bar_timeframes" in values:
            values["bar_timeframes"] = tuple(values["bar_timeframes"])
            for timeframe in values["bar_timeframes"]:
                try:
                    timeframe_ns(timeframe)
                except BifrostError as exc:
                    raise self.fail("feed", f"bar_timeframes: {exc.message}") from None
        if not 0 <= values.get("book_levels", 0) <= 1000:
            raise self.fail("feed", "book_levels must be between 0 (no book) and 1000")
        if values.get("quotes_per_second", 1.0) <= 0:
            raise self.fail("feed", "quotes_per_second must be positive")
        return FeedConfig(**values)

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

    def check_keys(self, where: str, table: dict[str, Any], allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(
                    where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})"
                )

    def values(
        self, where: str, table: Any, cls: type, derived: frozenset[str] | set[str] = frozenset()
    ) -> dict[str, Any]:
        """Check a table's keys and value types against a dataclass's fields."""
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table")
        spec = {f.name: f for f in fields(cls) if f.name not in derived}
        self.check_keys(where, table, set(spec))
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
