"""The Textual TUI: the trader's portal. It reaches daemons only through bifrost.client."""
