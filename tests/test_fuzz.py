"""The API fuzzed from its own OpenAPI schema (schemathesis) against the real server.

For every operation the server publishes, schemathesis generates schema-valid (positive)
and schema-invalid (negative) requests and checks each answer: no 5xx, status codes,
content types and bodies as the schema declares them, valid requests accepted, invalid
ones refused. Examples are bounded and derandomized: the run is repeatable.

Operations are driven through hypothesis directly (`APIOperation.as_strategy`): the
schema comes from the live server, which only exists once the session fixture runs, and
schemathesis' lazy pytest loader does not run under pytest 9.2.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from boussole.service.app import create_app
from boussole.service.settings import Settings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 40


def published_operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema, known without an index."""
    return sorted((method.upper(), path) for path, item in _paths().items() for method in item)


def fuzz_cases() -> list[tuple[str, str, GenerationMode]]:
    """Positive requests for every operation; negative ones where there is an input to
    get wrong (an operation without parameters or body has no invalid request)."""
    paths = _paths()
    out = []
    for method, path in published_operations():
        spec = paths[path][method.lower()]
        out.append((method, path, GenerationMode.POSITIVE))
        if spec.get("parameters") or spec.get("requestBody"):
            out.append((method, path, GenerationMode.NEGATIVE))
    return out


def _paths() -> dict:
    return create_app(Settings()).openapi()["paths"]


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def test_every_route_is_fuzzed(api_schema):
    live = sorted((op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations())
    assert live == published_operations()


@pytest.mark.parametrize(("method", "path", "mode"), fuzz_cases(), ids=str)
def test_api_answers_as_its_schema_says(api_schema, server, method, path, mode):
    operation = api_schema[path][method]
    sent: list[int] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        sent.append(1)
        case.call_and_validate(base_url=server.url)

    check()
    print(f"{method} {path} {mode}: {len(sent)} requests")  # shown with -s
    assert sent, f"no {mode} request was generated for {method} {path}"
