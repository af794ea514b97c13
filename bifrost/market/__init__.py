"""Market data engines: timeframes, bar building, import, validation, replay."""
