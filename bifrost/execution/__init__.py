"""Order execution: the order life cycle, its journal, and broker adapters."""
