"""Running strategies live: the same Strategy classes on bus events, orders through risk."""
