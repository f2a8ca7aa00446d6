"""The `caloquant` command line (typer + rich)."""
