"""What backtests and live trading share: the Strategy API, the simulated exchange and costs.

The paper broker fills live orders through the same SimulatedExchange that backtests use,
and a live strategy is the same Strategy class; keeping them here lets the live path
(execution, live runner, risk) run without importing the backtester.
"""
