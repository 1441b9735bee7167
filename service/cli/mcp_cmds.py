"""`boussole mcp`: the MCP server over stdio, for desktop chat assistants."""

from __future__ import annotations

import logging

import click

from boussole.service.cli.options import data_dir_option, model_option
from boussole.service.settings import Settings


@click.command("mcp")
@data_dir_option
@model_option
def mcp(data_dir, model: str | None) -> None:
    """Serve the MCP server on stdin/stdout (a chat assistant starts this command itself;
    for HTTP clients, `boussole serve` serves the same server at /mcp)."""
    import anyio

    from boussole.errors import BoussoleError
    from boussole.service.mcp.stdio import serve_stdio

    settings = Settings.from_env(data_dir=data_dir, model=model)
    if not settings.index_dir.is_dir() or not any(settings.index_dir.iterdir()):
        raise click.ClickException(
            f"No index in {settings.index_dir}: run `boussole build` first "
            "(or point --data-dir / BOUSSOLE_DATA_DIR at a built data folder)."
        )
    # stdout carries the protocol: log only warnings, and to stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(name)s: %(message)s")
    try:
        anyio.run(serve_stdio, settings)
    except BoussoleError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt:
        pass


COMMANDS = [mcp]
