"""Risk: pre-trade checks, trading states, and value at risk."""
