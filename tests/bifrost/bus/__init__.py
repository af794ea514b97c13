"""Tests of bifrost/bus: codec, schema, pub/sub and RPC."""
