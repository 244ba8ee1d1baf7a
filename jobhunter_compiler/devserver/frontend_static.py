"""The built frontend and the API on one origin, for `jobhunter run --frontend`.

Requests whose first path segment is one of the API's (`api`, `health`, `docs`,
`openapi.json`, ...) go to the API unchanged, so its trailing-slash redirects and 404s stay
its own; everything else is a file of the build, and a page path that names no file gets
`index.html`, so a deep link (`/models/Todo/show/1`) loads the single-page app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

INDEX = "index.html"
ASSETS = "assets"


class SpaStaticFiles(StaticFiles):
    """Static files with `index.html` for any other missing path: a page of the app, even
    one whose name has a dot (`/operations/orders.archive`). Under `assets/`, where Vite puts
    the build's files, a missing file stays a 404, so a stale build shows as a failed
    request, not as HTML where a script was expected."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as error:
            if error.status_code != 404 or path.split("/", 1)[0] == ASSETS:
                raise
            return await super().get_response(INDEX, scope)


class FrontendAndApi:
    """An ASGI app: the API for its own path prefixes (and lifespan), the frontend for the
    rest."""

    def __init__(self, api: ASGIApp, frontend: ASGIApp, api_segments: set[str]) -> None:
        self.api = api
        self.frontend = frontend
        self.api_segments = api_segments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or self.is_api(scope.get("path", "/")):
            await self.api(scope, receive, send)
        else:
            await self.frontend(scope, receive, send)

    def is_api(self, path: str) -> bool:
        return _first_segment(path) in self.api_segments


def with_frontend(api: Any, dist: Path) -> FrontendAndApi:
    """`api` (a FastAPI app) behind a dispatcher that serves `dist` for non-API paths."""
    segments = {"api"}
    for route in getattr(api, "routes", []):
        path = getattr(route, "path", "")
        if _first_segment(path):
            segments.add(_first_segment(path))
    # Inside a Starlette app, whose exception middleware answers a 405 (a POST to a page).
    frontend = Starlette(routes=[Mount("/", app=SpaStaticFiles(directory=dist, html=True))])
    return FrontendAndApi(api, frontend, segments)


def _first_segment(path: str) -> str:
    return path.lstrip("/").split("/", 1)[0]
