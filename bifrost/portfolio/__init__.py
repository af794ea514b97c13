"""The portfolio: an exact-money ledger of fills, fees and cash; positions and P&L."""
