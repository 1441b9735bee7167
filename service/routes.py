"""HTTP routes: map requests to library calls and typed results to response models.

`search` and `recommend_route` are plain functions (the MCP server calls them too); their
HTTP endpoints run them, and the JSON of their answer, on the app's `SearchWorkers`
(service.workers): a couple of threads, so the event loop stays free for /healthz and
/readyz under any load. The other routes are cheap lookups. Every route holds the
searcher it was given for its whole run (`get_searcher`), so a hot reload closes the
searcher it replaces only after its last request. No try/except here: errors go to
errors_http.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from boussole.service import schemas
from boussole.service.errors_http import ServiceNotReady
from boussole.service.i18n import scope_reason
from boussole.service.recommend import Assess, Item, SearchBackend, recommend
from boussole.service.tools import tool_definitions

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorResponse, "description": description}
    for status, description in {
        404: "Unknown chunk id.",
        422: "Invalid parameters; `error.message` says which and why, `error.valid` lists "
        "accepted values when they are finite.",
        503: "The index is not loaded, or the server is busy (then with `Retry-After`).",
    }.items()
}

router = APIRouter()
READY_PROBE = "ville"  # the one-word search /readyz checks once (service.app warms it up)
log = logging.getLogger("boussole.service")


def current_searcher(request: Request) -> SearchBackend:
    """The searcher being served now (loaded in the lifespan); 503 when there is none."""
    searcher = getattr(request.app.state, "searcher", None)
    if searcher is None:
        raise ServiceNotReady("The index is not loaded yet; try again shortly.")
    return searcher


async def get_searcher(request: Request) -> AsyncIterator[SearchBackend]:
    """The served searcher, held until the request is done: a hot reload closes the one it
    replaces (its encoder thread) only after the last request holding it. Tests override
    this dependency."""
    reloader = getattr(request.app.state, "reloader", None)
    if reloader is None:  # an app without the lifespan's reloader
        yield current_searcher(request)
        return
    with reloader.lease() as searcher:
        yield searcher


def get_scope_assessor() -> Assess:
    """index.scope.assess_scope; tests override it to pin the in/out-of-scope verdict."""
    from boussole.index.scope import assess_scope

    return assess_scope


def get_index_version(request: Request) -> schemas.IndexVersionOut:
    """The index version being served (None fields when the app was given no index folder)."""
    info = getattr(request.app.state, "index_info", None)
    if info is None:
        return schemas.IndexVersionOut()
    return schemas.IndexVersionOut(index_version=info.version, index_built_at=info.built_at)


Searcher = Annotated[SearchBackend, Depends(get_searcher)]
IndexVersion = Annotated[schemas.IndexVersionOut, Depends(get_index_version)]
Assessor = Annotated[Assess, Depends(get_scope_assessor)]


def _titles(searcher: SearchBackend) -> dict[str, str]:
    return {doc.id: doc.title for doc in searcher.documents}


async def _on_workers(request: Request, answer: Callable[..., BaseModel], *args) -> Response:
    """`answer(*args)` and its JSON on the app's search workers (FastAPI's threadpool for an
    app without them); the same bytes FastAPI would write for the response model."""

    def work() -> bytes:
        return answer(*args).model_dump_json(by_alias=True).encode()

    workers = getattr(request.app.state, "search_workers", None)
    body = await (workers.run(work) if workers is not None else run_in_threadpool(work))
    return Response(content=body, media_type="application/json")


@router.post("/v1/search", response_model=schemas.SearchResponse, responses=ERRORS, tags=["search"], name="search")
async def search_endpoint(
    request: Request, body: schemas.SearchRequest, searcher: Searcher, assess: Assessor
) -> Response:
    """Passages of the corpus most relevant to a query, in French or English."""
    return await _on_workers(request, search, body, searcher, assess)


def search(body: schemas.SearchRequest, searcher: SearchBackend, assess: Assess) -> schemas.SearchResponse:
    """Passages of the corpus most relevant to a query, in French or English."""
    filters = body.filters.to_filters()  # the searcher checks them against the index's values
    result = searcher.search(body.query, k=body.k, filters=filters, answer_lang=body.answer_lang)
    scope = assess(result)
    titles = _titles(searcher)
    shown = result.answer_lang or result.query_lang
    return schemas.SearchResponse(
        query=result.query,
        query_lang=result.query_lang,
        answer_lang=shown,
        in_scope=scope.in_scope,
        confidence=round(float(scope.confidence), 3),
        scope_reason=scope_reason(scope.reason, shown),
        results=[schemas.SearchHit.from_hit(hit, titles) for hit in result.hits],
        took_ms=round(result.took_ms, 1),
    )


@router.post(
    "/v1/recommend",
    response_model=schemas.RecommendResponse,
    responses=ERRORS,
    tags=["search"],
    name="recommend_route",
)
async def recommend_endpoint(
    request: Request, body: schemas.RecommendRequest, searcher: Searcher, assess: Assessor
) -> Response:
    """Principles, measures by actor, city examples and pillars answering a city's problem,
    or `in_scope: false` when the problem lies outside the guidelines."""
    return await _on_workers(request, recommend_route, body, searcher, assess)


def recommend_route(
    body: schemas.RecommendRequest, searcher: SearchBackend, assess: Assess
) -> schemas.RecommendResponse:
    """Principles, measures by actor, city examples and pillars answering a city's problem,
    or `in_scope: false` when the problem lies outside the guidelines."""
    rec = recommend(searcher, body.problem, actor=body.actor, assess=assess, answer_lang=body.answer_lang)
    titles = _titles(searcher)

    def items(values: tuple[Item, ...]) -> list[schemas.RecommendItem]:
        return [
            schemas.RecommendItem(
                **schemas.ChunkOut.from_chunk(i.chunk, titles, i.original).model_dump(), score=i.score
            )
            for i in values
        ]

    return schemas.RecommendResponse(
        problem=rec.problem,
        query_lang=rec.query_lang,
        answer_lang=rec.answer_lang or rec.query_lang,
        actor=rec.actor,
        in_scope=rec.scope.in_scope,
        confidence=min(1.0, max(0.0, rec.scope.confidence)),
        scope_reason=scope_reason(rec.scope.reason, rec.answer_lang or rec.query_lang),
        message=rec.message,
        principles=items(rec.principles),
        measures=[schemas.ActorGroupOut(actor=g.actor, measures=items(g.measures)) for g in rec.measures],
        examples=items(rec.examples),
        pillars=[schemas.PillarOut(key=p.key, title=p.title, count=p.count) for p in rec.pillars],
        weak_matches=items(rec.weak_matches),
        more=items(rec.more),
        took_ms=rec.took_ms,
    )


@router.get(
    "/v1/chunks/{chunk_id}",
    response_model=schemas.ChunkContextResponse,
    responses=ERRORS,
    tags=["documents"],
)
def chunk_in_context(
    searcher: Searcher,
    chunk_id: Annotated[str, Path(description="e.g. hsp-ha-2-14:40.b", max_length=200)],
    before: Annotated[int, Query(ge=0, le=10)] = 2,
    after: Annotated[int, Query(ge=0, le=10)] = 2,
) -> schemas.ChunkContextResponse:
    """A passage with its neighbours in the same document, for "show in context"."""
    chunk = searcher.chunk(chunk_id)
    titles = _titles(searcher)
    return schemas.ChunkContextResponse(
        chunk=schemas.ChunkOut.from_chunk(chunk, titles),
        neighbours=[
            schemas.ChunkOut.from_chunk(c, titles) for c in searcher.neighbours(chunk_id, before=before, after=after)
        ],
    )


@router.get("/v1/documents", response_model=schemas.DocumentsResponse, tags=["documents"])
def documents(searcher: Searcher, version: IndexVersion) -> schemas.DocumentsResponse:
    """The documents of the corpus, and the index version they come from."""
    return schemas.DocumentsResponse(
        documents=[schemas.DocumentOut.from_document(d) for d in searcher.documents],
        **version.model_dump(),
    )


@router.get("/v1/filters", response_model=schemas.FiltersResponse, tags=["documents"])
def filter_values(searcher: Searcher) -> schemas.FiltersResponse:
    """Valid values of each search filter."""
    return schemas.FiltersResponse(values=searcher.filter_values())


@router.get("/v1/tools", tags=["documents"])
def tools(searcher: Searcher) -> list[dict]:
    """The API as function-calling tool definitions for chat front-ends, with the index's
    valid filter values as enums."""
    return tool_definitions(searcher.filter_values())


@router.get("/healthz", response_model=schemas.HealthResponse, tags=["health"])
async def healthz() -> schemas.HealthResponse:
    """The process is alive (says nothing about the index)."""
    return schemas.HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=schemas.ReadyResponse,
    responses={503: ERRORS[503]},
    tags=["health"],
)
async def readyz(request: Request) -> schemas.ReadyResponse:
    """The index is loaded, has answered a one-word search, and its encoder is running;
    503 otherwise. Says which index version is served (a rebuilt index replaces it
    without a restart).

    Runs on the event loop and never searches once the probe has passed for the searcher
    in service: under load the threadpool is full of searches waiting for the encoder, and
    a health check that queued behind them would report a busy server as a dead one.
    """
    start = time.perf_counter()
    searcher = current_searcher(request)
    state = request.app.state
    if getattr(state, "ready_probe", None) is not searcher:
        try:
            result = await run_in_threadpool(searcher.search, READY_PROBE, k=1)
        except Exception:  # any failure here means "not ready", never a 500; details go to the log
            log.exception("readiness probe: the index does not answer queries")
            raise ServiceNotReady("The index does not answer queries; see the server log.") from None
        if not result.hits:
            raise ServiceNotReady("The index answered a test query with no results.")
        state.ready_probe = searcher
    embedder = getattr(searcher, "_embedder", None)
    if getattr(embedder, "alive", True) is False:
        raise ServiceNotReady("The query encoder has stopped.")
    version = get_index_version(request)
    return schemas.ReadyResponse(
        status="ready", took_ms=round((time.perf_counter() - start) * 1000, 1), **version.model_dump()
    )
