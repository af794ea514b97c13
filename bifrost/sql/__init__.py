"""The SQL console: read-only queries across every service's DuckDB store."""
