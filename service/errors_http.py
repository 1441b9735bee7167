"""The one place where errors become HTTP responses.

Every error leaves the API in one shape, `{"error": {"code", "message", "field", "valid"}}`
(`service.schemas.ErrorResponse`): BoussoleError subclasses by the table below, request
validation errors rewritten as sentences, Starlette's HTTP errors (unknown route, wrong
method, body too large), and anything unexpected as a 500 that says nothing internal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from boussole.errors import BoussoleError
from boussole.index.errors import (
    ChunkNotFound,
    FilterError,
    IndexCorrupt,
    IndexMismatch,
    IndexNotFound,
    ModelError,
    QueryError,
)
from boussole.service.batching import Overloaded

log = logging.getLogger("boussole.service")


class ServiceNotReady(BoussoleError):
    """The index is not loaded (yet, or any more): the service cannot answer queries."""


# First match wins, so subclasses come before their bases.
_STATUS: list[tuple[type[BoussoleError], int, str]] = [
    (FilterError, 422, "invalid_filter"),
    (QueryError, 422, "invalid_query"),
    (ChunkNotFound, 404, "chunk_not_found"),
    (ServiceNotReady, 503, "not_ready"),
    (Overloaded, 503, "overloaded"),
    (IndexNotFound, 503, "index_not_found"),
    (IndexCorrupt, 503, "index_corrupt"),
    (IndexMismatch, 503, "index_mismatch"),
    (ModelError, 503, "model_error"),
    (BoussoleError, 400, "bad_request"),
]

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    valid: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field, "valid": valid or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(exc: BoussoleError) -> tuple[int, str]:
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return status, code
    return 400, "bad_request"  # unreachable: BoussoleError is the last row


async def boussole_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BoussoleError)
    status, code = status_for(exc)
    field = getattr(exc, "field", None)
    valid = list(getattr(exc, "valid", None) or [])
    if isinstance(exc, Overloaded):  # expected under load: say when to come back, log nothing
        return error_response(status, code, str(exc), headers={"Retry-After": str(exc.retry_after)})
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return error_response(status, code, str(exc), field=field, valid=valid)


# ---------------------------------------------------------------- validation errors


def field_path(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """("body", "filters", "doc", 0) → "filters.doc[0]"; ("body",) → None."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or None


def _expected_values(ctx: dict[str, Any]) -> list[str]:
    # pydantic's literal_error ctx: "'national', 'local-regional' or 'all'"
    expected = str(ctx.get("expected", ""))
    return [v.strip().strip("'\"") for v in expected.replace(" or ", ", ").split(",") if v.strip()]


def describe(error: dict[str, Any]) -> tuple[str, str, str | None, list[str]]:
    """One pydantic error → (code, sentence, field, valid values)."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    field = field_path(error.get("loc", ()))
    name = f"'{field}'" if field else "The request body"
    if kind == "json_invalid":
        detail = ctx.get("error", "")
        return "invalid_json", f"The request body is not valid JSON ({detail}).", None, []
    if field is None and kind in ("model_attributes_type", "dict_type", "missing", "model_type"):
        return (
            "invalid_body",
            "The request body must be a JSON object sent with Content-Type: application/json.",
            None,
            [],
        )
    if kind == "missing":
        return "missing_field", f"{name} is required.", field, []
    if kind == "extra_forbidden":
        return "unknown_field", f"{name} is not a field this endpoint accepts.", field, []
    if kind == "string_too_short":
        return "empty_field", f"{name} must not be empty.", field, []
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        got = error.get("input")
        size = f"{len(got):,} characters; " if isinstance(got, str) else ""
        code = "query_too_long" if field in ("query", "problem") else "too_long"
        return code, f"{name} is too long ({size}the limit is {limit:,} characters).", field, []
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds = {"ge": "at least", "le": "at most", "gt": "more than", "lt": "less than"}
        rule = " and ".join(f"{bounds[k]} {v}" for k, v in ctx.items() if k in bounds)
        return "out_of_range", f"{name} must be {rule}.", field, []
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "invalid_type", f"{name} must be a whole number.", field, []
    if kind in ("string_type", "string_unicode"):
        return "invalid_type", f"{name} must be a text string.", field, []
    if kind == "list_type":
        return "invalid_type", f"{name} must be a list of strings.", field, []
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return "invalid_type", f"{name} must be a JSON object.", field, []
    if kind == "literal_error":
        valid = _expected_values(ctx)
        return "invalid_value", f"{name} must be one of: {', '.join(valid)}.", field, valid
    # Anything else: pydantic's own sentence, which is readable enough.
    return "invalid_value", f"{name}: {error.get('msg', 'invalid value')}.", field, []


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    described = [describe(e) for e in exc.errors()] or [("invalid_request", "The request is not valid.", None, [])]
    code, message, field, valid = described[0]
    if len(described) > 1:
        message = " ".join(d[1] for d in described)
    return error_response(422, code, message, field=field, valid=valid)


# ---------------------------------------------------------------- other HTTP errors


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI's answer to a body that is not even text (e.g. not UTF-8): same as bad JSON.
        return error_response(422, "invalid_json", "The request body is not valid JSON (it must be UTF-8 text).")
    if exc.status_code == 404:
        message = f"No such endpoint: {request.method} {request.url.path}. See /docs."
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}. See /docs."
    elif exc.status_code == 413:
        message = "The request body is too large; a query is at most 2,000 characters."
    else:
        message = str(exc.detail)
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "Something went wrong on the server; it is logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(BoussoleError, boussole_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
