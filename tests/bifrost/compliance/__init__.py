"""Tests of bifrost/compliance."""
