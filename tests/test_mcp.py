"""The MCP server, driven by the SDK's own client as a chat assistant would drive it.

Over stdio: a real `boussole mcp` subprocess over the session's built index. Over HTTP:
the real test server's /mcp (the same process as the JSON API). Each conversation lists
tools, resources and prompts, calls every tool, checks citations and structured fields,
and checks that bad arguments give tool errors after which the session goes on.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from boussole.ingest.models import Document
from boussole.service.mcp.server import build_server
from boussole.service.tools import TOOLS, output_schema, parameters_schema

slow = pytest.mark.slow

GUIDE = "hsp-ha-2-14"
# a measure "…, para. 40 (b)"; a principle "…, pilier thématique 2 (…), principe b), après le para. 36"
CITATION = re.compile(r"^HSP/HA\.2/14, (para\. \d+|pilier .+, principe [a-z]\), après le para\. \d+)")
PROBLEM = "our elderly residents cannot use the e-services"
TOOL_NAMES = {"search_guidelines", "recommend_measures", "get_passage", "list_documents"}


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def stdio_params(data_dir) -> StdioServerParameters:
    from server import boussole_command

    command = boussole_command()
    env = {"BOUSSOLE_DATA_DIR": str(data_dir)}
    if "BOUSSOLE_THREADS" in os.environ:
        env["BOUSSOLE_THREADS"] = os.environ["BOUSSOLE_THREADS"]
    return StdioServerParameters(command=command[0], args=[*command[1:], "mcp"], env=env)


def run(target: Any, conversation: Callable[[Client], Awaitable[None]]) -> None:
    """Open an MCP session on `target` (a URL or stdio parameters) and hold `conversation`."""

    async def main() -> None:
        with anyio.fail_after(300):
            async with Client(target, read_timeout_seconds=120) as client:
                await conversation(client)

    anyio.run(main)


def structured(result) -> dict:
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    # The text block carries the same JSON, for clients that ignore structured content.
    assert json.loads(result.content[0].text) == data
    return data


def error_text(result) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def assert_cited(item: dict) -> None:
    """The fields a chat answer needs to quote and situate a passage."""
    assert item["citation"] and item["doc_title"] and item["kind"] and item["id"]
    if item["doc_id"] == GUIDE:
        assert CITATION.match(item["citation"]), item["citation"]


# ================================================================ one conversation per transport


async def conversation(client: Client, filters: dict[str, list[str]], documents: list[str]) -> None:
    # -- discovery
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOL_NAMES
    for tool in tools.values():
        assert len(tool.description) > 80 and tool.output_schema["type"] == "object"
    search_filters = tools["search_guidelines"].input_schema["properties"]["filters"]["properties"]
    assert {name: prop["items"]["enum"] for name, prop in search_filters.items()} == filters
    actor = tools["recommend_measures"].input_schema["properties"]["actor"]
    assert {"national", "local-regional", "stakeholders", "joint", "all"} <= set(
        json.dumps(actor).replace('"', " ").split()
    )

    resources = (await client.list_resources()).resources
    assert [r.uri for r in resources] == [f"boussole://documents/{d}" for d in documents]
    templates = (await client.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["boussole://passages/{id}"]
    prompts = (await client.list_prompts()).prompts
    assert [p.name for p in prompts] == ["advise_city"]

    # -- recommend_measures: the answer an official needs, each item citable
    rec = structured(await client.call_tool("recommend_measures", {"problem": PROBLEM, "actor": "local-regional"}))
    assert rec["in_scope"] is True and rec["principles"] and rec["measures"]
    assert rec["measures"][0]["actor"] == "local-regional"
    for group in rec["measures"]:
        assert group["actor"] in ("local-regional", "joint")
        for item in group["measures"]:
            assert_cited(item)
            assert item["kind"] == "measure" and item["pillar"] and item["actor"] == group["actor"]
    for item in rec["principles"]:
        assert_cited(item)
        assert item["kind"] == "principle"

    # -- search_guidelines: filters, cross-lingual, citations
    hits = structured(
        await client.call_tool(
            "search_guidelines", {"query": "inondations sans alerte", "k": 5, "filters": {"kind": ["measure"]}}
        )
    )
    assert hits["in_scope"] is True and 1 <= len(hits["results"]) <= 5
    for hit in hits["results"]:
        assert_cited(hit)
        assert hit["kind"] == "measure"

    # -- get_passage: a passage from the search, with its neighbours
    first = hits["results"][0]
    passage = structured(await client.call_tool("get_passage", {"id": first["id"], "before": 1, "after": 1}))
    assert passage["chunk"]["id"] == first["id"] and passage["chunk"]["citation"] == first["citation"]
    assert first["id"] in [c["id"] for c in passage["neighbours"]] and len(passage["neighbours"]) <= 3
    assert all(c["doc_id"] == first["doc_id"] for c in passage["neighbours"])

    docs = structured(await client.call_tool("list_documents", {}))
    assert [d["id"] for d in docs["documents"]] == documents

    # -- bad arguments: tool errors with the API's messages, and the session goes on
    message = error_text(
        await client.call_tool("search_guidelines", {"query": "inondations", "filters": {"pillar": ["thematic-9"]}})
    )
    assert "thematic-9" in message and all(p in message for p in filters["pillar"])
    message = error_text(await client.call_tool("recommend_measures", {"problem": PROBLEM, "actor": "mayor"}))
    assert "'actor' must be one of: national, local-regional, stakeholders, joint, all" in message
    assert "'query' is required" in error_text(await client.call_tool("search_guidelines", {"k": 3}))
    assert "'k' must be at most 50" in error_text(await client.call_tool("search_guidelines", {"query": "x", "k": 500}))
    assert "no-such-passage" in error_text(await client.call_tool("get_passage", {"id": "no-such-passage"}))
    assert "Unknown tool" in error_text(await client.call_tool("delete_everything", {}))
    with pytest.raises(MCPError):
        await client.read_resource("boussole://nowhere/1")

    # -- out of scope: said plainly, no recommendations
    cake = structured(await client.call_tool("recommend_measures", {"problem": "a recipe for chocolate cake"}))
    assert cake["in_scope"] is False and cake["principles"] == [] and cake["measures"] == []

    # -- resources: a passage and a whole document, with citations
    text = (await client.read_resource(f"boussole://passages/{first['id']}")).contents[0].text
    assert text.startswith(f"# {first['citation']}") and first["text"].strip()[:60] in text
    document = (await client.read_resource(f"boussole://documents/{GUIDE}")).contents[0].text
    assert len(re.findall(r"^## HSP/HA\.2/14, para\. \d+", document, re.M)) > 100
    assert f"## {first['citation']}" in document

    # -- the prompt: advice grounded in the recommend answer, with citations to quote
    prompt = await client.get_prompt("advise_city", {"problem": PROBLEM, "actor": "local-regional"})
    body = prompt.messages[0].content.text
    assert PROBLEM in body and "quote the citation" in body
    for item in rec["principles"][:3]:
        assert item["citation"] in body
    with pytest.raises(MCPError, match="actor"):
        await client.get_prompt("advise_city", {"problem": PROBLEM, "actor": "mayor"})


def expected(http) -> tuple[dict[str, list[str]], list[str]]:
    filters = http.get("/v1/filters").json()["values"]
    documents = [d["id"] for d in http.get("/v1/documents").json()["documents"]]
    return filters, documents


@slow
def test_mcp_over_streamable_http(server, http):
    filters, documents = expected(http)
    run(server.url + "/mcp", lambda client: conversation(client, filters, documents))


@slow
def test_mcp_over_stdio_with_boussole_mcp(stdio_params, http):
    filters, documents = expected(http)
    run(stdio_params, lambda client: conversation(client, filters, documents))


# ================================================================ one source for every definition


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(components[node["$ref"].rsplit("/", 1)[-1]], components)
        return {k: _resolve(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components) for v in node]
    return node


def _without_filter_enums(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    for prop in schema.get("properties", {}).get("filters", {}).get("properties", {}).values():
        prop["items"].pop("enum", None)
    schema.get("properties", {}).get("answer_lang", {}).pop("enum", None)  # the index's languages
    return schema


@slow
def test_mcp_tools_v1_tools_and_openapi_agree(server, http):
    tools: dict[str, Any] = {}

    async def listing(client: Client) -> None:
        tools.update({t.name: t for t in (await client.list_tools()).tools})

    run(server.url + "/mcp", listing)
    functions = {t["function"]["name"]: t for t in http.get("/v1/tools").json()}
    openapi = http.get("/openapi.json").json()
    components = openapi["components"]["schemas"]
    for spec in TOOLS:
        mcp_tool = tools[spec.name]
        # MCP adds the index's valid filter values as enums, and nothing else.
        assert _without_filter_enums(mcp_tool.input_schema) == parameters_schema(spec.request)
        assert mcp_tool.output_schema == output_schema(spec.response)
        assert mcp_tool.description == spec.description
        method, path = spec.endpoint.split(" ")
        operation = openapi["paths"][path][method.lower()]
        response = _resolve(operation["responses"]["200"]["content"]["application/json"]["schema"], components)
        assert response["properties"].keys() == mcp_tool.output_schema["properties"].keys()
        function = functions.pop(spec.function)
        assert function["x-endpoint"] == spec.endpoint
        # /v1/tools, like MCP, adds the filter values as enums, and nothing else.
        assert function["function"]["parameters"] == mcp_tool.input_schema
        if spec.arguments_in == "body":
            # The function's parameters are the route's JSON body, as OpenAPI states it.
            body = _resolve(operation["requestBody"]["content"]["application/json"]["schema"], components)
            # OpenAPI, like MCP, lists the valid filter values (service.openapi); nothing else differs
            assert _strip_titles(_without_filter_enums(body)) == _strip_titles(
                _without_filter_enums(function["function"]["parameters"])
            )
        else:
            # Path and query parameters: same bounds and defaults as the tool's arguments.
            arguments = mcp_tool.input_schema["properties"]
            for param in operation.get("parameters", []):
                name = "id" if param["in"] == "path" else param["name"]
                for key in ("minimum", "maximum", "maxLength", "default"):
                    assert param["schema"].get(key) == arguments[name].get(key), (spec.name, name, key)
    assert functions == {}


def _strip_titles(node: Any) -> Any:
    """Without titles and null defaults, which FastAPI leaves out of the OpenAPI document."""
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if k != "title" and not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


@slow
def test_mcp_answers_are_the_http_answers(server, http):
    """Same search path, same response model: a tool's structured output is the route's JSON."""
    calls = [
        ("search_guidelines", "/v1/search", {"query": "données ouvertes et vie privée", "k": 7}),
        ("recommend_measures", "/v1/recommend", {"problem": "floods arrive without warning", "actor": "national"}),
    ]
    got: dict[str, dict] = {}

    async def ask(client: Client) -> None:
        for name, _, arguments in calls:
            got[name] = structured(await client.call_tool(name, arguments))

    run(server.url + "/mcp", ask)
    for name, route, arguments in calls:
        answer = http.post(route, json=arguments).json()
        for body in (answer, got[name]):
            body.pop("took_ms")
        assert got[name] == answer, name


# ================================================================ fast: a failing searcher


class BrokenSearcher:
    """Answers lookups but fails every search, as a bug deep in the index would."""

    documents = [Document(id=GUIDE, title="Guidelines", lang="en", kind="guidelines", source="g.txt")]

    def search(self, *args: Any, **kwargs: Any):
        raise RuntimeError("internal detail that must not reach the client")

    def filter_values(self) -> dict[str, list[str]]:
        return {"doc": [GUIDE], "kind": ["measure"], "pillar": [], "actor": [], "lang": ["en"]}


def test_an_unexpected_failure_is_a_tool_error_and_the_session_goes_on(caplog):
    server = build_server(lambda: BrokenSearcher())

    async def calls(client: Client) -> None:
        failed = await client.call_tool("search_guidelines", {"query": "floods"})
        assert error_text(failed) == "Something went wrong on the server; it is logged."
        assert "internal detail" not in failed.model_dump_json()
        docs = structured(await client.call_tool("list_documents", {}))
        assert [d["id"] for d in docs["documents"]] == [GUIDE]

    run(server, calls)
    assert "internal detail" in caplog.text  # logged for the operator
