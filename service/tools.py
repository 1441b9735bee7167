"""The tools Boussole offers chat assistants, defined once for every way of calling them.

A chat model that can call tools needs each one as a name, a description and a JSON Schema
of its arguments. `TOOLS` is the single table: the MCP server (`service.mcp`) lists it,
`/v1/tools` gives them as OpenAI-style function definitions, and the argument schemas are derived from the same pydantic models that
validate the HTTP requests (and so appear in the OpenAPI document), so none of the three
can drift from what the API accepts. References are inlined because several
function-calling clients do not resolve `$ref`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from boussole.service import schemas


class PassageRequest(BaseModel):
    """Arguments of `get_passage` (the route takes them from the path and query string)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = Field(
        description="A passage id from search_guidelines or recommend_measures, e.g. hsp-ha-2-14:40.b."
    )
    before: int = Field(2, ge=0, le=10, description="How many passages before it to include (0–10).")
    after: int = Field(2, ge=0, le=10, description="How many passages after it to include (0–10).")


class NoArguments(BaseModel):
    """Arguments of `list_documents`: none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class ToolSpec:
    name: str  # the MCP tool name
    title: str
    description: str  # written for a model choosing between tools
    request: type[BaseModel]  # validates the arguments; its schema is the input schema
    response: type[BaseModel]  # the route's response model; its schema is the output schema
    endpoint: str  # the HTTP route that answers the same call
    function: str  # name in /v1/tools (function names in several clients allow no spaces or dots)

    @property
    def arguments_in(self) -> str:
        """Where the HTTP route takes the arguments: its JSON body, or its path and query string."""
        return "body" if self.endpoint.startswith("POST ") else "path-and-query"


_CITES = (
    "each with the citation to quote as written (e.g. 'HSP/HA.2/14, para. 40 (b)'), the "
    "document title, kind, pillar, actor, text and passage id. Passages are shown in the "
    "question's language (answer_lang 'auto') when a version exists: `translation` then says "
    "'unofficial' (Boussole's own translation; say so when quoting) and `original` holds the "
    "authoritative French text and its citation"
)

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="recommend_measures",
        title="Recommend measures for a city's problem",
        description="Use this first when someone asks what a city should do about a problem "
        "(described in plain French or English): it returns what UN-Habitat's International "
        "Guidelines on People-Centred Smart Cities (HSP/HA.2/14) recommend — the relevant "
        "principles, the measures grouped by the actor they are addressed to (local-regional, "
        f"national, stakeholders, joint = all actors together), related city examples and the "
        f"pillars involved, {_CITES}. The answer stops where the evidence stops (a few items); "
        "`more` lists the next ones, weaker matches. Give `actor` to keep only the measures for "
        "that actor (and the joint ones); `all` means every actor. When in_scope is false the "
        "guidelines do not cover the problem: say so instead of giving advice (weak_matches "
        "then lists the closest passages, which are not recommendations).",
        request=schemas.RecommendRequest,
        response=schemas.RecommendResponse,
        endpoint="POST /v1/recommend",
        function="boussole_recommend",
    ),
    ToolSpec(
        name="search_guidelines",
        title="Search the guidelines",
        description="Search the guidelines and related UN-Habitat documents for the passages "
        "closest to a question or topic in French or English, optionally filtered by document, "
        "kind (principle, measure, …), pillar, actor or language. Use it to check what the "
        "documents say on a specific point or to find passages recommend_measures does not "
        f"return. Returns ranked passages, {_CITES}, and in_scope/confidence: when in_scope is "
        "false nothing in the documents is a good match.",
        request=schemas.SearchRequest,
        response=schemas.SearchResponse,
        endpoint="POST /v1/search",
        function="boussole_search",
    ),
    ToolSpec(
        name="get_passage",
        title="Read a passage in context",
        description="Read one passage in full by its id (from search_guidelines or "
        "recommend_measures results) together with the passages just before and after it in "
        "the same document, to quote it accurately or to understand its context. Returns the "
        "passage and its neighbours in reading order, each with citation, document title, kind, "
        "pillar and actor.",
        request=PassageRequest,
        response=schemas.ChunkContextResponse,
        endpoint="GET /v1/chunks/{chunk_id}",
        function="boussole_get_passage",
    ),
    ToolSpec(
        name="list_documents",
        title="List the source documents",
        description="List the documents Boussole searches (id, title, UN symbol, language, "
        "kind, date). Use it to tell the user what the sources are, or to find the document "
        "ids that the doc filter of search_guidelines accepts.",
        request=NoArguments,
        response=schemas.DocumentsResponse,
        endpoint="GET /v1/documents",
        function="boussole_list_documents",
    ),
)
BY_NAME = {spec.name: spec for spec in TOOLS}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's request (validation) JSON Schema, with references inlined."""
    schema = model.model_json_schema()
    return _inline(schema, schema.get("$defs", {}))


def output_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's response (serialization) JSON Schema, with references inlined."""
    schema = model.model_json_schema(mode="serialization")
    return _inline(schema, schema.get("$defs", {}))


def input_schema(spec: ToolSpec, filter_values: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The argument schema of a tool; with the index's `filter_values`, each search filter
    lists its valid values as an enum, so a model picks a pillar or actor that exists."""
    schema = parameters_schema(spec.request)
    properties = schema.get("properties", {})
    filters = properties.get("filters", {}).get("properties")
    if filter_values and (filters or "answer_lang" in properties):
        schema = copy.deepcopy(schema)
    if filters and filter_values:
        for name, prop in schema["properties"]["filters"]["properties"].items():
            if filter_values.get(name):
                prop["items"]["enum"] = list(filter_values[name])
    if "answer_lang" in properties and filter_values and filter_values.get("lang"):
        schema["properties"]["answer_lang"]["enum"] = ["auto", *filter_values["lang"]]
    return schema


def _with_function_names(description: str) -> str:
    for spec in TOOLS:
        description = description.replace(spec.name, spec.function)
    return description


def tool_definitions(filter_values: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """OpenAI-style function definitions, with the index's filter values as enums.

    `x-endpoint` names the route that answers a call and `x-arguments` where it takes the
    arguments: the JSON body ("body"), or the path and query string ("path-and-query":
    `id` fills the path's `{chunk_id}`, the others go in the query string).
    """
    return [
        {
            "type": "function",
            "function": {
                "name": spec.function,
                "description": _with_function_names(spec.description),
                "parameters": input_schema(spec, filter_values),
            },
            "x-endpoint": spec.endpoint,
            "x-arguments": spec.arguments_in,
        }
        for spec in TOOLS
    ]
