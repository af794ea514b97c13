"""Audits of live trading against research: does a live strategy do what its backtest said?"""
