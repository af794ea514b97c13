"""The `bifrost` command line: Typer sub-apps mounted by cli/main.py."""
