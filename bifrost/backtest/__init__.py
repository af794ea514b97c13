"""Backtesting: event-driven, tick and vectorized engines, sweeps and walk-forward.

Strategies live in bifrost/strategy, the simulated exchange, account and costs in
bifrost/sim; the live path uses those without importing this package.
"""
