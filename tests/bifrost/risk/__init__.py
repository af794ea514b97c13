"""Tests of bifrost/risk."""
