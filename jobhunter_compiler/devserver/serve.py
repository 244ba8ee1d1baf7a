"""`jobhunter run`: the compiled project's API, with a MongoDB when none is configured.

The API runs in this process under uvicorn, the way `python -m uvicorn generated_api:app
--app-dir .run_cache` runs it from the project root. The embedded MongoDB (nx-27017), when
MONGODB_URL is unset, is a child process in a session of its own: a Ctrl-C at the terminal
reaches only this process; uvicorn shuts the API down (its lifespan may still write, e.g.
background TaskRuns ending as failed), and then the server is stopped. SIGTERM does the same.
If this process is killed outright, Linux SIGTERMs the child (PR_SET_PDEATHSIG). If the child
dies while the API serves, it is started again on the same port and data; if it keeps dying,
`run` stops with its last words rather than serve an API without a database.

Its data lives in `<project>/.jobhunter_cache/mongo/`, one SQLite file per database, so
records survive restarts. While it serves, its URL is in `<project>/.jobhunter_cache/mongodb_url`,
where the project's CLI finds it whatever `--mongo-port` is.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import errno
import importlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console

from jobhunter_runtime.cli import SERVED_DATABASE_FILE
from jobhunter_runtime.redaction import redact

from ..emit.pins import version_of
from ..ir import OPTIONAL_PACKAGES
from ..scan.scan_cache import CACHE_DIR

if TYPE_CHECKING:
    from .embedded_mongo import EmbeddedMongo

MONGO_HOST = "127.0.0.1"
MONGO_DATA_DIR = "mongo"
FRONTEND_DIST = Path("generated_frontend") / "dist"
APP_MODULE = "generated_api"
DEFAULT_MONGO_PORT = 27017
POLL_S = 0.05
MONGO_CHECK_S = 0.5
MONGO_RESTARTS = 3
"""Restarts of the embedded MongoDB within MONGO_RESTART_WINDOW_S before `run` gives up."""
MONGO_RESTART_WINDOW_S = 60.0


class ServeError(Exception):
    """Something stops `jobhunter run` before it serves; printed as one line, exit 1."""


@dataclass(frozen=True)
class RunOptions:
    project: Path
    output_dir: str
    host: str = "127.0.0.1"
    port: int = 8000
    mongo_port: int = DEFAULT_MONGO_PORT
    frontend: bool = False
    docs: bool = True
    """Whether the API serves /docs (not with `api.auth: api_key`)."""
    import_paths: tuple[Path, ...] = ()
    """The project's source roots (`scan.discover.import_paths`)."""

    @property
    def out(self) -> Path:
        return self.project / self.output_dir

    @property
    def dist(self) -> Path:
        return self.out / FRONTEND_DIST


def serve(options: RunOptions, console: Console) -> None:
    """Serve until SIGINT/SIGTERM; everything started here is stopped before returning.
    Raises ServeError for what the user can fix (a port in use, no built frontend)."""
    embedded = not os.environ.get("MONGODB_URL")
    preflight(options, embedded)
    with stop_on_sigterm():
        try:
            with served_database(options) as (mongo_url, mongo):
                _serve_api(options, mongo_url, mongo, console)
        except KeyboardInterrupt:
            pass  # a Ctrl-C or SIGTERM before uvicorn took the signals over
    console.print("[green]✓[/] stopped the API" + (" and the embedded MongoDB" if embedded else ""))


@contextlib.contextmanager
def served_database(options: RunOptions) -> Iterator[tuple[str, EmbeddedMongo | None]]:
    """`MONGODB_URL` when it is set; else an embedded MongoDB for the project (its data in
    the cache folder, its URL in SERVED_DATABASE_FILE for the app's CLI to find), stopped
    and its URL file removed on the way out."""
    # only without MONGODB_URL is an embedded server started
    from .embedded_mongo import EmbeddedMongo, EmbeddedMongoError

    mongo_url = os.environ.get("MONGODB_URL")
    if mongo_url:
        yield mongo_url, None
        return
    data = options.project / CACHE_DIR / MONGO_DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    mongo = EmbeddedMongo(port=options.mongo_port, host=MONGO_HOST, db=str(data), supervised=True)
    served = options.project / SERVED_DATABASE_FILE
    try:
        try:
            mongo.start()
        except EmbeddedMongoError as error:
            raise ServeError(f"the embedded MongoDB did not start: {error}") from None
        served.write_text(mongo.url, encoding="utf-8")
        yield mongo.url, mongo
    finally:
        served.unlink(missing_ok=True)
        mongo.stop()


def preflight(options: RunOptions, embedded: bool) -> None:
    """Every check that needs nothing started, so a failure leaves nothing behind."""
    if not (options.out / f"{APP_MODULE}.py").is_file():
        raise ServeError(f"{options.out / APP_MODULE}.py is missing: run `jobhunter compile`")
    if options.frontend and not (options.dist / "index.html").is_file():
        frontend = options.dist.parent
        raise ServeError(
            f"--frontend: no built frontend at {options.dist}/index.html; build it with "
            f"`cd {frontend} && npm ci && npm run build`"
        )
    if embedded and options.mongo_port == options.port:
        raise ServeError(f"--port and --mongo-port are both {options.port}: pick two ports")
    if not port_free(options.host, options.port):
        raise ServeError(
            f"port {options.port} on {options.host} is in use: pick another with --port"
        )
    if embedded and not port_free(MONGO_HOST, options.mongo_port):
        hint = (
            " (or, if a MongoDB server is running there, use it: "
            f"MONGODB_URL=mongodb://localhost:{options.mongo_port} jobhunter run)"
            if options.mongo_port == DEFAULT_MONGO_PORT
            else ""
        )
        raise ServeError(
            f"port {options.mongo_port} (the embedded MongoDB) is in use: pick another with "
            f"--mongo-port{hint}"
        )


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen there now. SO_REUSEADDR as uvicorn sets it, so a port
    left in TIME_WAIT by the last run counts as free, as it is for uvicorn."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServeError(f"--host {host}: {error.strerror}") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return False
                if error.errno == errno.EADDRNOTAVAIL:
                    raise ServeError(f"--host {host}: not an address of this machine") from None
                raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return True


def _serve_api(
    options: RunOptions, mongo_url: str, mongo: EmbeddedMongo | None, console: Console
) -> None:
    # start-up time: `run` imports uvicorn once it has compiled
    import uvicorn

    os.environ["MONGODB_URL"] = mongo_url
    app = _load_app(options)
    config = uvicorn.Config(
        app, host=options.host, port=options.port, log_level="info", log_config=log_config()
    )
    server = uvicorn.Server(config)
    # uvicorn takes SIGINT/SIGTERM while it serves and raises the signal again once it has
    # shut down; by then our own handlers are back and only note it, so `finally` runs.
    with _ignore_signals():
        asyncio.run(_serve_until_stopped(server, options, mongo_url, mongo, console))


async def _serve_until_stopped(
    server: Any,
    options: RunOptions,
    mongo_url: str,
    mongo: EmbeddedMongo | None,
    console: Console,
) -> None:
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(POLL_S)
    if not server.started:
        await serving
        raise ServeError("the API did not start (see uvicorn's log above)")
    print_urls(options, mongo_url, mongo is not None, console)
    keeping = asyncio.create_task(_keep_alive(mongo, server, console)) if mongo else None
    await serving
    if keeping is not None:
        if keeping.done():
            raise ServeError(keeping.result())
        keeping.cancel()


async def _keep_alive(mongo: EmbeddedMongo, server: Any, console: Console) -> str:
    """Start the embedded MongoDB again whenever it dies (its data is on disk), until it
    has died more than MONGO_RESTARTS times within MONGO_RESTART_WINDOW_S: then stop the
    API, and return why for `run` to say."""
    # only without MONGODB_URL is an embedded server started
    from .embedded_mongo import EmbeddedMongoError

    deaths: list[float] = []
    while True:
        await asyncio.sleep(MONGO_CHECK_S)
        code = mongo.exit_code()
        if code is None:
            continue
        now = time.monotonic()
        deaths = [t for t in deaths if now - t < MONGO_RESTART_WINDOW_S] + [now]
        if len(deaths) > MONGO_RESTARTS:
            server.should_exit = True
            return (
                f"the embedded MongoDB exited (code {code}) {len(deaths)} times within "
                f"{MONGO_RESTART_WINDOW_S:.0f} s; stopped the API.\n{mongo.stderr_tail()}"
            )
        console.print(f"[yellow]![/] the embedded MongoDB exited (code {code}); restarting it")
        mongo.stop()
        try:
            # In this thread, as the first start: the kernel's parent-death signal is tied
            # to the thread that starts the child. Requests wait for it anyway.
            mongo.start()
        except EmbeddedMongoError as error:
            server.should_exit = True
            return f"the embedded MongoDB exited (code {code}) and did not restart: {error}"
        console.print("[green]✓[/] the embedded MongoDB is back")


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the runtime's `jobhunter` loggers on the same terminal: a
    failed operation's (redacted) traceback shows where `run` was started, not only in its
    TaskRun."""
    # start-up time: `run` imports uvicorn once it has compiled
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["jobhunter"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def _load_app(options: RunOptions) -> Any:
    """Import the generated app as `python -m uvicorn ... --app-dir .run_cache` does from the
    project root: the output folder and the project's source roots (for `models`,
    `operations`) on sys.path, the project as the working folder (relative paths in
    operations mean the same)."""
    os.chdir(options.project)
    sys.path[0:0] = [
        path for path in map(str, (options.out, *options.import_paths)) if path not in sys.path
    ]
    try:
        app = importlib.import_module(APP_MODULE).app
    except SystemExit as refused:
        if not isinstance(refused.code, str):
            raise
        # The app refusing to start with a message (a weak API key, say): the message is
        # the whole story.
        raise ServeError(refused.code) from None
    except Exception as error:
        missing = _missing_optional_package(error)
        if missing is not None:
            raise ServeError(
                f"a field type of the generated API needs {missing}, which is not "
                f"installed here: pip install '{missing}=={version_of(missing)}'"
            ) from None
        # The user's own code failed at import: its traceback is the useful part.
        Console(stderr=True).print_exception(max_frames=20)
        raise ServeError("the generated API failed to import (traceback above)") from None
    if options.frontend:
        # only `run --frontend` serves the admin
        from .frontend_static import with_frontend

        app = with_frontend(app, options.dist)
    return app


def _missing_optional_package(error: BaseException) -> str | None:
    """The distribution of `OPTIONAL_PACKAGES` whose missing module made the import fail
    (pydantic raises its own ImportError from the ModuleNotFoundError), if one did."""
    modules = {module: distribution for distribution, module in OPTIONAL_PACKAGES.values()}
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ModuleNotFoundError) and cause.name in modules:
            return modules[cause.name]
        cause = cause.__cause__ or cause.__context__
    return None


def print_urls(
    options: RunOptions,
    mongo_url: str,
    embedded: bool,
    console: Console,
    command: str = "run",
    frontend_port: int | None = None,
) -> None:
    """The banner: every URL it names answers. `frontend_port` is Vite's dev server's
    (`jobhunter dev`), which forwards `/api` to the API."""
    host = _url_host(options.host)
    base = f"http://{host}:{options.port}"
    lines = [f"[green]✓[/] jobhunter {command}: serving {options.project.name}"]
    if frontend_port is not None:
        lines.append(f"  frontend  http://{host}:{frontend_port}/  (reloads on save)")
    elif options.frontend:
        lines.append(f"  frontend  {base}/")
    lines.append(f"  API       {base}/api/")
    if options.docs:
        lines.append(f"  docs      {base}/docs")
    lines.append(f"  health    {base}/health")
    where = f" (embedded, data in {CACHE_DIR}/{MONGO_DATA_DIR}/)" if embedded else ""
    lines.append(f"  MongoDB   {redact(mongo_url)}{where}")
    lines.append(f"  CLI       MONGODB_URL={redact(mongo_url)} jobhunter ops --help")
    lines.append("Press Ctrl-C to stop.")
    console.print("\n".join(lines), highlight=False)


def _url_host(host: str) -> str:
    """`host` as a browser reaches it: a wildcard address as localhost, IPv6 bracketed."""
    if host in ("0.0.0.0", "::"):
        return "localhost"
    return f"[{host}]" if ":" in host else host


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, as SIGINT does, so cleanup runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupt_once() -> Iterator[None]:
    """The first SIGINT or SIGTERM raises KeyboardInterrupt, so cleanup runs; any later one
    (a second Ctrl-C while children stop) is ignored, so nothing breaks into the cleanup."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise KeyboardInterrupt

    with _stop_signals_handled_by(interrupt):
        yield


@contextlib.contextmanager
def _ignore_signals() -> Iterator[None]:
    """SIGINT and SIGTERM do nothing while uvicorn serves: it installs its own handlers on
    top and, after its graceful shutdown, re-raises the signal it caught into these."""

    def note(signum: int, frame: FrameType | None) -> None:
        return None

    with _stop_signals_handled_by(note):
        yield


@contextlib.contextmanager
def _stop_signals_handled_by(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    """`handler` for SIGINT and SIGTERM within the block; the previous handlers after it."""
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, restored in previous.items():
            signal.signal(sig, restored)
