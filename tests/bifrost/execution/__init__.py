"""Tests of bifrost/execution."""
