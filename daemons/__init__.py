"""Service daemons: one module per service, wiring a bifrost engine to the bus.

`DAEMONS` maps each service name that has a daemon in this build to the module and
class that implement it; `bifrost up` and `bifrost daemon run` start only these.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from bifrost.errors import NotFound

if TYPE_CHECKING:
    from bifrost.config import BifrostConfig
    from bifrost.daemon import Daemon

DAEMONS: dict[str, str] = {
    "data": "daemons.data:DataDaemon",
    "news": "daemons.news:NewsDaemon",
    "strategy": "daemons.strategy:StrategyDaemon",
    "execution": "daemons.execution:ExecutionDaemon",
    "portfolio": "daemons.portfolio:PortfolioDaemon",
    "risk": "daemons.risk:RiskDaemon",
    "analytics": "daemons.analytics:AnalyticsDaemon",
    "compliance": "daemons.compliance:ComplianceDaemon",
    "microstructure": "daemons.microstructure:MicrostructureDaemon",
    "ml": "daemons.ml:MLDaemon",
}


def build_daemon(name: str, config: BifrostConfig, home: Path) -> Daemon:
    """Import and construct the daemon of service `name`."""
    target = DAEMONS.get(name)
    if target is None:
        built = ", ".join(DAEMONS)
        raise NotFound(f"service '{name}' has no daemon in this build (built: {built})")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(config, name, home)
