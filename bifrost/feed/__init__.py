"""Market feeds: sources of quotes and trades for the data service."""
