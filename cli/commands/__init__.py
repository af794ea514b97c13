"""One module per command group of the `bifrost` CLI."""
