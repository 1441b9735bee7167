"""The MCP server over stdio, for desktop assistants that start `boussole mcp` themselves.

It runs the FastAPI app's own lifespan, so the index is opened and wrapped exactly as for
`boussole serve` (same search path), and serves the app's MCP server on stdin/stdout. The
SDK diverts file descriptor 1 to stderr while it serves, and the index is opened inside
that, so nothing printed while loading can corrupt the protocol.
"""

from __future__ import annotations

from mcp.server.stdio import stdio_server

from boussole.service.settings import Settings


async def serve_stdio(settings: Settings) -> None:
    from boussole.service.app import create_app

    app = create_app(settings)
    async with stdio_server() as (read_stream, write_stream):
        async with app.router.lifespan_context(app):
            server = app.state.mcp_server
            await server.run(read_stream, write_stream, server.create_initialization_options())
