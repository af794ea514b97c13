"""The strategies that ship with Bifrost, by registry name."""

from __future__ import annotations

from bifrost.strategy.builtin.bollinger_breakout import BollingerBreakout
from bifrost.strategy.builtin.ml_signal import MLSignal
from bifrost.strategy.builtin.momentum_rotation import MomentumRotation
from bifrost.strategy.builtin.rsi_reversion import RsiReversion
from bifrost.strategy.builtin.sma_cross import SmaCross
from bifrost.strategy.strategy import Strategy

BUILTIN: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (SmaCross, RsiReversion, BollingerBreakout, MomentumRotation, MLSignal)
}
