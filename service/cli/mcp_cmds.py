"""`boussole mcp`: the MCP server over stdio, for desktop chat assistants.

The command runs the FastAPI app's own lifespan, so the index is opened and wrapped exactly
as for `boussole serve` (same search path), and serves the app's MCP server on stdin/stdout.
The SDK diverts file descriptor 1 to stderr while it serves, and the index is opened inside
that, so nothing printed while loading can corrupt the protocol. It lives here, above the
app, so that the MCP package below the app never imports it.
"""

from __future__ import annotations

import logging

import click

from boussole.service.cli.options import data_dir_option, model_option
from boussole.service.settings import Settings


async def serve_stdio(settings: Settings) -> None:
    from mcp.server.stdio import stdio_server

    from boussole.service.app import create_app

    app = create_app(settings)
    async with stdio_server() as (read_stream, write_stream):
        async with app.router.lifespan_context(app):
            server = app.state.mcp_server
            await server.run(read_stream, write_stream, server.create_initialization_options())


@click.command("mcp")
@data_dir_option
@model_option
def mcp(data_dir, model: str | None) -> None:
    """Serve the MCP server on stdin/stdout (a chat assistant starts this command itself;
    for HTTP clients, `boussole serve` serves the same server at /mcp)."""
    import anyio

    from boussole.errors import BoussoleError

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
