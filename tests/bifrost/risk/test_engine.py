"""Pre-trade risk checks: each rule fires with its name and numbers, reducing orders, the
order-rate bucket, the daily loss halt and run-time limit changes.

Positions, mids and open orders are set through the engine's own bus handlers
(`on_fill`, `on_quote`, `on_order`); the rate bucket gets `now` explicitly, so every
test is deterministic.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bifrost.errors import BadRequest, Rejected
from bifrost.model.commands import SubmitOrder
from bifrost.risk.config import RiskConfig
from bifrost.risk.engine import RiskEngine, TradingState, parse_limit


def risk(**limits: Any) -> RiskEngine:
    """An ACTIVE engine with the default limits changed by `limits`; AAPL quoted at 100."""
    engine = RiskEngine(replace(RiskConfig(), **limits))
    engine.on_quote("AAPL", 100.0)
    return engine


def order(
    side: str = "BUY", quantity: float = 10.0, symbol: str = "AAPL", **extra: Any
) -> SubmitOrder:
    return SubmitOrder.new(symbol, side, quantity, **extra)


def hold(engine: RiskEngine, symbol: str, signed_quantity: float) -> None:
    """Give the engine a position through a fill, as the bus would."""
    side = "BUY" if signed_quantity > 0 else "SELL"
    engine.on_fill({"symbol": symbol, "side": side, "quantity": abs(signed_quantity)})


def open_order(engine: RiskEngine, client_order_id: str, quantity: float = 10.0, **extra) -> None:
    """Tell the engine an order is resting, as the execution events would."""
    engine.on_order(
        {
            "client_order_id": client_order_id,
            "symbol": "AAPL",
            "side": "BUY",
            "quantity": quantity,
            "filled": 0.0,
            "status": "ACCEPTED",
            **extra,
        }
    )


def rejection(engine: RiskEngine, request: SubmitOrder, now: float = 0.0) -> Rejected:
    with pytest.raises(Rejected) as caught:
        engine.check(request, now)
    return caught.value


# -- one test per rule ----------------------------------------------------------------


def test_check_when_halted_rejects_with_rule_halted() -> None:
    engine = risk()
    engine.state = TradingState.HALTED
    error = rejection(engine, order())
    assert error.details == {"rule": "halted"}
    assert "halted" in error.message


def test_check_when_reducing_rejects_an_increasing_order_with_rule_reducing() -> None:
    engine = risk()
    engine.state = TradingState.REDUCING
    hold(engine, "AAPL", 100)
    error = rejection(engine, order("BUY", 10))
    assert error.details == {"rule": "reducing"}
    assert "AAPL" in error.message


def test_check_restricted_symbol_rejects_with_rule_restricted() -> None:
    engine = risk(restricted_symbols=("GME",))
    error = rejection(engine, order(symbol="GME", limit_price=20.0))
    assert error.details == {"rule": "restricted"}
    assert "GME" in error.message


def test_check_quantity_over_limit_rejects_with_both_quantities() -> None:
    error = rejection(risk(max_order_quantity=100.0), order(quantity=150))
    assert error.details == {"rule": "max_order_quantity"}
    assert "quantity 150 exceeds the limit of 100" in error.message


def test_check_market_order_without_quote_rejects_with_rule_no_price() -> None:
    error = rejection(risk(), order(symbol="MSFT"))
    assert error.details == {"rule": "no_price"}
    assert "MSFT" in error.message


def test_check_notional_over_limit_rejects_with_both_notionals() -> None:
    error = rejection(risk(max_order_notional=10_000.0), order(quantity=150))
    assert error.details == {"rule": "max_order_notional"}
    assert "notional 15,000.00 exceeds the limit of 10,000.00" in error.message


def test_check_limit_price_outside_collar_rejects_with_price_mid_and_collar() -> None:
    error = rejection(risk(price_collar_pct=5.0), order(type="LIMIT", limit_price=106.0))
    assert error.details == {"rule": "price_collar"}
    assert "limit_price 106 is 6.0% from the mid 100 (collar 5%)" in error.message


def test_check_stop_price_outside_collar_rejects_naming_the_stop() -> None:
    error = rejection(risk(price_collar_pct=5.0), order("SELL", type="STOP", stop_price=94.0))
    assert error.details == {"rule": "price_collar"}
    assert "stop_price 94 is 6.0% from the mid 100" in error.message


def test_check_limit_price_at_collar_edge_passes() -> None:
    risk(price_collar_pct=5.0).check(order(type="LIMIT", limit_price=104.0), now=0.0)


def test_check_position_over_limit_counting_open_orders_rejects_with_the_total() -> None:
    engine = risk(max_position=1_000.0)
    hold(engine, "AAPL", 900)
    open_order(engine, "resting", quantity=50)
    error = rejection(engine, order(quantity=100))
    assert error.details == {"rule": "max_position"}
    assert "the AAPL position would be 1050 (limit 1000)" in error.message


def test_check_gross_exposure_over_limit_rejects_with_the_gross() -> None:
    engine = risk(max_gross_exposure=25_000.0)
    engine.on_quote("MSFT", 200.0)
    hold(engine, "AAPL", 100)  # 10,000 long
    hold(engine, "MSFT", -50)  # 10,000 short
    error = rejection(engine, order(quantity=60))  # AAPL to 16,000: gross 26,000
    assert error.details == {"rule": "max_gross_exposure"}
    assert "gross exposure would be 26,000.00 (limit 25,000.00)" in error.message


def test_check_net_exposure_over_limit_rejects_with_the_net() -> None:
    engine = risk(max_net_exposure=15_000.0)
    engine.on_quote("MSFT", 200.0)
    hold(engine, "AAPL", 100)  # 10,000 long
    error = rejection(engine, order(symbol="MSFT", quantity=40))  # + 8,000: net 18,000
    assert error.details == {"rule": "max_net_exposure"}
    assert "net exposure would be 18,000.00 (limit 15,000.00)" in error.message


def test_check_with_open_orders_at_limit_rejects_with_the_count() -> None:
    engine = risk(max_open_orders=2)
    open_order(engine, "a")
    open_order(engine, "b")
    error = rejection(engine, order())
    assert error.details == {"rule": "max_open_orders"}
    assert "2 orders are open (limit 2)" in error.message


def test_on_order_ended_order_frees_its_open_order_slot() -> None:
    engine = risk(max_open_orders=1)
    open_order(engine, "a")
    open_order(engine, "a", status="FILLED", filled=10.0)
    engine.check(order(), now=0.0)


def test_check_over_order_rate_rejects_with_rate_and_key() -> None:
    engine = risk(max_orders_per_second=1.0)
    engine.check(order(strategy_id="strat-a"), now=5.0)
    error = rejection(engine, order(strategy_id="strat-a"), now=5.0)
    assert error.details == {"rule": "order_rate"}
    assert "more than 1 orders a second from strat-a" in error.message


# -- reducing orders ------------------------------------------------------------------


def test_check_when_reducing_allows_an_order_that_reduces_the_position() -> None:
    engine = risk()
    engine.state = TradingState.REDUCING
    hold(engine, "AAPL", 100)
    engine.check(order("SELL", 40), now=0.0)


def test_check_when_reducing_rejects_a_sell_that_flips_to_a_larger_short() -> None:
    engine = risk()
    engine.state = TradingState.REDUCING
    hold(engine, "AAPL", 100)
    assert rejection(engine, order("SELL", 250)).details == {"rule": "reducing"}


def test_check_reducing_order_passes_even_above_the_position_limit() -> None:
    engine = risk(max_position=500.0)
    hold(engine, "AAPL", 1_000)  # held before the limit was lowered
    engine.check(order("SELL", 100), now=0.0)  # still 900 > 500 afterwards


def test_check_reducing_order_passes_even_above_the_exposure_limits() -> None:
    engine = risk(max_gross_exposure=50_000.0, max_net_exposure=50_000.0)
    hold(engine, "AAPL", 1_000)  # 100,000 long
    engine.check(order("SELL", 100), now=0.0)  # still 90,000 afterwards


# -- the order-rate bucket ------------------------------------------------------------


def test_rate_bucket_allows_rate_orders_in_one_instant_then_rejects() -> None:
    engine = risk(max_orders_per_second=4.0)
    for _ in range(4):
        engine.check(order(strategy_id="s"), now=10.0)
    assert rejection(engine, order(strategy_id="s"), now=10.0).details == {"rule": "order_rate"}


def test_rate_bucket_refills_one_order_per_one_over_rate_seconds() -> None:
    engine = risk(max_orders_per_second=4.0)
    for _ in range(4):
        engine.check(order(strategy_id="s"), now=10.0)
    engine.check(order(strategy_id="s"), now=10.25)
    assert rejection(engine, order(strategy_id="s"), now=10.25).details == {"rule": "order_rate"}


def test_rate_bucket_after_a_long_pause_saves_up_at_most_rate_orders() -> None:
    engine = risk(max_orders_per_second=4.0)
    engine.check(order(strategy_id="s"), now=0.0)
    for _ in range(4):
        engine.check(order(strategy_id="s"), now=100.0)
    assert rejection(engine, order(strategy_id="s"), now=100.0).details == {"rule": "order_rate"}


def test_rate_bucket_is_kept_per_strategy() -> None:
    engine = risk(max_orders_per_second=1.0)
    engine.check(order(strategy_id="a"), now=0.0)
    engine.check(order(strategy_id="b"), now=0.0)


def test_rate_bucket_manual_orders_are_keyed_by_account() -> None:
    engine = risk(max_orders_per_second=1.0)
    engine.check(order(account="paper"), now=0.0)
    error = rejection(engine, order(account="paper"), now=0.0)
    assert "from paper" in error.message


def test_rate_bucket_order_rejected_by_an_earlier_rule_spends_no_token() -> None:
    engine = risk(max_orders_per_second=1.0, max_order_quantity=100.0)
    rejection(engine, order(quantity=500, strategy_id="s"), now=0.0)
    engine.check(order(strategy_id="s"), now=0.0)


# -- the daily loss limit -------------------------------------------------------------


def test_on_pnl_loss_just_under_the_limit_keeps_trading() -> None:
    engine = risk(daily_loss_limit=1_000.0)
    assert engine.on_pnl(-999.99) is False
    assert engine.state is TradingState.ACTIVE


def test_on_pnl_loss_exactly_at_the_limit_halts() -> None:
    engine = risk(daily_loss_limit=1_000.0)
    assert engine.on_pnl(-1_000.0) is True
    assert engine.state is TradingState.HALTED
    assert rejection(engine, order()).details == {"rule": "halted"}


def test_on_pnl_when_already_halted_reports_no_new_breach() -> None:
    engine = risk(daily_loss_limit=1_000.0)
    engine.on_pnl(-1_500.0)
    assert engine.on_pnl(-2_000.0) is False
    assert engine.state is TradingState.HALTED


def test_on_pnl_profit_never_halts() -> None:
    engine = risk(daily_loss_limit=1_000.0)
    assert engine.on_pnl(50_000.0) is False
    assert engine.state is TradingState.ACTIVE


# -- changing limits ------------------------------------------------------------------


def test_set_limits_splits_restricted_symbols_text_on_commas() -> None:
    limits = risk().set_limits({"restricted_symbols": " A, B ,,"})
    assert limits.restricted_symbols == ("A", "B")


def test_set_limits_takes_restricted_symbols_as_a_list() -> None:
    limits = risk().set_limits({"restricted_symbols": ["GME", "AMC"]})
    assert limits.restricted_symbols == ("GME", "AMC")


def test_set_limits_types_numbers_like_the_config_fields() -> None:
    limits = risk().set_limits({"max_open_orders": "5", "max_position": "1e3"})
    assert (limits.max_open_orders, limits.max_position) == (5, 1_000.0)
    assert isinstance(limits.max_open_orders, int)


def test_set_limits_new_limit_applies_to_the_next_check() -> None:
    engine = risk()
    engine.set_limits({"restricted_symbols": "AAPL"})
    assert rejection(engine, order()).details == {"rule": "restricted"}


def test_set_limits_resets_the_rate_buckets() -> None:
    engine = risk(max_orders_per_second=1.0)
    engine.check(order(strategy_id="s"), now=0.0)
    engine.set_limits({"max_orders_per_second": 1})
    engine.check(order(strategy_id="s"), now=0.0)


def test_set_limits_unknown_name_is_bad_request_naming_it() -> None:
    with pytest.raises(BadRequest, match="no risk limit 'max_leverage'"):
        risk().set_limits({"max_leverage": 2})


def test_set_limits_negative_value_is_bad_request() -> None:
    with pytest.raises(BadRequest, match="max_position must not be negative"):
        risk().set_limits({"max_position": -1})


@pytest.mark.parametrize("value", ["lots", None, "", [1, 2]])
def test_set_limits_non_numeric_value_is_bad_request(value: Any) -> None:
    with pytest.raises(BadRequest, match="is not a number"):
        risk().set_limits({"max_position": value})


@pytest.mark.parametrize(
    ("name", "value"),
    [("max_position", "nan"), ("max_open_orders", "nan"), ("max_open_orders", "inf")],
)
def test_parse_limit_non_finite_value_is_bad_request(name: str, value: str) -> None:
    with pytest.raises(BadRequest, match="is not a finite number"):
        parse_limit(name, value)


def test_set_limits_with_one_bad_value_changes_nothing() -> None:
    engine = risk()
    before = engine.limits
    with pytest.raises(BadRequest):
        engine.set_limits({"max_position": 10, "max_open_orders": "many"})
    assert engine.limits == before


def test_usage_reports_open_orders_positions_exposure_and_loss() -> None:
    from bifrost.risk.config import RiskConfig
    from bifrost.risk.engine import RiskEngine

    engine = RiskEngine(RiskConfig())
    engine.on_quote("AAPL", 100.0)
    engine.on_quote("MSFT", 200.0)
    engine.on_fill({"symbol": "AAPL", "side": "BUY", "quantity": 10.0})
    engine.on_fill({"symbol": "MSFT", "side": "SELL", "quantity": 3.0})
    engine.on_order({"client_order_id": "o", "symbol": "AAPL", "side": "BUY", "quantity": 5.0,
                     "filled": 0.0, "status": "ACCEPTED"})
    engine.on_pnl(-250.0)
    assert engine.usage() == {
        "max_open_orders": 1.0, "max_position": 10.0, "max_gross_exposure": 1_600.0,
        "max_net_exposure": 400.0, "daily_loss_limit": 250.0,
    }


def test_risk_messages_print_every_digit_never_an_exponent() -> None:
    with pytest.raises(Rejected) as caught:
        risk(max_order_quantity=10_000).check(order(quantity=1_000_000.0))
    assert "quantity 1000000 exceeds the limit of 10000" in caught.value.message


def test_an_order_still_on_its_way_to_execution_counts_against_the_next_one() -> None:
    engine = risk(max_position=100.0)
    first = order(quantity=60.0)
    engine.check(first, now=0.0)
    engine.hold(first)  # passed, forwarded; execution has not reported it yet
    assert rejection(engine, order(quantity=60.0), now=0.0).details["rule"] == "max_position"
    engine.release(first.client_order_id)  # a later hop refused it
    engine.check(order(quantity=60.0), now=1.0)
