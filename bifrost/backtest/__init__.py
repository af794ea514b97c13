"""Backtesting: strategies, simulated exchange, event-driven and vectorized engines."""
