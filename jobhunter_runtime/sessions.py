"""Signed-in sessions of a generated app (`api.auth: users`): the tokens, who holds one, and
what each role may do, checked on every request before the app reads a byte of the body.

A token is a JWT signed with HS256 (and only HS256 is accepted: `alg: none` and any other
algorithm are refused) with `JOBHUNTER_SECRET_KEY`. It names the user and the user's
`session_version`; the user's record is read on each request, so a disabled user, new
roles or a sign-out take effect at once rather than when the token expires. The browser
gets the same token in an httpOnly, SameSite cookie, so the admin UI keeps none in
JavaScript's reach; other clients send `Authorization: Bearer <token>`.

Permissions are a table the compiler writes from the user's declarations
(`AccessRules`): the check is an ASGI middleware, like the API key's, because FastAPI
parses a body before it runs dependencies.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from beanie import PydanticObjectId
from bson.errors import InvalidId
from fastapi.security import OAuth2PasswordBearer
from pymongo.errors import ConnectionFailure
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import MIN_KEY_LENGTH, StartRefused
from .limits import send_json
from .users import ADMIN_ROLE, AppUser

SECRET_KEY_ENV = "JOBHUNTER_SECRET_KEY"
TOKEN_ALGORITHM = "HS256"
SESSION_COOKIE = "jobhunter_session"
ANY_SIGNED_IN = "*"
SECRET_HINT = (
    "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
    "and set it in the environment (.env for docker compose)"
)

SIGN_IN_SCHEME = OAuth2PasswordBearer(
    tokenUrl="/api/auth/login",
    auto_error=False,
    description="Sign in with an email and a password; the token goes as `Bearer <token>`.",
)
"""Declares sign-in in the OpenAPI document (the docs' Authorize button); `UsersRequired`
does the checking."""
SIGNED_IN_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in, or the token is invalid or expired"},
    403: {"description": "The signed-in user's roles do not allow this"},
}
PUBLIC_PATHS = (
    "/health",
    "/api/auth/login",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
)
"""What answers without a sign-in: the health check, the sign-in itself and the API's
documentation (its Authorize button signs in)."""


def secret_key_from_env() -> bytes:
    """`$JOBHUNTER_SECRET_KEY`; refuses to start without one of at least 32 characters,
    never naming the key itself."""
    key = os.environ.get(SECRET_KEY_ENV, "")
    if not key.strip():
        problem = "is not set"
    elif len(key) < MIN_KEY_LENGTH:
        problem = f"has {len(key)} characters, fewer than {MIN_KEY_LENGTH}"
    else:
        return key.encode()
    raise StartRefused(f"api.auth is users but ${SECRET_KEY_ENV} {problem}: {SECRET_HINT}")


def credentialed_origins(origins: list[str]) -> list[str]:
    """The origins the browser may send the session cookie from: named ones only, since
    a credentialed `*` would let any web page act as the signed-in user."""
    if "*" in origins:
        raise StartRefused(
            "api.auth is users, so the API's CORS origins cannot be `*` (any site could use "
            "a signed-in browser's session): list the admin UI's origins in api.cors_origins "
            "or JOBHUNTER_CORS_ORIGINS"
        )
    return origins


@dataclass(frozen=True)
class Principal:
    """The signed-in user a request acts for."""

    user_id: str
    email: str
    roles: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


def issue_token(user: AppUser, secret: bytes, ttl_s: int) -> str:
    issued = datetime.now(UTC)
    claims = {
        "sub": str(user.id),
        "ver": user.session_version,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def token_claims(token: str, secret: bytes) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token signed with `secret`, else None."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "ver", "iat", "exp"]},
        )
    except jwt.InvalidTokenError:
        return None


async def principal_of(token: str, secret: bytes) -> Principal | None:
    """Who holds `token`: its user, still active, for whom it is still current."""
    claims = token_claims(token, secret)
    if claims is None:
        return None
    try:
        user = await AppUser.get(PydanticObjectId(claims["sub"]))
    except (InvalidId, TypeError):
        return None
    if user is None or not user.active or user.session_version != claims["ver"]:
        return None
    return Principal(user_id=str(user.id), email=user.email, roles=frozenset(user.roles))


def request_token(scope: Scope) -> str | None:
    """The bearer token of a request, else its session cookie's."""
    cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            return given.strip() if scheme.lower() == "bearer" else None
        if name == b"cookie":
            cookie = value.decode("latin-1")
    if cookie is None:
        return None
    for part in cookie.split(";"):
        key, _, value = part.strip().partition("=")
        if key == SESSION_COOKIE:
            return value or None
    return None


def allows(roles: Collection[str], allowed: Collection[str]) -> bool:
    return ADMIN_ROLE in roles or ANY_SIGNED_IN in allowed or not set(roles).isdisjoint(allowed)


_ACTIONS = {
    "GET": "read",
    "HEAD": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class AccessRules:
    """Who may do what: `models` maps a model to the roles of each action (read, create,
    update, delete), `operations` an operation to the roles that may run it. Written by
    the compiler from the declarations and `api.default_permissions`."""

    models: Mapping[str, Mapping[str, frozenset[str]]]
    operations: Mapping[str, frozenset[str]]

    def allowed_roles(self, method: str, path: str) -> Collection[str] | None:
        """The roles a request needs; None when being signed in is enough (task runs,
        which filter by operation themselves, the user's own session, extensions)."""
        if path.startswith("/api/models/"):
            name, _, rest = path.removeprefix("/api/models/").partition("/")
            actions = self.models.get(name)
            if actions is None:
                return None
            # Restoring a soft-deleted record undoes a delete: it takes the delete roles.
            restore = method == "POST" and rest.rstrip("/").endswith("/restore")
            action = "delete" if restore else _ACTIONS.get(method, "read")
            return actions.get(action, frozenset())
        if path.startswith("/api/operations/") and method == "POST":
            name = path.removeprefix("/api/operations/").rstrip("/")
            return self.operations.get(name)
        return None

    def runnable(self, principal: Principal) -> list[str] | None:
        """The operations `principal` may run (and see the runs of); None for all."""
        if principal.is_admin:
            return None
        return sorted(
            name for name, roles in self.operations.items() if allows(principal.roles, roles)
        )

    def may_run(self, principal: Principal, operation: str) -> bool:
        return allows(principal.roles, self.operations.get(operation, frozenset()))


class UsersRequired:
    """ASGI middleware: 401 to a request without a valid session (but on `open_paths`), 403
    when the user's roles do not allow the route; else the request goes on with the
    `Principal` in `request.state.principal`. Sits inside the CORS middleware, like
    `ApiKeyRequired`."""

    def __init__(
        self,
        app: ASGIApp,
        secret: bytes,
        rules: AccessRules,
        open_paths: Collection[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.secret = secret
        self.rules = rules
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        token = request_token(scope)
        try:
            principal = await principal_of(token, self.secret) if token else None
        except ConnectionFailure:
            await send_json(
                send,
                503,
                {"detail": "the database is unreachable; try again shortly"},
                headers=[(b"retry-after", b"5")],
            )
            return
        if principal is None:
            detail = "not signed in" if token is None else "the session is invalid or expired"
            await send_json(
                send, 401, {"detail": detail}, headers=[(b"www-authenticate", b"Bearer")]
            )
            return
        allowed = self.rules.allowed_roles(scope["method"], scope["path"])
        if allowed is not None and not allows(principal.roles, allowed):
            needed = ", ".join(sorted({ADMIN_ROLE, *allowed}))
            detail = f"your roles do not allow this (it takes one of: {needed})"
            await send_json(send, 403, {"detail": detail})
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
