"""API documentation pages (/docs, /redoc) and the favicon, served from this machine.

FastAPI's default pages load Swagger UI, ReDoc and Google Fonts from CDNs, which fails on
an offline network. The same assets ship in the `fastapi-offline` package; we serve its
static folder and keep our own page markup, whose scripts are all files (the Content
Security Policy allows no inline script).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
FAVICON = Path(__file__).resolve().parent / "static" / "favicon.ico"
# ReDoc's menu footer shows Redocly's logo from their CDN; point it at our icon instead.
REDOC_EXTERNAL_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
  <link rel="icon" href="/favicon.ico">
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-init.js"></script>
</body>
</html>
"""


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


@cache
def redoc_bundle() -> bytes:
    """redoc.standalone.js with its one external URL (the footer logo) made local."""
    return (assets_dir() / "redoc.standalone.js").read_bytes().replace(REDOC_EXTERNAL_LOGO, b"/favicon.ico")


def install(app: FastAPI) -> None:
    """Add /docs, /redoc, their assets and /favicon.ico to an app created with
    docs_url=None and redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(f"{ASSETS_URL}/redoc.standalone.js", include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript; charset=utf-8")

    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=f"{app.title} API", assets=ASSETS_URL, openapi_url=openapi_url))

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url="/favicon.ico",
            with_google_fonts=False,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(FAVICON, media_type="image/x-icon")
