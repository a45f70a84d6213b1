"""/docs: the API browser (Swagger UI) with every file served by the service itself, never from a CDN.

Swagger UI's script and style sheet come from the ``fastapi-offline`` package (kept up to date with Swagger UI
releases); the page and its start-up script are ours, so that the page runs under a content security policy
without inline scripts (server.api.guards.DOCS_CSP).
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Optional

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

router = APIRouter(include_in_schema=False)

ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "favicon.png": "image/png"}
PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>CertAssist issuing service (证书助手签发服务) - API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/start.js"></script>
</body>
</html>
"""
START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
"""


def assets_dir() -> Optional[Path]:
    """The folder of Swagger UI's files in the installed ``fastapi-offline`` (without importing it)."""
    spec = find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/docs")
def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/docs/start.js")
def start() -> Response:
    return Response(START, media_type="text/javascript")


@router.get("/docs/assets/{name}")
def asset(name: str) -> Response:
    folder = assets_dir()
    if name not in ASSETS or folder is None:
        return Response(status_code=404)
    return FileResponse(folder / name, media_type=ASSETS[name], headers={"cache-control": "public, max-age=86400"})
