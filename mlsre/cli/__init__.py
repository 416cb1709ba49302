"""The command line: typer apps, one module per command group. Thin: parse, call, render."""
