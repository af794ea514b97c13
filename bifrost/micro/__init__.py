"""Market microstructure: the L2 order book, book and trade metrics, and their live tracking.

Plain library code: the microstructure daemon serves it over the bus, the CLI runs it
in-process on stored quotes and trades, tests call it directly.
"""
