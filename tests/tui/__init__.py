"""Tests of the TUI."""
