"""Tests of bifrost.backtest: statistics, simulated exchange and engines."""
