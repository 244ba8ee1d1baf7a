"""The generated API's key (`api.auth: api_key` in .jobhunter.yml): read and checked once
when the app is built, then required on every request but the open ones, before the app
reads a byte of the body.

The check is an ASGI middleware rather than a FastAPI dependency because FastAPI reads
and parses a body before it runs dependencies: a client without the key could make the
app parse 100 MB, or learn from a 422 what the route expects.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Collection
from typing import Any

from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import send_json

MIN_KEY_LENGTH = 32
PLACEHOLDER_KEYS = frozenset(
    {"change-me", "changeme", "change_me", "replace-me", "secret", "password", "api-key"}
)
"""Values example files and tutorials ship: refused whatever their length."""
KEY_HINT = (
    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
    "and set it in the environment (.env for docker compose)"
)

API_KEY_SCHEME = HTTPBearer(auto_error=False, description="The API key, as `Bearer <key>`.")
"""Declares the key in the OpenAPI document; `ApiKeyRequired` does the checking."""
UNAUTHORIZED_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "The API key is missing or wrong"}
}


class StartRefused(SystemExit):
    """The app will not start as configured: Python prints the message and exits with
    status 1 (uvicorn and `jobhunter run` alike), with no traceback around it."""


def api_key_from_env(env_var: str) -> bytes:
    """The key from `$env_var`; refuses to start on an empty, placeholder or short key,
    never naming the key itself."""
    key = os.environ.get(env_var, "")
    if not key.strip():
        problem = "is empty"
    elif key.strip().lower() in PLACEHOLDER_KEYS:
        problem = f"is the placeholder {key.strip()!r}"
    elif len(key) < MIN_KEY_LENGTH:
        problem = f"has {len(key)} characters, fewer than {MIN_KEY_LENGTH}"
    else:
        return key.encode()
    raise StartRefused(f"api.auth is api_key but ${env_var} {problem}: {KEY_HINT}")


class ApiKeyRequired:
    """ASGI middleware answering 401 to a request without `Authorization: Bearer <key>`,
    except on `open_paths` (the health check). It sits inside the CORS middleware, which
    answers browsers' preflights itself and labels the 401 for the calling origin."""

    def __init__(self, app: ASGIApp, key: bytes, open_paths: Collection[str] = ()) -> None:
        self.app = app
        self.key = key
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or self._holds_key(scope):
            await self.app(scope, receive, send)
            return
        await send_json(
            send,
            401,
            {"detail": "missing or wrong API key"},
            headers=[(b"www-authenticate", b"Bearer")],
        )

    def _holds_key(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given, self.key)
        return False
