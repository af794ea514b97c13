"""LiveRunner sizes sizeless orders as the simulated exchange does, shorts included, and
sends every order as a SubmitOrder under an id it mints."""

from __future__ import annotations

from typing import Any

from bifrost.clock import SimulatedClock
from bifrost.live.runner import LiveRunner
from bifrost.model.commands import SubmitOrder
from bifrost.model.market import Side
from bifrost.strategy.strategy import Strategy


class OrderBook:
    """An order port that accepts every order as sent (the venue is not under test)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def submit(self, spec: dict[str, Any], cid: str) -> dict[str, Any]:
        self.sent.append(spec)
        return {**spec, "status": "ACCEPTED", "filled": 0.0}

    def cancel(self, client_order_id: str, cid: str) -> dict[str, Any]:
        raise AssertionError("no cancel expected")


class SellOnFirstBar(Strategy):
    """Sells without a size on its first bar."""

    name = "sell_first"
    allow_short: bool = False

    def on_bar(self, bar: Any) -> None:
        if self.context.index(bar.symbol) == 0:
            self.sell(bar.symbol, fraction=0.5)

    def on_start(self) -> None:
        pass


class BuyEveryBar(Strategy):
    """Buys one share on every bar."""

    name = "buy_every_bar"

    def on_bar(self, bar: Any) -> None:
        self.buy(bar.symbol, 1)

    def on_start(self) -> None:
        pass


def bar(close: float) -> dict[str, Any]:
    return {
        "symbol": "SPY",
        "timeframe": "1m",
        "ts": 60_000_000_000,
        "open": close,
        "high": close,
        "low": close,
        "close": close,
        "volume": 1.0,
    }


def run_first_bar(allow_short: bool) -> tuple[LiveRunner, OrderBook]:
    port = OrderBook()
    strategy = SellOnFirstBar(allow_short=allow_short)
    runner = LiveRunner("s-1", strategy, ["SPY"], "1m", port, SimulatedClock(0), 10_000.0)
    runner.on_bar(bar(100.0))
    return runner, port


def test_live_sizeless_sell_while_flat_with_shorting_sells_half_the_capital_short() -> None:
    runner, port = run_first_bar(allow_short=True)
    assert [(o["side"], o["quantity"]) for o in port.sent] == [("SELL", 50.0)]
    assert runner.last_error == ""


def test_live_sizeless_sell_while_flat_without_shorting_sends_nothing() -> None:
    runner, port = run_first_bar(allow_short=False)
    assert port.sent == []
    assert "nothing to sell" in runner.last_error


def test_live_orders_go_out_as_submit_commands_with_ids_minted_by_the_runner() -> None:
    port = OrderBook()
    runner = LiveRunner("s-1", BuyEveryBar(), ["SPY"], "1m", port, SimulatedClock(0), 10_000.0)
    runner.on_bar(bar(100.0))
    runner.on_bar({**bar(100.0), "ts": 120_000_000_000})
    sent = [SubmitOrder.from_wire(spec) for spec in port.sent]
    assert [(o.side, o.quantity, o.strategy_id) for o in sent] == [(Side.BUY, 1.0, "s-1")] * 2
    assert len({o.client_order_id for o in sent}) == 2
    assert all(o.client_order_id.startswith("s-") for o in sent)
