"""The MCP server: Boussole's tools, documents and one prompt for chat assistants.

Built on the SDK's low-level `Server` rather than `MCPServer`'s decorators because the tool
schemas must be the API's own (`service.tools.TOOLS`, derived from the request models),
not ones inferred from Python signatures. Each tool call validates its arguments with the
route's request model and then calls the route function itself (`service.routes`) in a
worker thread, so an MCP answer is the HTTP answer: same search path, same scope signal,
same response model. Failures come back as tool errors carrying the API's messages
(an unknown filter value lists the valid ones); the session goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel, ValidationError

from boussole.errors import BoussoleError
from boussole.index.filters import Filters
from boussole.service import errors_http, routes, schemas
from boussole.service.mcp import render
from boussole.service.recommend import SearchBackend
from boussole.service.tools import BY_NAME, TOOLS, PassageRequest, input_schema, output_schema

log = logging.getLogger("boussole.mcp")

SearcherSource = Callable[[], SearchBackend]  # the searcher the HTTP routes use; raises if not loaded

INSTRUCTIONS = (
    "Boussole answers questions about UN-Habitat's International Guidelines on People-Centred "
    "Smart Cities (HSP/HA.2/14) and related documents, in French or English. For a city's "
    "problem call recommend_measures; for a specific point call search_guidelines; read a "
    "passage in context with get_passage. Quote the citation of every passage you rely on, as "
    "given (e.g. 'HSP/HA.2/14, para. 40 (b)'), and say so when in_scope is false."
)
PROMPT = types.Prompt(
    name="advise_city",
    title="Advise a city on a problem",
    description="Advice to a city on a problem, grounded in the guidelines' principles and "
    "measures (fetched with recommend_measures) and citing each one.",
    arguments=[
        types.PromptArgument(name="problem", description="The city's problem, in French or English.", required=True),
        types.PromptArgument(
            name="actor",
            description="Optional: local-regional, national, stakeholders, joint (all actors together), "
            "or all (every actor, the default).",
            required=False,
        ),
    ],
)
UNEXPECTED = "Something went wrong on the server; it is logged."


# ---------------------------------------------------------------- calling the routes


def _search(request: Any, searcher: SearchBackend) -> BaseModel:
    return routes.search(request, searcher, routes.get_scope_assessor())


def _recommend(request: Any, searcher: SearchBackend) -> BaseModel:
    return routes.recommend_route(request, searcher, routes.get_scope_assessor())


def _passage(request: Any, searcher: SearchBackend) -> BaseModel:
    assert isinstance(request, PassageRequest)
    return routes.chunk_in_context(searcher, request.id, before=request.before, after=request.after)


def _documents(request: Any, searcher: SearchBackend) -> BaseModel:
    # The MCP session has no HTTP request to read the served version from: the build time
    # comes from the searcher's own manifest.
    manifest = getattr(searcher, "manifest", None)
    version = schemas.IndexVersionOut(index_built_at=getattr(manifest, "built_at", None))
    return routes.documents(searcher, version)


# Each tool is answered by the route function that answers it over HTTP.
ROUTE_OF: dict[str, Callable[[Any, SearchBackend], BaseModel]] = {
    "search_guidelines": _search,
    "recommend_measures": _recommend,
    "get_passage": _passage,
    "list_documents": _documents,
}
assert ROUTE_OF.keys() == BY_NAME.keys(), "every tool in service.tools.TOOLS needs its route"


def validation_message(exc: ValidationError) -> str:
    """The sentences the HTTP API gives for the same invalid arguments."""
    # errors_http.describe reads locations as the API reports them, under "body".
    described = [errors_http.describe({**e, "loc": ("body", *e["loc"])}) for e in exc.errors()]
    return " ".join(message for _, message, _, _ in described) or "The arguments are not valid."


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


def _passage_links(data: Any) -> list[types.ResourceLink]:
    """A resource link per passage in a result, so a client can open it (deduplicated)."""
    found: dict[str, str] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("id"), str) and isinstance(node.get("citation"), str):
                found.setdefault(node["id"], node["citation"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return [
        types.ResourceLink(uri=render.passage_uri(cid), name=cid, title=citation, mime_type="text/markdown")
        for cid, citation in found.items()
    ]


# ---------------------------------------------------------------- the server


def build_server(searcher: SearcherSource) -> Server:
    """An MCP server answering from `searcher()`, looked up at each request so that it is
    the one the HTTP routes use (loaded once, in the app's lifespan)."""

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        try:
            values = searcher().filter_values()
        except BoussoleError:
            values = None  # not loaded yet: the schemas without enums are still right
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=spec.name,
                    title=spec.title,
                    description=spec.description,
                    input_schema=input_schema(spec, values),
                    output_schema=output_schema(spec.response),
                    annotations=types.ToolAnnotations(title=spec.title, read_only_hint=True, open_world_hint=False),
                )
                for spec in TOOLS
            ]
        )

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        spec = BY_NAME.get(params.name)
        if spec is None:
            return _tool_error(f"Unknown tool '{params.name}'. Tools: {', '.join(BY_NAME)}.")
        try:
            request = spec.request.model_validate(params.arguments or {})
            response = await anyio.to_thread.run_sync(ROUTE_OF[spec.name], request, searcher())
        except ValidationError as exc:
            return _tool_error(validation_message(exc))
        except BoussoleError as exc:
            return _tool_error(str(exc))
        except Exception:  # a tool error, never a crashed session
            log.exception("unexpected error in MCP tool %s", spec.name)
            return _tool_error(UNEXPECTED)
        data = response.model_dump(mode="json")
        text = types.TextContent(text=json.dumps(data, ensure_ascii=False))
        return types.CallToolResult(content=[text, *_passage_links(data)], structured_content=data)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        documents = _protocol_errors(lambda: searcher().documents)
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=render.document_uri(doc.id),
                    name=doc.id,
                    title=doc.title,
                    description=f"The whole document, passage by passage with citations"
                    f"{f' ({doc.symbol})' if doc.symbol else ''}.",
                    mime_type="text/markdown",
                )
                for doc in documents
            ]
        )

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=render.PASSAGE_URI,
                    name="passage",
                    title="A passage with its citation",
                    description="One passage by id (e.g. hsp-ha-2-14:40.b), with its citation, "
                    "document, kind, pillar and actor.",
                    mime_type="text/markdown",
                )
            ]
        )

    async def read_resource(ctx: Any, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        text = await anyio.to_thread.run_sync(_protocol_errors, lambda: _read(searcher(), uri))
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, text=text, mime_type="text/markdown")]
        )

    async def list_prompts(ctx: Any, params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[PROMPT])

    async def get_prompt(ctx: Any, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != PROMPT.name:
            raise MCPError(
                code=types.INVALID_PARAMS, message=f"Unknown prompt '{params.name}'. Prompts: {PROMPT.name}."
            )
        arguments = {k: v for k, v in (params.arguments or {}).items() if v not in (None, "")}
        try:
            request = schemas.RecommendRequest.model_validate(arguments)
        except ValidationError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=validation_message(exc)) from None
        answer = await anyio.to_thread.run_sync(_protocol_errors, lambda: _recommend(request, searcher()))
        assert isinstance(answer, schemas.RecommendResponse)
        return types.GetPromptResult(
            description=PROMPT.description,
            messages=[types.PromptMessage(role="user", content=types.TextContent(text=advice_prompt(answer)))],
        )

    return Server(
        "boussole",
        version="0.1.0",
        title="Boussole",
        instructions=INSTRUCTIONS,
        get_tool_input_schema=lambda name: input_schema(BY_NAME[name]) if name in BY_NAME else None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


def _protocol_errors(read: Callable[[], Any]) -> Any:
    """Outside tool calls, the project's errors become MCP errors with the same message."""
    try:
        return read()
    except BoussoleError as exc:
        status, _ = errors_http.status_for(exc)
        code = types.INVALID_PARAMS if status < 500 else types.INTERNAL_ERROR
        raise MCPError(code=code, message=str(exc)) from None


def _read(backend: SearchBackend, uri: str) -> str:
    """The markdown of a document or passage URI."""
    titles = {doc.id: doc.title for doc in backend.documents}
    for prefix, kind in ((render.PASSAGE_URI, "passage"), (render.DOCUMENT_URI, "document")):
        head = prefix.removesuffix("{id}")
        if uri.startswith(head) and len(uri) > len(head):
            key = uri[len(head) :]
            if kind == "passage":
                return render.passage(schemas.ChunkOut.from_chunk(backend.chunk(key), titles), heading="#")
            return _document_text(backend, key, titles)
    raise MCPError(
        code=types.INVALID_PARAMS,
        message=f"Unknown resource '{uri}'. Documents are {render.DOCUMENT_URI}, passages {render.PASSAGE_URI}.",
    )


def _document_text(backend: SearchBackend, doc_id: str, titles: dict[str, str]) -> str:
    doc = next((d for d in backend.documents if d.id == doc_id), None)
    if doc is None:
        raise MCPError(
            code=types.INVALID_PARAMS,
            message=f"Unknown document '{doc_id}'. Documents: {', '.join(titles)}.",
        )
    # The search backend has no per-document listing: one passage of the document (a
    # one-result search restricted to it), then all its neighbours in reading order.
    hits = backend.search(doc.title, k=1, filters=Filters(doc=(doc.id,))).hits
    chunks = backend.neighbours(hits[0].chunk.id, before=1_000_000, after=1_000_000) if hits else []
    return render.document(
        schemas.DocumentOut.from_document(doc), [schemas.ChunkOut.from_chunk(c, titles) for c in chunks]
    )


def advice_prompt(answer: schemas.RecommendResponse) -> str:
    """The user message of `advise_city`: the task, the rules on citing, and the answer."""
    actor = f" (the advice is for: {answer.actor})" if answer.actor else ""
    if not answer.in_scope:
        return (
            f"A city asks for advice on this problem{actor}: {answer.problem}\n\n"
            "Boussole (recommend_measures) found that UN-Habitat's International Guidelines on "
            f"People-Centred Smart Cities do not cover it: {answer.message} Tell the city so "
            "plainly; do not present unrelated passages of the guidelines as advice."
        )
    return (
        f"Advise a city on this problem{actor}: {answer.problem}\n\n"
        "Base the advice only on the principles, measures and city examples below, which "
        "Boussole's recommend_measures tool returned from UN-Habitat's International Guidelines "
        "on People-Centred Smart Cities. Lead with the measures for the city's own level of "
        "government, say who else must act, and quote the citation of every passage you rely "
        'on exactly as given (for example "HSP/HA.2/14, para. 40 (b)"). If a passage needs '
        "context, read it with get_passage; if the passages do not answer part of the problem, "
        "say so.\n\n" + render.recommendation(answer)
    )
