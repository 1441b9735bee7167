"""The OpenAPI schema states exactly what the service accepts.

The filters of /v1/search are checked against the values the loaded index holds
(`index.filters`), so the schema lists those same values as enums; before the index is
loaded it lists the library's own values (`index.filters.library_values`) for kind, pillar
and actor. Likewise `answer_lang` lists "auto" and the languages the index holds. A client
generated from the schema, or a fuzzer, then never sends a value that the schema allows and
the service refuses.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from boussole.index.filters import library_values

FILTERS_SCHEMA = "SearchFilters"
# Requests whose `answer_lang` takes "auto" or a language the index holds a version in.
ANSWER_LANG_SCHEMAS = ("SearchRequest", "RecommendRequest")


def with_filter_enums(schema: dict[str, Any], values: dict[str, list[str]]) -> dict[str, Any]:
    """A copy of `schema` whose SearchFilters lists carry `values` as item enums."""
    out = copy.deepcopy(schema)
    props = out.get("components", {}).get("schemas", {}).get(FILTERS_SCHEMA, {}).get("properties", {})
    for name, allowed in values.items():
        if name in props and allowed:
            props[name]["items"] = {"type": "string", "enum": list(allowed)}
    if values.get("lang"):  # the index's languages; before it loads, any code is accepted by the schema
        for name in ANSWER_LANG_SCHEMAS:
            prop = out.get("components", {}).get("schemas", {}).get(name, {}).get("properties", {}).get("answer_lang")
            if prop is not None:
                prop["enum"] = ["auto", *values["lang"]]
    return out


def install(app: FastAPI) -> None:
    base: dict[str, Any] = {}

    def schema() -> dict[str, Any]:
        if not base:
            base.update(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                )
            )
        searcher = getattr(app.state, "searcher", None)
        values = searcher.filter_values() if searcher is not None else library_values()
        return with_filter_enums(base, values)

    app.openapi = schema  # type: ignore[method-assign]
