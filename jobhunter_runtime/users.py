"""The people who may sign in to a generated app (`api.auth: users`): their records, their
password hashes and the changes `users create / set-roles / disable` make.

Users live in the app's own database, in a collection no user model may take
(`jobhunter_users`, refused by the compiler). Passwords are hashed with argon2id; a record
never holds the password itself. Every change that should end the sessions already open
(new roles, disabling, signing out) bumps `session_version`, which the signed tokens
carry, so a token issued before it stops working at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

logger = logging.getLogger("jobhunter.users")

USER_COLLECTION = "jobhunter_users"
ADMIN_ROLE = "admin"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are refused before hashing: argon2 would spend as long on them."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_HASHER = PasswordHasher()
"""argon2id with the library's current defaults (RFC 9106's low-memory profile)."""
_DUMMY_HASH = _HASHER.hash("a password no account has")
"""Checked against when the email is unknown, so the answer takes as long either way."""


class UserError(ValueError):
    """A change to the users that cannot be made, said in one line."""


class AppUser(Document):
    """One person allowed to sign in."""

    email: str
    password_hash: str
    roles: list[str] = Field(default_factory=list)
    active: bool = True
    session_version: int = 0
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    class Settings:
        name = USER_COLLECTION
        indexes = [IndexModel([("email", ASCENDING)], unique=True)]


USER_DOCUMENT_MODELS = [AppUser]
"""What the `users` commands register with Beanie: the users alone."""


def normalized_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    value = email.strip().lower()
    if not _EMAIL.fullmatch(value) or len(value) > 320:
        raise UserError(f"{email!r} is not an email address")
    return value


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def check_roles(roles: list[str], known: list[str]) -> list[str]:
    """`roles` without repeats, refusing names the app does not know (`api.roles`)."""
    unknown = sorted(set(roles) - {*known, ADMIN_ROLE})
    if unknown:
        raise UserError(f"unknown role {', '.join(unknown)}; the app's roles: {', '.join(known)}")
    return list(dict.fromkeys(roles))


async def hash_password(password: str) -> str:
    # argon2 spends tens of milliseconds of CPU on purpose: off the event loop.
    return await asyncio.to_thread(_HASHER.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def find_user(email: str) -> AppUser | None:
    try:
        value = normalized_email(email)
    except UserError:
        return None
    return await AppUser.find_one(AppUser.email == value)


async def authenticate(email: str, password: str) -> AppUser | None:
    """The active user with this email and password, else None (whichever was wrong)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    user = await find_user(email)
    matches = await _verify(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not matches or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        await user.save()
    return user


async def create_user(email: str, password: str, roles: list[str], known: list[str]) -> AppUser:
    value = normalized_email(email)
    check_password(password)
    roles = check_roles(roles, known)
    if await AppUser.find_one(AppUser.email == value) is not None:
        raise UserError(f"a user {value} exists already")
    user = AppUser(email=value, password_hash=await hash_password(password), roles=roles)
    await user.insert()
    return user


async def _existing(email: str) -> AppUser:
    user = await find_user(email)
    if user is None:
        raise UserError(f"no user {email.strip()}")
    return user


async def set_roles(email: str, roles: list[str], known: list[str]) -> AppUser:
    user = await _existing(email)
    user.roles = check_roles(roles, known)
    return await end_sessions(user)


async def set_active(email: str, active: bool) -> AppUser:
    user = await _existing(email)
    user.active = active
    return await end_sessions(user)


async def end_sessions(user: AppUser) -> AppUser:
    """Every token issued to `user` so far stops working."""
    user.session_version += 1
    user.updated_at = datetime.now(UTC)
    await user.save()
    return user


async def list_users() -> list[AppUser]:
    return await AppUser.find_all().sort([("email", ASCENDING)]).to_list()


async def has_users() -> bool:
    return await AppUser.find_one() is not None


async def warn_without_users() -> None:
    """Says, once at start, how to create the first admin when nobody can sign in yet."""
    if not await has_users():
        logger.warning(
            "No user can sign in yet (api.auth is users). Create the first admin with "
            "`jobhunter users create EMAIL --role admin` from the project, or "
            "`python -m cli users create EMAIL --role admin` in the API's image."
        )
