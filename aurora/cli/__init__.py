"""The `aurora` command: thin commands that parse, call one pipeline function, and print."""

from aurora.cli.app import app, main

__all__ = ["app", "main"]
