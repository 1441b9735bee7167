"""Function-calling ("tool") definitions of the API, for chat front-ends.

A chat model that can call tools needs each endpoint as a name, a description and a
JSON Schema of its arguments. They are derived from the same pydantic models that
validate the requests, so they cannot drift from what the API accepts. References are
inlined because several function-calling clients do not resolve `$ref`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from service import schemas


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    return _inline(schema, schema.get("$defs", {}))


TOOLS: tuple[tuple[str, str, str, type[BaseModel]], ...] = (
    (
        "boussole_recommend",
        "POST /v1/recommend",
        "Given a city's problem in plain French or English, return the UN-Habitat "
        "people-centred smart city guidelines' principles and measures (grouped by the "
        "actor they address), related city examples and pillars, each with a citation to "
        "quote. Says in_scope=false when the guidelines do not cover the problem.",
        schemas.RecommendRequest,
    ),
    (
        "boussole_search",
        "POST /v1/search",
        "Search the guidelines and related UN-Habitat documents for passages relevant to a "
        "query, with optional filters (document, kind, pillar, actor, language). Each result "
        "has its citation, e.g. 'HSP/HA.2/14, para. 40 (b)'.",
        schemas.SearchRequest,
    ),
)


def tool_definitions() -> list[dict[str, Any]]:
    """OpenAI-style function definitions; `x-endpoint` says which route to call."""
    return [
        {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": parameters_schema(model)},
            "x-endpoint": endpoint,
        }
        for name, endpoint, description, model in TOOLS
    ]
