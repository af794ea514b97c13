"""The risk service: every order passes here first; limits, trading state, kill switch, VaR.

Every change to an order goes through here too: a replace is checked as the order it
would become, a cancel (always allowed: it only lowers risk) is passed on. Execution
accepts order changes from this service alone, which proves itself by its host key on
CURVE or by signing with the data dir's service token on loopback.
"""

from __future__ import annotations

import time
from typing import Any

from bifrost.bus import topics
from bifrost.bus.rpc import CallContext, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.bus.service_auth import service_token
from bifrost.daemon import Daemon
from bifrost.errors import BifrostError, Conflict, Forbidden, Rejected, Timeout, Unavailable
from bifrost.execution.messages import ORDER_FIELDS, REPLACE_FIELDS, replaced_order
from bifrost.model.instrument import Instrument
from bifrost.model.orders import OPEN_STATES
from bifrost.risk.engine import RiskEngine, TradingState
from bifrost.store.risk_state import record_breach, save_setting, stored_limits, stored_state
from bifrost.store.schema import RISK

SUBMIT = Schema("order.submit params", ORDER_FIELDS)
REPLACE = Schema("order.replace params", REPLACE_FIELDS)
CANCEL = Schema("order.cancel params", {"client_order_id": str})
CANCEL_ALL = Schema("orders.cancel_all params", {"strategy_id": Optional(str)})
CATCH_UP_EVERY_S = 5.0
COMPLIANCE_WAIT_MS = 2000
"""How long an order waits for compliance's answer before it is refused (fail closed)."""
LIMITS = Schema("risk.limits params", {"set": Optional(dict)})
VAR = Schema("risk.var params", {"confidence": Optional(float), "lookback": Optional(int)})
REASON = Schema("risk state params", {"reason": Optional(str)})


class RiskDaemon(Daemon):
    """Pre-trade checks in front of execution; post-trade state from fills, quotes and P&L."""

    store_file = "risk.duckdb"
    store_schema = RISK

    def setup(self) -> None:
        # Before the first call: every request this daemon sends is signed as risk's.
        self.service_token = service_token(self.home)
        state = stored_state(self.db)
        self.engine = RiskEngine(
            self.config.risk, TradingState(state) if state else TradingState.ACTIVE
        )
        stored = stored_limits(self.db)
        if stored:
            self.engine.set_limits(stored)
        self.forwarded: set[str] = set()
        self._catch_up()
        self.every(CATCH_UP_EVERY_S, self._catch_up)
        self.subscribe("execution", [topics.prefix(topics.FILL)], self._fill)
        self.subscribe("execution", [topics.prefix(topics.ORDER)], self._order)
        self.subscribe("data", [topics.prefix(topics.QUOTE)], self._quote)
        self.subscribe("portfolio", [topics.prefix(topics.PNL)], self._pnl)
        for method in (
            Method("order.submit", self.submit, SUBMIT, idempotent=True, role="trader"),
            Method("order.replace", self.replace, REPLACE, idempotent=False, role="trader"),
            Method("order.cancel", self.cancel, CANCEL, idempotent=True, role="trader"),
            Method("orders.cancel_all", self.cancel_all, CANCEL_ALL, role="admin"),
            Method("risk.limits", self.limits, LIMITS, role="viewer"),
            Method("risk.state", self.trading_state, REASON),
            Method("risk.kill", self.kill, REASON, role="admin"),
            Method("risk.resume", self.resume, REASON, role="admin"),
            Method("risk.reduce", self.reduce, REASON, role="admin"),
            Method("risk.var", self.var, VAR),
        ):
            self.add_method(method)

    def _catch_up(self) -> None:
        """Positions and open orders as they stand, from portfolio and execution (if up).

        At start, and then now and again: events lost while a service restarted would
        otherwise leave risk's view wrong until the next fill.
        """
        if self.bus.answers("portfolio"):
            reply = self.bus.call("portfolio", "portfolio.positions", {})
            self.engine.positions = {row["symbol"]: row["quantity"] for row in reply["positions"]}
        if self.bus.answers("execution"):
            reply = self.bus.call("execution", "orders.list", {"open_only": True})
            self.engine.open_orders.clear()
            for row in reply["orders"]:
                self.engine.on_order(row)

    # -- alerts -------------------------------------------------------------------------

    def _breach(self, rule: str, message: str, order: dict[str, Any], cid: str) -> None:
        record_breach(self.db, self.clock.now_ns(), rule, order.get("symbol"), message, cid)
        self._alert("rejected", {"rule": rule, "message": message, "order": order}, cid)

    def _alert(self, kind: str, body: dict[str, Any], cid: str = "") -> None:
        assert self.publisher is not None
        self.publisher.publish(topics.alert("risk"), kind, {**body, "kind": kind}, cid)
        self.log.warning(f"risk.{kind}", cid, **{k: v for k, v in body.items() if k != "order"})

    # -- order entry -----------------------------------------------------------------------

    def submit(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`order.submit`: check, then forward to execution with the caller's cid."""
        client_id = params.get("client_order_id")
        if not (client_id and client_id in self.forwarded):  # a retry was checked already
            self._pass(params, ctx.cid)
        result: dict[str, Any] = self.bus.call(
            "execution", "order.submit", params, cid=ctx.cid, idempotent=True
        )
        self.forwarded.add(result["client_order_id"])
        return result

    def replace(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`order.replace`: the order as it would be after the change (new quantity and
        prices, same side, symbol and account) passes the checks of a new order, with
        the replaced order's remaining quantity no longer counted; then execution
        replaces it. A refusal leaves the original order as it was."""
        client_id = params["client_order_id"]
        old = self.bus.call("execution", "order.get", {"client_order_id": client_id}, cid=ctx.cid)
        if old["status"] not in OPEN_STATES:
            raise Conflict(f"order {client_id} is {old['status']}: nothing to replace")
        self._pass(replaced_order(old, params), ctx.cid, replacing=client_id)
        result: dict[str, Any] = self.bus.call("execution", "order.replace", params, cid=ctx.cid)
        return result

    def cancel(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`order.cancel`: allowed in every trading state (a cancel only lowers risk)."""
        result: dict[str, Any] = self.bus.call(
            "execution", "order.cancel", params, cid=ctx.cid, idempotent=True
        )
        return result

    def cancel_all(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`orders.cancel_all`: every open order, or one strategy's (a strategy stopping)."""
        result: dict[str, Any] = self.bus.call(
            "execution", "orders.cancel_all", params, cid=ctx.cid
        )
        return result

    def _pass(self, order: dict[str, Any], cid: str, replacing: str | None = None) -> None:
        """Risk's checks, then compliance's; a refusal is recorded as a breach and raised."""
        try:
            self.engine.check(order, replacing=replacing)
        except Rejected as exc:
            self._breach(exc.details.get("rule", "?"), exc.message, order, cid)
            raise
        # Logged before compliance is asked, so a trace reads in causal order.
        self.log.info(
            "risk.passed",
            cid,
            symbol=order["symbol"],
            side=order["side"],
            quantity=order["quantity"],
            replacing=replacing,
        )
        self._comply(order, cid)

    def _comply(self, order: dict[str, Any], cid: str) -> None:
        """Compliance checks what risk passed, when the deployment has it; fails closed."""
        if "compliance" not in self.config.services:
            return
        try:
            self.bus.call(
                "compliance", "compliance.check", order, cid=cid, timeout_ms=COMPLIANCE_WAIT_MS
            )
        except (Unavailable, Timeout):
            raise Unavailable(
                "compliance is not answering, so no order can pass (fail closed); "
                "start it with `bifrost up`",
                {"service": "compliance"},
            ) from None

    # -- the bus ---------------------------------------------------------------------------

    def _fill(self, event: Any) -> None:
        self.engine.on_fill(event.body)

    def _order(self, event: Any) -> None:
        self.engine.on_order(event.body)

    def _quote(self, event: Any) -> None:
        body = event.body
        self.engine.on_quote(body["symbol"], (body["bid"] + body["ask"]) / 2)

    def _pnl(self, event: Any) -> None:
        if self.engine.on_pnl(float(event.body["day_pnl"])):
            save_setting(self.db, "state", self.engine.state.value)
            self._alert("halted", {"reason": "daily loss limit", "day_pnl": event.body["day_pnl"]})
            self._cancel_everything(event.cid)

    # -- controls --------------------------------------------------------------------------

    def limits(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.limits`: the limits; with `set`, change some (admin) and persist them."""
        changes = params.get("set")
        if changes:
            if ctx.role != "admin":  # reading limits is for every role, changing them is not
                raise Forbidden(f"changing limits needs the admin role; '{ctx.user}' is {ctx.role}")
            self.engine.set_limits(changes)
            save_setting(self.db, "limits", self.engine.limits_dict())
            self._alert("limits_changed", {"changes": changes}, ctx.cid)
        return self.engine.limits_dict()

    def trading_state(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.state`: trading state, day P&L, positions and open orders known to risk."""
        engine = self.engine
        return {
            "state": engine.state.value,
            "day_pnl": engine.day_pnl,
            "positions": {s: q for s, q in engine.positions.items() if q},
            "open_orders": len(engine.open_orders),
            "usage": engine.usage(),
        }

    def kill(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.kill`: HALT, cancel every open order, stop every strategy; timed."""
        started = time.monotonic()
        self._set_trading(TradingState.HALTED, params.get("reason") or "kill switch", ctx.cid)
        canceled, stopped = self._cancel_everything(ctx.cid)
        return {
            "state": self.engine.state.value,
            "canceled": canceled,
            "strategies_stopped": stopped,
            "seconds": round(time.monotonic() - started, 4),
        }

    def resume(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.resume`: back to ACTIVE."""
        self._set_trading(TradingState.ACTIVE, params.get("reason") or "resume", ctx.cid)
        return {"state": self.engine.state.value}

    def reduce(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.reduce`: only risk-reducing orders from now on."""
        self._set_trading(TradingState.REDUCING, params.get("reason") or "reduce only", ctx.cid)
        return {"state": self.engine.state.value}

    def _set_trading(self, state: TradingState, reason: str, cid: str) -> None:
        self.engine.state = state
        save_setting(self.db, "state", state.value)
        self._alert("state", {"state": state.value, "reason": reason}, cid)

    def _cancel_everything(self, cid: str) -> tuple[list[str], list[str]]:
        canceled: list[str] = []
        stopped: list[str] = []
        try:
            canceled = self.bus.call("execution", "orders.cancel_all", {}, cid=cid)["canceled"]
        except BifrostError as exc:
            self.log.error("risk.cancel_failed", cid, error=exc.message)
        if "strategy" in self.config.services:
            try:
                reply = self.bus.call("strategy", "strategies.stop_all", {}, cid=cid)
                stopped = reply["stopped"]
            except BifrostError as exc:
                self.log.error("risk.stop_strategies_failed", cid, error=exc.message)
        return canceled, stopped

    def var(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """`risk.var`: historical and parametric VaR/CVaR of the current positions."""
        from bifrost.market.gateway import DataGateway
        from bifrost.risk.var import scenario_pnl, value_at_risk

        lookback = params.get("lookback") or 250
        positions = {s: q for s, q in self.engine.positions.items() if q}
        data = DataGateway(self.bus, self.home)
        closes = {}
        for symbol in positions:
            frame = data.bars(symbol, "1d")
            closes[symbol] = frame["close"].to_numpy()[-(lookback + 1) :]
        prices = {s: self.engine.mids.get(s) or float(closes[s][-1]) for s in positions}
        result = value_at_risk(
            scenario_pnl(positions, prices, closes), params.get("confidence") or 0.99
        )
        exposure = {s: positions[s] * prices[s] for s in positions}
        classes = {i["symbol"]: i["asset_class"] for i in data.instruments()}
        by_class: dict[str, float] = {}
        for symbol, value in exposure.items():
            kind = classes.get(symbol) or Instrument.default_for(symbol).asset_class.value
            by_class[kind] = by_class.get(kind, 0.0) + value
        return {
            **result,
            "exposure": exposure,
            "exposure_by_asset_class": by_class,
            "gross": sum(abs(v) for v in exposure.values()),
            "net": sum(exposure.values()),
        }

    def details(self) -> dict[str, Any]:
        """Trading state, shown by `health`."""
        return {"state": self.engine.state.value}
