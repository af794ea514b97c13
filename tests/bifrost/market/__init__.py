"""Tests of bifrost.market: timeframes, the import engine and its parts."""
