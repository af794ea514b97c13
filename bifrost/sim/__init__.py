"""What fills orders and what a strategy may read, shared by backtests and live trading.

The simulated exchange, account and cost models: the paper broker fills live orders
through the same SimulatedExchange that backtests use. The bounded data views and the
parameter constraints: the Strategy API (bifrost/strategy) builds on them. Keeping
these here lets the live path (execution, live runner, risk) run without importing
the backtester.
"""
