"""On a CURVE host execution takes order changes from risk's host key alone.

Data, execution and risk run on host `a` (127.0.0.2, secure). A trader's orders,
replaces and cancels go through risk, which presents the host key `host-a`; the same
trader, and an admin,
calling execution's submit, replace, cancel and cancel-all directly are FORBIDDEN and
each refusal is logged as `auth.forbidden` with the client's name.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bifrost.bus.keys import KeyStore, host_key_name
from bifrost.client import BifrostClient
from bifrost.config import BifrostConfig, load_config
from bifrost.errors import Forbidden
from bifrost.local_config import TEST_FEED, free_ports
from tests.bifrost.conftest import DaemonThread

pytestmark = pytest.mark.timeout(60)

SERVICES = ("data", "execution", "risk")


def secure_config(directory: Path) -> BifrostConfig:
    """Data, execution and risk on host `a` at 127.0.0.2, marked secure."""
    ports = iter(free_ports(3 * len(SERVICES)))
    lines = [
        '[site]\nhost = "a"\nlog_level = "info"\n',
        '[hosts.a]\naddress = "127.0.0.2"\nsecure = true\n',
    ]
    for name in SERVICES:
        lines.append(
            f'[services.{name}]\nhost = "a"\nrpc_port = {next(ports)}\n'
            f"pub_port = {next(ports)}\nhttp_port = {next(ports)}\n"
        )
    lines.append(f'[security]\nkeys_dir = "keys"\n\n{TEST_FEED}')
    path = directory / "secure.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return load_config(path)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[tuple[BifrostConfig, dict[str, DaemonThread]]]:
    """The three services on the secured host; execution's log goes to a buffer."""
    config = secure_config(tmp_path)
    store = KeyStore(config.keys_dir(tmp_path))
    store.generate(host_key_name("a"), "admin")
    for role in ("trader", "admin"):
        store.generate(role, role)
    home = tmp_path / "home"
    home.mkdir()
    threads: dict[str, DaemonThread] = {}
    try:
        for name in SERVICES:
            thread = DaemonThread(config, home, name)
            if name == "execution":
                thread.daemon.log.stream = io.StringIO()
            thread.start()
            threads[name] = thread
        time.sleep(0.3)  # quotes reach risk and execution
        yield config, threads
    finally:
        for thread in reversed(threads.values()):
            thread.stop()


def client(config: BifrostConfig, identity: str) -> BifrostClient:
    return BifrostClient(
        config, timeout_ms=3000, retries=0, identity=identity, keys_dir=config.keys_dir(Path("/"))
    )


def test_order_changes_pass_through_risk_and_direct_calls_are_forbidden_by_key(
    secured: tuple[BifrostConfig, dict[str, DaemonThread]],
) -> None:
    config, threads = secured
    with client(config, "trader") as trader, client(config, "admin") as admin:
        order = {"client_order_id": "t-1", "symbol": "AAPL", "side": "BUY", "quantity": 5.0}
        assert trader.call("risk", "order.submit", order)["status"] == "FILLED"
        direct = {
            "order.submit": {**order, "client_order_id": "t-2"},
            "order.replace": {"client_order_id": "t-1", "quantity": 6000.0},
            "order.cancel": {"client_order_id": "t-1"},
        }
        for method, params in direct.items():
            with pytest.raises(Forbidden, match="only from the risk service"):
                trader.call("execution", method, params)
        with pytest.raises(Forbidden, match="only from the risk service"):
            admin.call("execution", "orders.cancel_all", {})
        quote = trader.call("data", "snapshot", {"prefix": "quote.AAPL"})["topics"]["quote.AAPL"]
        price = round(quote["body"]["bid"] * 0.98, 2)
        resting = {**order, "client_order_id": "t-3", "type": "LIMIT", "limit_price": price}
        assert trader.call("risk", "order.submit", resting)["status"] == "ACCEPTED"
        replaced = trader.call("risk", "order.replace", {"client_order_id": "t-3", "quantity": 6.0})
        assert (replaced["client_order_id"], replaced["quantity"]) == ("t-3.r", 6.0)
        assert trader.call("risk", "order.cancel", {"client_order_id": "t-3.r"})["status"] in (
            "ACCEPTED",
            "CANCELED",
        )
        orders = trader.call("execution", "orders.list", {})["orders"]
        assert sorted((o["client_order_id"], o["status"]) for o in orders) == [
            ("t-1", "FILLED"),
            ("t-3", "CANCELED"),
            ("t-3.r", "CANCELED"),
        ]
    stream = threads["execution"].daemon.log.stream.getvalue()  # type: ignore[attr-defined]
    records = [json.loads(line) for line in stream.splitlines() if line.startswith("{")]
    forbidden = [(r["method"], r["client"]) for r in records if r["event"] == "auth.forbidden"]
    assert forbidden == [
        ("order.submit", "trader"),
        ("order.replace", "trader"),
        ("order.cancel", "trader"),
        ("orders.cancel_all", "admin"),
    ]
