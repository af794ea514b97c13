"""Benchmarks: one script per measure, each beside its baseline."""
