"""Tests of bifrost/feed."""
