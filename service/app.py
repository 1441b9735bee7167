"""The FastAPI application factory.

`create_app(settings)` builds an app with no module-level state: the searcher is opened in
the lifespan and put on `app.state`, routes reach it through `routes.get_searcher` (a
dependency tests override), errors go through `errors_http`, and chat assistants reach the
same searcher through the MCP server at /mcp (`service.mcp`). `uvicorn --factory
boussole.service.app:create_app_from_env` and `boussole serve` both use it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from boussole.errors import BoussoleError
from boussole.service import docs, errors_http, openapi, routes
from boussole.service.mcp import http as mcp_http
from boussole.service.middleware import HeadAsGet, SecurityHeaders
from boussole.service.recommend import SearchBackend
from boussole.service.reloader import RETIRE_GRACE, IndexReloader
from boussole.service.settings import Settings
from boussole.service.timeouts import BodyReadTimeout
from boussole.service.workers import SearchWorkers

if TYPE_CHECKING:
    from boussole.index.searcher import Searcher

log = logging.getLogger("boussole.service")
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 64 * 1024  # a 2,000-character query is at most 8 KiB of UTF-8
RELOAD_INTERVAL = 2.0  # seconds between two looks at the `data/index` pointer

SearcherOpener = Callable[[Settings], SearchBackend]


def open_index(settings: Settings) -> Searcher:
    """Open the index built by `boussole build` (slow: loads the model and the indexes).

    The version served is read once (`Searcher.open_served`), so a build publishing another one
    meanwhile cannot mix two versions.
    Query encoding goes through a `QueryBatcher` per encoder (e5, USE): concurrent
    searches share one forward pass, and only its worker thread touches the model, so
    searches need no global lock.
    A first search warms up the lazily initialised parts (language detection's profiles)
    before any concurrent request arrives, and leaves /readyz's probe query cached.
    """
    from boussole.index.backends.factory import create_backend
    from boussole.index.encoders.factory import load_encoder, load_second_encoder
    from boussole.index.searcher import Searcher
    from boussole.service.batching import DEFAULT_MAX_WAIT, QueryBatcher

    def encoders(manifest):
        model = load_encoder(manifest.model_id, settings.models_dir, encoder=settings.encoder)
        # int8 encodes one question per forward pass (index.encoders.onnx): waiting for company
        # would only delay a lone question. The batch then holds what queued meanwhile.
        single = getattr(model, "precision", None) == "int8"
        embedder = QueryBatcher(model, max_queue=settings.max_queue, max_wait=0.0 if single else DEFAULT_MAX_WAIT)
        # The second encoder batches too: its numpy forward pass streams each weight matrix
        # once per batch, so sixteen questions cost 0.85 ms each instead of 3.5 ms alone, and
        # a question's vector is the same alone or in a batch up to float noise (max
        # difference 1.3e-7, measured on 32 questions). No wait for company: under load the
        # questions that queue while it encodes form the next batch.
        second = QueryBatcher(
            load_second_encoder(settings.models_dir),
            max_queue=settings.max_queue,
            max_wait=0.0,
            name="boussole-second-encoder",
        )
        return embedder, second

    backend = create_backend(settings.backend_choice, settings.index_dir)
    searcher = Searcher.open_served(backend, settings.models_dir, settings.model, encoders)
    searcher.search(routes.READY_PROBE, k=1)
    return searcher


class ContentLengthLimit:
    """Refuse a declared body over `limit` bytes with the API's JSON error shape.

    FastAPI's own `max_body_size` (kept, on the router, for bodies sent without a
    Content-Length) answers such requests in plain text before any exception handler runs.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.limit:
                response = errors_http.error_response(
                    413,
                    "request_too_large",
                    f"The request body is {int(declared):,} bytes; the limit is "
                    f"{self.limit:,} (a query is at most 2,000 characters).",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings,
    open_searcher: SearcherOpener = open_index,
    *,
    preloaded: SearchBackend | None = None,
    reload_interval: float | None = RELOAD_INTERVAL,
    retire_grace: float = RETIRE_GRACE,
) -> FastAPI:
    """`preloaded`: a searcher the caller opened already (`boussole serve` opens it before
    the server starts, so that a broken index is one error line, not a traceback).
    `reload_interval`: how often to look for a newly built index (None: never).
    `retire_grace`: seconds a replaced index stays open for readers without a lease
    (service.reloader)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reloader = IndexReloader(
            app.state, settings, open_searcher, lambda searcher: searcher, reload_interval, grace=retire_grace
        )
        try:
            await run_in_threadpool(reloader.load, preloaded)
        except BoussoleError as exc:
            log.error(
                "Boussole cannot start: %s (index folder: %s). Run `boussole build` first, "
                "or point --data-dir / BOUSSOLE_DATA_DIR at a built data folder.",
                exc,
                settings.index_dir,
            )
            raise
        log.info("index loaded from %s", settings.index_dir)
        app.state.reloader = reloader
        app.state.search_workers = SearchWorkers(settings.search_threads, max_waiting=settings.max_queue)
        reloader.start()
        try:
            async with mcp_http.running(app):
                yield
        finally:
            app.state.search_workers.close()
            app.state.search_workers = None
            reloader.close()
            app.state.reloader = None

    app = FastAPI(
        title="Boussole",
        summary="UN-Habitat's International Guidelines on People-Centred Smart Cities, "
        "searchable in French and English, with citations.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from local assets by service.docs
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.searcher = None
    app.state.reloader = None
    app.state.search_workers = None
    app.state.index_info = None
    errors_http.install(app)
    app.add_middleware(ContentLengthLimit, limit=MAX_BODY_BYTES)
    if settings.cors_origins:  # closed unless origins are configured
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    docs.install(app)
    openapi.install(app)
    app.add_middleware(BodyReadTimeout, seconds=settings.body_timeout)
    app.include_router(routes.router, max_body_size=MAX_BODY_BYTES)
    mcp_http.mount(app, settings.host)  # the MCP server at /mcp, over the same searcher
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    return app


def create_app_from_env() -> FastAPI:
    """For `uvicorn --factory boussole.service.app:create_app_from_env` (settings from BOUSSOLE_*)."""
    return create_app(Settings.from_env())
