"""`/api/auth/`: signing in (an OAuth2 password form, so the API docs' Authorize button
works), who is signed in, and signing out; with the throttle that answers 429 to an
account or an address after repeated failed sign-ins.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from .http import ErrorBody, json_response
from .sessions import (
    SESSION_COOKIE,
    SIGN_IN_SCHEME,
    SIGNED_IN_RESPONSES,
    Principal,
    issue_token,
)
from .users import AppUser, UserError, authenticate, end_sessions, normalized_email


class TokenAnswer(BaseModel):
    access_token: str
    token_type: str = "bearer"


class SignedInUser(BaseModel):
    id: str
    email: str
    roles: list[str]


class SignInThrottle:
    """Counts failed sign-ins per account and per client address over `window_s`; once
    one reaches its limit, sign-ins for it are refused (429) until its oldest failure
    leaves the window, whatever the password. Kept in the process: each replica counts
    its own."""

    MAX_TRACKED = 100_000
    """Past this many accounts and addresses, the stale ones are forgotten first."""

    def __init__(
        self,
        per_account: int = 5,
        per_address: int = 20,
        window_s: float = 900,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, keys: list[tuple[str, str]]) -> int | None:
        """Seconds until the first of `keys` over its limit may try again, else None."""
        now = self.clock()
        waits = []
        for key in keys:
            failures = self._recent(key, now)
            if len(failures) >= self.limits[key[0]]:
                waits.append(failures[-self.limits[key[0]]] + self.window_s - now)
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, keys: list[tuple[str, str]]) -> None:
        now = self.clock()
        if len(self._failures) >= self.MAX_TRACKED:
            self._forget_stale(now)
        for key in keys:
            self._failures.setdefault(key, deque(maxlen=self.limits[key[0]])).append(now)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        return failures

    def _forget_stale(self, now: float) -> None:
        for key in [k for k, v in self._failures.items() if not v or v[-1] <= now - self.window_s]:
            del self._failures[key]
        while len(self._failures) >= self.MAX_TRACKED:
            del self._failures[next(iter(self._failures))]


def sign_in_keys(email: str, request: Request) -> list[tuple[str, str]]:
    try:
        account = normalized_email(email)
    except UserError:
        account = email.strip().lower()[:320]
    address = request.client.host if request.client else "unknown"
    return [("account", account), ("address", address)]


def sign_in_router(secret: bytes, ttl_s: int, throttle: SignInThrottle) -> APIRouter:
    """The `/api/auth` routes of an app whose tokens are signed with `secret` and last
    `ttl_s` seconds."""
    router = APIRouter(prefix="/api/auth", tags=["auth"])

    @router.post(
        "/login",
        response_model=TokenAnswer,
        summary="Sign in",
        description="Answers a bearer token and sets the same one as an httpOnly cookie.",
        responses={
            401: {"model": ErrorBody, "description": "Wrong email or password"},
            429: {"model": ErrorBody, "description": "Too many failed sign-ins; see Retry-After"},
        },
    )
    async def login(
        request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
    ) -> Response:
        keys = sign_in_keys(form.username, request)
        wait = throttle.retry_after(keys)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many failed sign-ins; try again later",
                headers={"Retry-After": str(wait)},
            )
        user = await authenticate(form.username, form.password)
        if user is None:
            throttle.failed(keys)
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "wrong email or password",
                headers={"WWW-Authenticate": "Bearer"},
            )
        throttle.succeeded(keys[0])
        token = issue_token(user, secret, ttl_s)
        response = json_response(TokenAnswer(access_token=token).model_dump())
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=ttl_s,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    signed_in_only = [Depends(SIGN_IN_SCHEME)]

    @router.get(
        "/me",
        response_model=SignedInUser,
        summary="Who is signed in",
        dependencies=signed_in_only,
        responses=SIGNED_IN_RESPONSES,
    )
    async def me(request: Request) -> Response:
        principal: Principal = request.state.principal
        return json_response(_signed_in(principal))

    @router.post(
        "/logout",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Sign out: every token of this user stops working",
        dependencies=signed_in_only,
        responses=SIGNED_IN_RESPONSES,
    )
    async def logout(request: Request) -> Response:
        principal: Principal = request.state.principal
        user = await AppUser.get(principal.user_id)
        if user is not None:
            await end_sessions(user)
        response = Response(status_code=status.HTTP_204_NO_CONTENT)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return router


def _signed_in(principal: Principal) -> dict[str, Any]:
    return SignedInUser(
        id=principal.user_id, email=principal.email, roles=sorted(principal.roles)
    ).model_dump()
