"""What every command shares: the data dir and the config, resolved once per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from bifrost.client import BifrostClient
    from bifrost.config import BifrostConfig


@dataclass
class CliState:
    """Global options of one `bifrost` run; the config is loaded on first use."""

    home_option: str | None = None
    config_option: str | None = None
    _config: BifrostConfig | None = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        """The data dir: --home, BIFROST_HOME or the XDG data dir."""
        from bifrost.config import resolve_home

        return resolve_home(self.home_option)

    @property
    def config_path(self) -> Path:
        """The config file: --config, BIFROST_CONFIG or configs/local.toml."""
        from bifrost.config import resolve_config_path

        return resolve_config_path(self.config_option)

    @property
    def config(self) -> BifrostConfig:
        """The loaded, checked config."""
        if self._config is None:
            from bifrost.config import load_config

            self._config = load_config(self.config_path)
        return self._config

    def client(
        self, timeout_ms: int = 3000, retries: int = 2, identity: str | None = None
    ) -> BifrostClient:
        """A bus client for this config (close it, or use it as a context manager)."""
        from bifrost.client import BifrostClient

        return BifrostClient(
            self.config,
            timeout_ms=timeout_ms,
            retries=retries,
            identity=identity,
            keys_dir=self.config.keys_dir(self.home),
        )

    def host_client(self, host: str, timeout_ms: int = 3000, retries: int = 2) -> BifrostClient:
        """A client that presents `host`'s own key when this machine holds it (the host's
        operator starts and watches its stack as the host); else the usual client key."""
        from bifrost.bus.keys import SECRET_SUFFIX, host_key_name

        name = host_key_name(host)
        held = (self.config.keys_dir(self.home) / f"{name}{SECRET_SUFFIX}").exists()
        identity = name if self.config.hosts[host].needs_curve and held else None
        return self.client(timeout_ms, retries, identity)

    def global_args(self) -> list[str]:
        """The global options that make a child `bifrost` process see the same setup."""
        return ["--home", str(self.home), "--config", str(self.config_path)]


def state_of(ctx: typer.Context) -> CliState:
    """The CliState stored by the main callback."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj
