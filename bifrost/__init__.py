"""Bifrost: the trading workstation library (domain model, engines, storage, bus, client)."""

__version__ = "0.1.0"
