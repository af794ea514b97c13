"""The one strategy API for backtest, paper and live (DESIGN section 6).

`Strategy` (strategy.py) and what it is handed: the engine's context (context.py), its
bars as arrays (bars.py), indicators read bar by bar (indicator.py), news sentiment
(sentiment.py); the built-in strategies (builtin/) and loading one by name or from a
user's file (loader.py). The backtester and the live runner both run these; the
simulated exchange, account and costs they fill through are in bifrost/sim.
"""
