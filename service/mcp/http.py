"""The MCP server over streamable HTTP, at /mcp in the FastAPI app.

It answers from the searcher the app's lifespan loaded (`app.state.searcher`, the one the
HTTP routes use): no second model in memory. The SDK's session manager must run inside the
app's lifespan (`running`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from boussole.service.errors_http import ServiceNotReady
from boussole.service.mcp.server import build_server
from boussole.service.recommend import SearchBackend

PATH = "/mcp"


def mount(app: FastAPI, host: str) -> None:
    """Add the /mcp route to `app`; `host` is where it listens (the SDK turns DNS-rebinding
    protection on for a loopback host)."""

    def searcher() -> SearchBackend:
        loaded = getattr(app.state, "searcher", None)
        if loaded is None:
            raise ServiceNotReady("The index is not loaded yet; try again shortly.")
        return loaded

    server = build_server(searcher)
    # The SDK's Starlette app holds one route, PATH; taking the route rather than mounting
    # the app keeps the URL /mcp (a mount would answer /mcp/ and redirect /mcp).
    app.router.routes.extend(server.streamable_http_app(streamable_http_path=PATH, host=host).routes)
    app.state.mcp_server = server


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """Run the MCP session manager for as long as the app runs."""
    async with app.state.mcp_server.session_manager.run():
        yield
