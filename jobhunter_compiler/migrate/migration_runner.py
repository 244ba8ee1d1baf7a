"""`jobhunter migrate up` / `down`: the project's migrations against MONGODB_URL and
MONGODB_DB, through Beanie's own runner (`MigrationNode`), so what ran is recorded where
`beanie migrate` records it: the `migrations_log` collection, whose `is_current` entry
names the last migration applied.

Transactions need a replica set (or a sharded cluster). Without one, each migration runs
without a transaction, as `beanie migrate --no-use-transaction` does: a migration that
fails keeps the steps it finished.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jobhunter_runtime.redaction import redact

CONNECT_TIMEOUT_MS = 5000
DEFAULT_URL = "mongodb://localhost:27017"

ROOT = "root"
"""The name of the node before the first migration in Beanie's list."""
NO_TRANSACTIONS = (
    "the server is not a replica set, so each migration runs without a transaction: one "
    "that fails keeps the steps it finished (run `migrate up` again once it is fixed: the "
    "steps `migrate new` writes can run twice)"
)

Direction = Literal["up", "down"]


class MigrationError(Exception):
    """A migration could not be loaded or run, or the database is unreachable; the
    message says where and why."""


@dataclass
class MigrationRun:
    ran: list[str] = field(default_factory=list)
    current: str | None = None
    """The last migration applied once done; None when none is."""
    transactions: bool = False


def database_target(default_name: str) -> tuple[str, str]:
    """The database the generated API and CLI use: $MONGODB_URL and $MONGODB_DB."""
    return os.environ.get("MONGODB_URL", DEFAULT_URL), os.environ.get("MONGODB_DB", default_name)


def migration_files(folder: Path) -> list[Path]:
    """The migrations Beanie's runner loads, in the order it runs them."""
    return sorted(folder.glob("[!_]*.py"))


def check_sources(folder: Path, root: Path) -> None:
    """A syntax error in any migration, reported before anything runs."""
    for path in migration_files(folder):
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as exc:
            where = f"{_relative(path, root)}:{exc.lineno or 1}"
            raise MigrationError(f"{where}: syntax error: {exc.msg}") from None
        except (OSError, ValueError) as exc:
            raise MigrationError(f"{_relative(path, root)}: cannot read it: {exc}") from None


async def run_migrations(
    folder: Path,
    root: Path,
    url: str,
    database: str,
    direction: Direction,
    steps: int | None,
    announce: Callable[[str], None],
    note: Callable[[str], None],
) -> MigrationRun:
    """Run up to `steps` migrations (None: every pending one; down: every applied one)
    forward or back, announcing each before it runs; `note` hears that they run without
    a transaction, before they do."""
    # start-up time: Beanie and PyMongo load only for the commands that reach MongoDB
    from beanie.migrations.database import DBHandler
    from beanie.migrations.models import MigrationLog
    from beanie.migrations.runner import MigrationNode
    from pymongo import AsyncMongoClient
    from pymongo.errors import PyMongoError

    check_sources(folder, root)
    logging.getLogger("beanie.migrations").setLevel(logging.WARNING)
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
    )
    run = MigrationRun()
    try:
        try:
            hello = await client.admin.command("hello")
        except PyMongoError as exc:
            raise MigrationError(
                f"cannot reach MongoDB at {redact(url)} ({type(exc).__name__}); set MONGODB_URL"
            ) from None
        run.transactions = "setName" in hello or hello.get("msg") == "isdbgrid"
        DBHandler.client = client
        DBHandler.database = client[database]
        try:
            node = await MigrationNode.build(folder)
        except Exception as exc:  # whatever a migration's module raises on import
            raise MigrationError(_failure("loading", exc, folder, root)) from None
        nodes = _nodes(node, direction, steps)
        if nodes and not run.transactions:
            note(NO_TRANSACTIONS)
        for each in nodes:
            announce(each.name)
            try:
                if direction == "up":
                    await each.run_forward(
                        allow_index_dropping=False, use_transaction=run.transactions
                    )
                else:
                    await each.run_backward(
                        allow_index_dropping=False, use_transaction=run.transactions
                    )
            except Exception as exc:  # a step's own error: reported with its line
                raise MigrationError(_failure(f"running {each.name}", exc, folder, root)) from None
            run.ran.append(each.name)
        current = await MigrationLog.find_one({"is_current": True})
        # Beanie records "root" as current once every migration is undone
        if current is not None and current.name != ROOT:
            run.current = current.name
    finally:
        await client.close()
    return run


def _nodes(current: Any, direction: Direction, steps: int | None) -> list[Any]:
    """The migrations to run, in order: after the current one going up, from it back."""
    found = []
    node = current.next_migration if direction == "up" else current
    while node is not None and node.name != ROOT and (steps is None or len(found) < steps):
        found.append(node)
        node = node.next_migration if direction == "up" else node.prev_migration
    return found


def _failure(doing: str, exc: BaseException, folder: Path, root: Path) -> str:
    """`doing` failed: the line of the migration it failed at, and the error."""
    where = ""
    folder = folder.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(folder):
            where = f"{_relative(path, root)}:{frame.lineno}: "
            break
    return f"{where}{doing} failed: {type(exc).__name__}: {redact(str(exc))}"


def _relative(path: Path, root: Path) -> str:
    path = path.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
