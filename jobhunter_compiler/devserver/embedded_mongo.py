"""A real MongoDB wire-protocol server without Docker: nx-27017, with seven fixes of ours.

nx-27017 (NeoSQLite's server, SQLite storage, from PyPI) serves the tests, and `jobhunter run`
when MONGODB_URL is not set. Version 0.8.1 (on neosqlite 1.17.2) has seven gaps Beanie runs into:

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
- A UUID (BSON Binary subtype 4, how Beanie stores `uuid.UUID` with uuidRepresentation
  "standard") is stored as bare bytes: it reads back as `bytes` and matches nothing, so
  `Doc.get(uuid)` is None. The same inbound conversion stores it as a tagged string (UUID_TAG and
  the hex digits), which equality, $in and $nin compare exactly (also as `_id`, nested and as a
  DBRef's $id), and every reply turns the tag back into a UUID
  (`nx_27017.wire_protocol._convert_objectids` is wrapped).
- It cannot store a Decimal128 ("Object of type Decimal128 is not JSON serializable"), which is
  how Beanie stores `decimal.Decimal`. The same conversion stores it as a tagged string
  (DECIMAL_TAG and the decimal's text), which equality, $in and $nin compare exactly (`1.50`
  and `1.5` differ, and $gt/$lt and sorting compare text), and every reply turns it back.
- A replacement document holding bytes (Beanie's `replace`, which a PUT or PATCH of a record
  runs, of a document with a `bytes` or `SecretBytes` field) fails with "Object of type bytes
  is not JSON serializable": neosqlite's insert turns bytes into its Binary first, its replace
  does not. `QueryHelper._internal_replace` is wrapped to do the same.
- `$in`/`$nin` on a dotted path does not enter arrays on the way (neither neosqlite's SQL nor its
  Python matcher does): `{"children.$id": {"$in": [oid]}}` on a `list[Link[...]]`, or
  `{"tags.x": {"$in": [1]}}`, matches nothing. A filter with such a condition (also inside
  $and/$or/$nor, in find, count, update, delete and an aggregation's $match) goes to the Python
  matcher (its SQL translators decline it), whose `$in`/`$nin` on dotted paths are replaced by
  ones that follow MongoDB: they look through arrays. It scans the collection.

tests/test_embedded_mongo.py fails once upstream closes any of the gaps, so the fix can be dropped.

    python -m jobhunter_compiler.devserver.embedded_mongo --port 27017 --db memory

runs the patched server in this process; `EmbeddedMongo` runs it as a subprocess.
nx_27017, neosqlite, bson and pymongo are imported only inside functions: `jobhunter run`,
which starts this server as a subprocess, never loads them, and a missing nx-27017 is a
message (MISSING_SERVER_MESSAGE) rather than an ImportError.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import IO, Any, Self
from uuid import UUID

MISSING_SERVER_MESSAGE = (
    "nx-27017 is not installed; it provides the MongoDB server used when MONGODB_URL is not "
    "set. Install it with `pip install nx-27017==0.8.1`, or set MONGODB_URL to a MongoDB server."
)
MODULE = "jobhunter_compiler.devserver.embedded_mongo"
STARTUP_TIMEOUT_SECONDS = 20.0
STOP_GRACE_SECONDS = 5.0
STDERR_TAIL_CHARS = 3000
# How a UUID is stored: this prefix (a private-use character, so no real string starts with it
# by accident) and the 32 hex digits. Strings compare exactly, so equality, $in and $nin work.
UUID_TAG = "\ue000uuid:"
UUID_TAG_LENGTH = len(UUID_TAG) + 32
DECIMAL_TAG = "\ue000decimal:"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class EmbeddedMongoError(RuntimeError):
    """The embedded server is not installed, or did not start."""


def install_patches() -> None:
    """Close the seven nx-27017 gaps described in the module docstring, in this process."""
    try:
        from bson.binary import UUID_SUBTYPE, Binary
        from bson.dbref import DBRef
        from bson.decimal128 import Decimal128
        from neosqlite.collection.query_helper import QueryHelper
        from neosqlite.collection.query_helper.utils import _convert_bytes_to_binary
        from nx_27017 import utils, wire_protocol
        from nx_27017.handler import NeoSQLiteHandler
    except ImportError as error:
        raise EmbeddedMongoError(MISSING_SERVER_MESSAGE) from error

    # The handler imports the converter from nx_27017.utils on every call, and the converter
    # recurses through that module's global name, so replacing the module attribute also covers
    # DBRefs, UUIDs and decimals nested in lists and subdocuments (filters, updates and
    # documents alike).
    convert: Callable[[Any], Any] = utils.convert_bson_to_neo_objectids

    def convert_dbrefs_uuids_and_decimals(doc: Any) -> Any:
        if isinstance(doc, DBRef):
            doc = doc.as_doc()
        elif isinstance(doc, Binary) and doc.subtype == UUID_SUBTYPE and len(doc) == 16:
            return UUID_TAG + UUID(bytes=bytes(doc)).hex
        elif isinstance(doc, UUID):
            return UUID_TAG + doc.hex
        elif isinstance(doc, Decimal128):
            return DECIMAL_TAG + str(doc)
        return convert(doc)

    utils.convert_bson_to_neo_objectids = convert_dbrefs_uuids_and_decimals

    # Every reply (OP_MSG and OP_QUERY) is encoded through this name bound in wire_protocol.
    convert_reply: Callable[[Any], Any] = wire_protocol._convert_objectids

    def convert_reply_with_tagged_values(doc: Any) -> Any:
        return _untag(convert_reply(doc))

    wire_protocol._convert_objectids = convert_reply_with_tagged_values

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

    internal_replace = QueryHelper._internal_replace

    def replace_with_binary_bytes(self: QueryHelper, doc_id: Any, replacement: Any) -> None:
        internal_replace(self, doc_id, _convert_bytes_to_binary(replacement))

    QueryHelper._internal_replace = replace_with_binary_bytes  # type: ignore[method-assign]

    _match_dotted_in_with_python(QueryHelper)


def _match_dotted_in_with_python(query_helper: type[Any]) -> None:
    """Filters with `$in`/`$nin` on a dotted path go to neosqlite's Python matcher, made to
    look through arrays on the way (`{"children.$id": {"$in": [oid]}}`)."""
    from neosqlite import query_operators
    from neosqlite.collection.sql_tier_aggregator import SQLTierAggregator
    from neosqlite.collection.sql_translator_unified import SQLTranslator

    # Its three SQL translations of a filter: find, count, update and delete (translate_match
    # and _build_simple_where_clause), and aggregation's $match (those two and tier 1). Each
    # falls back to the Python matcher when it declines.
    build_where = query_helper._build_simple_where_clause

    def build_where_unless_dotted_in(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if _has_dotted_in(query):
            return None
        return build_where(self, query, *args, **kwargs)

    query_helper._build_simple_where_clause = build_where_unless_dotted_in

    translate_match = SQLTranslator.translate_match

    def translate_match_unless_dotted_in(self: Any, match: Any, *args: Any, **kwargs: Any) -> Any:
        if _has_dotted_in(match):
            return None, []
        return translate_match(self, match, *args, **kwargs)

    SQLTranslator.translate_match = translate_match_unless_dotted_in  # type: ignore[method-assign]

    can_optimize = SQLTierAggregator.can_optimize_pipeline

    def can_optimize_unless_dotted_in(self: Any, pipeline: Any, *args: Any, **kwargs: Any) -> bool:
        if isinstance(pipeline, list) and any(
            isinstance(stage, dict) and _has_dotted_in(stage.get("$match")) for stage in pipeline
        ):
            return False
        return bool(can_optimize(self, pipeline, *args, **kwargs))

    SQLTierAggregator.can_optimize_pipeline = can_optimize_unless_dotted_in  # type: ignore[method-assign]

    # The matcher looks operators up by name in this module on every use. Its own $in reads a
    # dotted path without entering arrays; plain field names keep it.
    python_in, python_nin = query_operators._in, query_operators._nin

    def in_through_arrays(field: str, values: Any, document: dict[str, Any]) -> bool:
        if "." not in field or not isinstance(values, list):
            return bool(python_in(field, values, document))
        return _any_path_value_in(document, field.split("."), values)

    def nin_through_arrays(field: str, values: Any, document: dict[str, Any]) -> bool:
        if "." not in field or not isinstance(values, list):
            return bool(python_nin(field, values, document))
        return not _any_path_value_in(document, field.split("."), values)

    query_operators._in = in_through_arrays
    query_operators._nin = nin_through_arrays


def _has_dotted_in(query: Any) -> bool:
    """Whether a filter has `{"a.b": {"$in"/"$nin": ...}}`, also inside $and, $or and $nor."""
    if isinstance(query, list):
        return any(_has_dotted_in(item) for item in query)
    if not isinstance(query, dict):
        return False
    for key, value in query.items():
        if key in ("$and", "$or", "$nor") and _has_dotted_in(value):
            return True
        if "." in key and isinstance(value, dict) and ("$in" in value or "$nin" in value):
            return True
    return False


def _any_path_value_in(document: dict[str, Any], parts: list[str], values: list[Any]) -> bool:
    """MongoDB's $in on a dotted path: arrays on the way are entered; a missing path is null."""
    nodes: list[Any] = [document]
    for part in parts:
        reached: list[Any] = []
        for node in nodes:
            for item in node if isinstance(node, list) else [node]:
                if isinstance(item, dict) and part in item:
                    reached.append(item[part])
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                reached.append(node[int(part)])
        nodes = reached
    if not nodes:
        return None in values
    for node in nodes:
        if node in values:
            return True
        if isinstance(node, list) and any(item in values for item in node):
            return True
    return False


def _untag(value: Any) -> Any:
    """`value` with every UUID_TAG string turned back into a BSON UUID (Binary subtype 4),
    and every DECIMAL_TAG string into a Decimal128."""
    from bson.binary import UUID_SUBTYPE, Binary
    from bson.decimal128 import Decimal128

    def untag(value: Any) -> Any:
        if isinstance(value, str):
            if value.startswith(UUID_TAG) and len(value) == UUID_TAG_LENGTH:
                with contextlib.suppress(ValueError):
                    return Binary(UUID(hex=value[len(UUID_TAG) :]).bytes, UUID_SUBTYPE)
            if value.startswith(DECIMAL_TAG):
                with contextlib.suppress(ArithmeticError, ValueError):
                    return Decimal128(value[len(DECIMAL_TAG) :])
            return value
        if isinstance(value, dict):
            return {key: untag(item) for key, item in value.items()}
        if isinstance(value, list):
            return [untag(item) for item in value]
        return value

    return untag(value)


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


class ServerProcess:
    """A server run as a child process: `start()` returns once it answers, `stop()` ends
    it and is safe to repeat; as a context manager, both. The tests' API and frontend
    servers are shaped the same way."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedMongo(ServerProcess):
    """The patched nx-27017 server as a subprocess on a loopback port; a context manager.

    `db` is nx-27017's storage: "memory" (each database separate, lost on stop), an existing
    directory (one SQLite file per database) or a file (all databases in one SQLite file).

    `supervised` (for `jobhunter run`): the server runs in a session of its own, so a Ctrl-C at
    the terminal reaches only the parent, which stops the server after the API that still
    writes to it; and on Linux it gets SIGTERM when the parent dies, even by SIGKILL
    (PR_SET_PDEATHSIG, tied to the thread that calls start()).
    """

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        db: str = "memory",
        supervised: bool = False,
    ):
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.db = db
        self.supervised = supervised
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
            [*command, "--db", self.db],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=self.supervised,
            preexec_fn=die_with_parent_hook() if self.supervised else None,
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
                        f"on {self.url}.\n{self.stderr_tail()}"
                    )
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    if time.monotonic() > deadline:
                        raise EmbeddedMongoError(
                            f"nx-27017 did not answer ping on {self.url} within "
                            f"{STARTUP_TIMEOUT_SECONDS:.0f} s.\n{self.stderr_tail()}"
                        ) from None
                    time.sleep(0.05)

    def exit_code(self) -> int | None:
        """The server's exit code once it has ended by itself (None while it runs, or
        when it was never started or has been stopped)."""
        return self._process.poll() if self._process is not None else None

    def stderr_tail(self) -> str:
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


def die_with_parent_hook() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when this process dies; None elsewhere.
    libc is loaded here, in the parent: the hook runs between fork and exec, where only
    async-signal-safe work is wise."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def hook() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


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
        prog="python -m jobhunter_compiler.devserver.embedded_mongo",
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
