"""A real MongoDB wire-protocol server without Docker: nx-27017, with three fixes of ours.

nx-27017 (NeoSQLite's server, SQLite storage, from PyPI) serves the tests, and `jobhunter run`
when MONGODB_URL is not set. Version 0.8.1 (on neosqlite 1.17.2) has three gaps Beanie runs into:

- It cannot store a DBRef ("Object of type DBRef is not JSON serializable"), which is how Beanie
  stores a `Link[...]` field. Its inbound conversion,
  `nx_27017.utils.convert_bson_to_neo_objectids`, is wrapped so that a DBRef is stored as a
  `{"$ref": ..., "$id": ...}` subdocument, which the driver decodes back into a DBRef.
- It applies that conversion to `find` filters but not to aggregation pipelines, so there an
  ObjectId matches nothing: `count_documents({"_id": oid})` is 0 and Beanie's
  `get(oid, fetch_links=True)` is None. The pipeline is converted before the handler runs it.
- neosqlite's SQL tier for update operators hands a datetime to sqlite3, which stores the string
  '2026-11-20 09:00:00' (`$set`, `$max`, `find_one_and_update`, Beanie's `doc.set(...)`) or a
  JSON string (`$push`), so the field reads back as a string and sorts and filters wrongly. An
  update whose operators hold a datetime goes to neosqlite's Python tier instead
  (`QueryHelper._can_use_sql_updates` answers no), which stores it as an insert does.

tests/test_embedded_mongo.py fails once upstream closes any of the gaps, so the fix can be dropped.

    python -m jobhunter_compiler.embedded_mongo --port 27017 --db memory

runs the patched server in this process; `EmbeddedMongo` runs it as a subprocess.
nx_27017 is imported only inside functions, so importing jobhunter_compiler never loads it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Self

MISSING_SERVER_MESSAGE = (
    "nx-27017 is not installed; it provides the MongoDB server used when MONGODB_URL is not "
    "set. Install it with `pip install nx-27017==0.8.1`, or set MONGODB_URL to a MongoDB server."
)
MODULE = "jobhunter_compiler.embedded_mongo"
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_GRACE_SECONDS = 5.0
STDERR_TAIL_CHARS = 3000


class EmbeddedMongoError(RuntimeError):
    """The embedded server is not installed, or did not start."""


def install_patches() -> None:
    """Close the three nx-27017 gaps described in the module docstring, in this process."""
    try:
        from bson.dbref import DBRef
        from neosqlite.collection.query_helper import QueryHelper
        from nx_27017 import utils
        from nx_27017.handler import NeoSQLiteHandler
    except ImportError as error:
        raise EmbeddedMongoError(MISSING_SERVER_MESSAGE) from error

    # The handler imports the converter from nx_27017.utils on every call, and the converter
    # recurses through that module's global name, so replacing the module attribute also covers
    # DBRefs nested in lists and subdocuments.
    convert: Callable[[Any], Any] = utils.convert_bson_to_neo_objectids

    def convert_with_dbref(doc: Any) -> Any:
        return convert(doc.as_doc() if isinstance(doc, DBRef) else doc)

    utils.convert_bson_to_neo_objectids = convert_with_dbref

    handle_command = NeoSQLiteHandler.handle_command

    def handle_command_with_converted_pipeline(
        self: NeoSQLiteHandler, msg: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        for section_type, body in msg["sections"]:
            if section_type == "body" and "aggregate" in body and "pipeline" in body:
                body["pipeline"] = utils.convert_bson_to_neo_objectids(body["pipeline"])
        return handle_command(self, msg)

    NeoSQLiteHandler.handle_command = handle_command_with_converted_pipeline  # type: ignore[method-assign]

    # Every update (update_one/many, upserts, find_one_and_update, bulk writes) asks this first.
    can_use_sql_updates = QueryHelper._can_use_sql_updates

    def sql_updates_without_datetimes(
        self: QueryHelper, update_spec: dict[str, Any], *args: Any, **kwargs: Any
    ) -> bool:
        if _holds_datetime(update_spec):
            return False
        return bool(can_use_sql_updates(self, update_spec, *args, **kwargs))

    QueryHelper._can_use_sql_updates = sql_updates_without_datetimes  # type: ignore[method-assign]


def _holds_datetime(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_datetime(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_datetime(item) for item in value)
    return isinstance(value, datetime)


def serve(host: str, port: int, db: str) -> None:
    """Run the patched server in this process until it is killed or interrupted.

    nx-27017's own entry point is not used because it writes a fixed pid file under /tmp, which
    refuses a second server (parallel test workers) and leaves files behind. SIGTERM needs no
    handler: SQLite has committed every write the server acknowledged.
    """
    install_patches()
    from nx_27017.handler import NeoSQLiteHandler
    from nx_27017.server import run_server_threaded

    with contextlib.suppress(KeyboardInterrupt):
        run_server_threaded(host, port, NeoSQLiteHandler(db), use_threading=False)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class EmbeddedMongo:
    """The patched nx-27017 server as a subprocess on a loopback port; a context manager.

    `db` is nx-27017's storage: "memory" (each database separate, lost on stop), an existing
    directory (one SQLite file per database) or a file (all databases in one SQLite file).
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", db: str = "memory"):
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.db = db
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://{self.host}:{self.port}"

    def start(self) -> Self:
        """Start the server and return once it answers `ping`; raises EmbeddedMongoError."""
        if importlib.util.find_spec("nx_27017") is None:
            raise EmbeddedMongoError(MISSING_SERVER_MESSAGE)
        # A file, not a pipe: nobody reads the child's stderr while it runs, and a full pipe
        # would block it. stop() closes it.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        command = [sys.executable, "-m", MODULE, "--host", self.host, "--port", str(self.port)]
        self._process = subprocess.Popen(
            [*command, "--db", self.db], stdout=subprocess.DEVNULL, stderr=self._stderr
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError

        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        client: MongoClient[dict[str, Any]] = MongoClient(
            self.url, serverSelectionTimeoutMS=250, connectTimeoutMS=250
        )
        with client:
            while True:
                if self._process.poll() is not None:
                    raise EmbeddedMongoError(
                        f"nx-27017 exited with code {self._process.returncode} before answering "
                        f"on {self.url}.\n{self._stderr_tail()}"
                    )
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        raise EmbeddedMongoError(
                            f"nx-27017 did not answer ping on {self.url} within "
                            f"{STARTUP_TIMEOUT_SECONDS:.0f} s.\n{self._stderr_tail()}"
                        ) from None
                    time.sleep(0.05)

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        return f"Its stderr ends with:\n{text[-STDERR_TAIL_CHARS:]}" if text else "No stderr."

    def stop(self) -> None:
        """Terminate the server (kill it after a grace period) and reap it; safe to repeat."""
        if self._process is not None:
            terminate(self._process, STOP_GRACE_SECONDS)
            self._process = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def terminate(process: subprocess.Popen[bytes], grace_s: float) -> None:
    """Stop a child process: SIGTERM, SIGKILL after `grace_s`, and always reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jobhunter_compiler.embedded_mongo",
        description="Run nx-27017 (a MongoDB wire-protocol server on SQLite), patched for Beanie.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--db",
        default="memory",
        help="'memory', an existing directory (a file per database) or a file",
    )
    args = parser.parse_args(argv)
    try:
        serve(args.host, args.port, args.db)
    except EmbeddedMongoError as error:
        parser.exit(1, f"{error}\n")


if __name__ == "__main__":
    main()
