"""Tests of the bifrost library, mirroring bifrost/."""
