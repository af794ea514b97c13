"""Tests of bifrost/portfolio."""
