"""The risk service: every order passes here first; limits, trading state, kill switch, VaR.

Every change to an order goes through here too: a replace is checked as the order it
would become, a cancel (always allowed: it only lowers risk) is passed on. Execution
accepts order changes from this service alone, which proves itself by its host key on
CURVE or by signing with the data dir's service token on loopback.

Risk never waits: an order that passed its checks is sent on to compliance and then to
execution as calls that do not block (bifrost.bus.pending_calls), and its caller's
reply is deferred until execution answers. Other callers are served meanwhile. Each
hop keeps its deadline; no answer in time is a refusal naming the hop (fail closed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bifrost.bus import methods, topics
from bifrost.bus.pending_calls import PendingCalls
from bifrost.bus.rpc import CallContext, Deferred, Method
from bifrost.bus.schema import Optional, Schema
from bifrost.bus.service_auth import service_token
from bifrost.daemon import Daemon
from bifrost.errors import BifrostError, Conflict, Forbidden, Rejected, Timeout, Unavailable
from bifrost.model.commands import (
    CANCEL_ALL_PARAMS,
    CANCEL_PARAMS,
    REPLACE_PARAMS,
    SUBMIT_PARAMS,
    CancelOrder,
    ReplaceOrder,
    SubmitOrder,
)
from bifrost.model.instrument import Instrument
from bifrost.model.orders import OPEN_STATES
from bifrost.risk.engine import RiskEngine, TradingState
from bifrost.store.risk_state import record_breach, save_setting, stored_limits, stored_state
from bifrost.store.schema import RISK

CATCH_UP_EVERY_S = 5.0
COMPLIANCE_WAIT_MS = 2000
"""How long an order waits for compliance's answer before it is refused (fail closed)."""
EXECUTION_WAIT_MS = 3000
"""How long an order change waits for execution's answer (then its outcome is unknown)."""
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
        self.execution = self._calls_if_deployed("execution")
        self.compliance = self._calls_if_deployed("compliance")
        self.portfolio = self._calls_if_deployed("portfolio")
        self.strategy = self._calls_if_deployed("strategy")
        self._catch_up()
        self.every(CATCH_UP_EVERY_S, self._catch_up)
        self.subscribe("execution", [topics.prefix(topics.FILL)], self._fill)
        self.subscribe("execution", [topics.prefix(topics.ORDER)], self._order)
        self.subscribe("data", [topics.prefix(topics.QUOTE)], self._quote)
        self.subscribe("portfolio", [topics.prefix(topics.PNL)], self._pnl)
        for method in (
            Method(
                methods.ORDER_SUBMIT, self.submit, SUBMIT_PARAMS, idempotent=True, role="trader"
            ),
            Method(
                methods.ORDER_REPLACE, self.replace, REPLACE_PARAMS, idempotent=False, role="trader"
            ),
            Method(
                methods.ORDER_CANCEL, self.cancel, CANCEL_PARAMS, idempotent=True, role="trader"
            ),
            Method(methods.ORDERS_CANCEL_ALL, self.cancel_all, CANCEL_ALL_PARAMS, role="admin"),
            Method(methods.RISK_LIMITS, self.limits, LIMITS, role="viewer"),
            Method(methods.RISK_STATE, self.trading_state, REASON),
            Method(methods.RISK_KILL, self.kill, REASON, role="admin"),
            Method(methods.RISK_RESUME, self.resume, REASON, role="admin"),
            Method(methods.RISK_REDUCE, self.reduce, REASON, role="admin"),
            Method(methods.RISK_VAR, self.var, VAR),
        ):
            self.add_method(method)

    def _calls_if_deployed(self, service: str) -> PendingCalls | None:
        """Calls that do not block to `service`, or None when this deployment lacks it."""
        return self.calls_to(service) if service in self.config.services else None

    def _catch_up(self) -> None:
        """Positions and open orders as they stand, from portfolio and execution (if up).

        At start, and then now and again: events lost while a service restarted would
        otherwise leave risk's view wrong until the next fill. Asked without waiting;
        the answers update the view when they come.
        """
        if self.portfolio is not None:
            self.portfolio.send(
                methods.PORTFOLIO_POSITIONS,
                {},
                cid="",
                timeout_ms=EXECUTION_WAIT_MS,
                on_reply=self._positions,
                on_error=lambda error: None,  # not up yet: the next catch-up asks again
            )
        if self.execution is None:
            return
        self.execution.send(
            methods.ORDERS_LIST,
            {"open_only": True},
            cid="",
            timeout_ms=EXECUTION_WAIT_MS,
            on_reply=self._open_orders,
            on_error=lambda error: None,  # not up yet: the next catch-up asks again
        )

    def _positions(self, reply: dict[str, Any]) -> None:
        self.engine.positions = {row["symbol"]: row["quantity"] for row in reply["positions"]}

    def _open_orders(self, reply: dict[str, Any]) -> None:
        self.engine.open_orders.clear()
        for row in reply["orders"]:
            self.engine.on_order(row)

    # -- alerts -------------------------------------------------------------------------

    def _breach(self, rule: str, message: str, order: SubmitOrder, cid: str) -> None:
        record_breach(self.db, self.clock.now_ns(), rule, order.symbol, message, cid)
        body = {"rule": rule, "message": message, "order": order.to_wire()}
        self._alert("rejected", body, cid)

    def _alert(self, kind: str, body: dict[str, Any], cid: str = "") -> None:
        assert self.publisher is not None
        self.publisher.publish(topics.alert("risk"), kind, {**body, "kind": kind}, cid)
        self.log.warning(f"risk.{kind}", cid, **{k: v for k, v in body.items() if k != "order"})

    # -- order entry -----------------------------------------------------------------------

    def submit(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.submit`: check, then forward to compliance and execution with the
        caller's cid; answered when execution answers (or a hop fails)."""
        order = SubmitOrder.from_wire(params)
        if order.client_order_id not in self.forwarded:  # a retry was checked already
            self._check(order, ctx.cid)
        reply = ctx.defer()
        self._comply_then(order, ctx.cid, reply, lambda: self._enter(order, ctx.cid, reply))
        return reply

    def _enter(self, order: SubmitOrder, cid: str, reply: Deferred) -> None:
        def entered(result: dict[str, Any]) -> None:
            self.forwarded.add(order.client_order_id)
            self.engine.on_order(result)
            reply.resolve(result)

        self._to_execution(
            methods.ORDER_SUBMIT, order.to_wire(), cid, reply, entered, order.client_order_id
        )

    def replace(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.replace`: the order as it would be after the change (new quantity and
        prices, same side, symbol and account) passes the checks of a new order, with
        the replaced order's remaining quantity no longer counted; then execution
        replaces it. A refusal leaves the original order as it was."""
        command = ReplaceOrder.from_wire(params)
        client_id = command.client_order_id
        reply = ctx.defer()

        def got_old(old: dict[str, Any]) -> None:
            if old["status"] not in OPEN_STATES:
                reply.reject(Conflict(f"order {client_id} is {old['status']}: nothing to replace"))
                return
            try:
                new = command.applied_to(old)
                self._check(new, ctx.cid, replacing=client_id)
            except BifrostError as exc:
                reply.reject(exc)
                return
            self._comply_then(
                new,
                ctx.cid,
                reply,
                lambda: self._to_execution(
                    methods.ORDER_REPLACE,
                    command.to_wire(),
                    ctx.cid,
                    reply,
                    reply.resolve,
                    new.client_order_id,
                ),
            )

        self._to_execution(
            methods.ORDER_GET, {"client_order_id": client_id}, ctx.cid, reply, got_old
        )
        return reply

    def cancel(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`order.cancel`: allowed in every trading state (a cancel only lowers risk)."""
        command = CancelOrder.from_wire(params)
        reply = ctx.defer()
        self._to_execution(methods.ORDER_CANCEL, command.to_wire(), ctx.cid, reply, reply.resolve)
        return reply

    def cancel_all(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`orders.cancel_all`: every open order, or one strategy's (a strategy stopping)."""
        reply = ctx.defer()
        self._to_execution(methods.ORDERS_CANCEL_ALL, params, ctx.cid, reply, reply.resolve)
        return reply

    def _check(self, order: SubmitOrder, cid: str, replacing: str | None = None) -> None:
        """Risk's own checks; a refusal is recorded as a breach and raised. A pass holds
        the order as open until execution reports it."""
        try:
            self.engine.check(order, replacing=replacing)
        except Rejected as exc:
            self._breach(exc.details.get("rule", "?"), exc.message, order, cid)
            raise
        self.engine.hold(order)
        # Logged before compliance is asked, so a trace reads in causal order.
        self.log.info(
            "risk.passed",
            cid,
            symbol=order.symbol,
            side=order.side.value,
            quantity=order.quantity,
            replacing=replacing,
        )

    def _comply_then(
        self, order: SubmitOrder, cid: str, reply: Deferred, then: Callable[[], None]
    ) -> None:
        """Compliance checks what risk passed, when the deployment has it, then `then`
        runs; a refusal, or no answer within its deadline, refuses the order."""
        if self.compliance is None:
            then()
            return

        def refused(error: BifrostError) -> None:
            self.engine.release(order.client_order_id)
            if isinstance(error, Unavailable | Timeout):
                error = Unavailable(
                    "compliance is not answering, so no order can pass (fail closed); "
                    "start it with `bifrost up`",
                    {"service": "compliance", "hop": "compliance"},
                )
            reply.reject(error)

        self.compliance.send(
            methods.COMPLIANCE_CHECK,
            order.to_wire(),
            cid=cid,
            timeout_ms=COMPLIANCE_WAIT_MS,
            on_reply=lambda _: then(),
            on_error=refused,
        )

    def _to_execution(
        self,
        method: str,
        params: dict[str, Any],
        cid: str,
        reply: Deferred,
        on_reply: Callable[[Any], None],
        entering: str | None = None,
    ) -> None:
        """Send one order change to execution; its failure answers the caller, naming
        the hop. `entering` names an order held by risk that a refusal releases (not a
        silence: execution may have acted on it)."""

        def failed(error: BifrostError) -> None:
            if isinstance(error, Timeout):
                error = Timeout(
                    f"execution did not answer {method} within {EXECUTION_WAIT_MS} ms; "
                    "its outcome is unknown (see `bifrost orders`)",
                    {"service": "execution", "hop": "execution"},
                )
            elif entering is not None:
                self.engine.release(entering)
            if isinstance(error, Unavailable) and "venue" in error.details:
                # Execution answered: the order's venue is down (its words name it).
                error.details["hop"] = "execution"
            elif isinstance(error, Unavailable):
                error = Unavailable(
                    f"execution is not answering, so {method} cannot go through; "
                    "start it with `bifrost up`",
                    {"service": "execution", "hop": "execution"},
                )
            reply.reject(error)

        if self.execution is None:
            failed(Unavailable(f"this deployment has no execution service for {method}"))
            return
        self.execution.send(
            method,
            params,
            cid=cid,
            timeout_ms=EXECUTION_WAIT_MS,
            on_reply=on_reply,
            on_error=failed,
        )

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

    def kill(self, params: dict[str, Any], ctx: CallContext) -> Deferred:
        """`risk.kill`: HALT, cancel every open order, stop every strategy; timed. The
        answer comes once execution and the strategy service answered (or failed)."""
        started = time.monotonic()
        self._set_trading(TradingState.HALTED, params.get("reason") or "kill switch", ctx.cid)
        reply = ctx.defer()

        def done(canceled: list[str], stopped: list[str]) -> None:
            reply.resolve(
                {
                    "state": self.engine.state.value,
                    "canceled": canceled,
                    "strategies_stopped": stopped,
                    "seconds": round(time.monotonic() - started, 4),
                }
            )

        self._cancel_everything(ctx.cid, done)
        return reply

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

    def _cancel_everything(
        self, cid: str, then: Callable[[list[str], list[str]], None] = lambda c, s: None
    ) -> None:
        """Cancel every open order at execution, then stop every live strategy, without
        waiting; `then(canceled ids, stopped strategies)` runs once both answered. A
        failure is logged and the rest goes on."""

        def stop_strategies(canceled: list[str]) -> None:
            if self.strategy is None:
                then(canceled, [])
                return

            def not_stopped(error: BifrostError) -> None:
                self.log.error("risk.stop_strategies_failed", cid, error=error.message)
                then(canceled, [])

            self.strategy.send(
                methods.STRATEGIES_STOP_ALL,
                {},
                cid=cid,
                timeout_ms=EXECUTION_WAIT_MS,
                on_reply=lambda reply: then(canceled, reply["stopped"]),
                on_error=not_stopped,
            )

        def not_canceled(error: BifrostError) -> None:
            self.log.error("risk.cancel_failed", cid, error=error.message)
            stop_strategies([])

        if self.execution is None:
            not_canceled(Unavailable("this deployment has no execution service"))
            return
        self.execution.send(
            methods.ORDERS_CANCEL_ALL,
            {},
            cid=cid,
            timeout_ms=EXECUTION_WAIT_MS,
            on_reply=lambda reply: stop_strategies(reply["canceled"]),
            on_error=not_canceled,
        )

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
