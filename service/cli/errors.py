"""Turn the project's exceptions into one-line CLI errors (no traceback for user mistakes)."""

from __future__ import annotations

import functools

import click

from ingest.errors import BoussoleError


def handle_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BoussoleError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper
