"""`jobhunter dev`: the edit loop in one command.

The embedded MongoDB starts as for `jobhunter run`; the project is compiled on every save by
the watch loop (`commands/watch.py`), in this process. The API runs in a child process
(uvicorn, `api_child.py`) on a listening socket this process owns and hands down: after
every successful compile a new child starts on the same socket, and only once it has started
is the old one told to drain (it answers the requests on the connections it accepted, and
accepts no more). So a save that fails to compile (nothing is written) or an app that fails
to import keeps the last good API serving, no request finds the port closed and none sent
on a fresh connection goes unanswered. The children write to this terminal, tracebacks of
failing requests and operations included.

The children (API and Vite) run in sessions of their own: a Ctrl-C at the terminal reaches
only this process, which stops them itself, once; and they die with it however it dies.

The admin is Vite's dev server (hot reload) on its own port, forwarding `/api` to the API
(`JOBHUNTER_API_PROXY`, read by the generated vite.config.ts); `--no-frontend` leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rich.console import Console

from ..scan.scan_cache import CACHE_DIR
from .embedded_mongo import die_with_parent_hook, terminate
from .serve import (
    APP_MODULE,
    RunOptions,
    ServeError,
    interrupt_once,
    log_config,
    port_free,
    preflight,
    print_urls,
    served_database,
)

API_CHILD_MODULE = "jobhunter_compiler.devserver.api_child"
STARTED_LINE = "Application startup complete."
"""What uvicorn logs once the app imported and its lifespan began: the new API serves."""
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 8.0
LOG_CONFIG_FILE = "dev-log-config.json"
FRONTEND_DIR = "generated_frontend"
DEFAULT_FRONTEND_PORT = 5173


Watch = Callable[[Callable[[bool], None]], None]
"""The watch loop (`commands/watch.py`, a layer above): it compiles on every save, prints
the outcome and then calls its argument with whether the compile succeeded, until Ctrl-C."""


@dataclass(frozen=True)
class DevOptions:
    run: RunOptions
    """Where the API listens (its `frontend` stays False: Vite serves the admin)."""
    admin: bool = True
    frontend_port: int = DEFAULT_FRONTEND_PORT


class ApiChild:
    """One API process serving the generated app on the shared socket; its output goes
    to this terminal line by line, and `started` is set once the app serves."""

    def __init__(
        self, options: RunOptions, listener: socket.socket, mongo_url: str, parent_fd: int
    ) -> None:
        logging_file = options.project / CACHE_DIR / LOG_CONFIG_FILE
        logging_file.parent.mkdir(parents=True, exist_ok=True)
        logging_file.write_text(json.dumps(log_config()), encoding="utf-8")
        paths = [str(options.out), *map(str, options.import_paths)]
        if os.environ.get("PYTHONPATH"):
            paths.append(os.environ["PYTHONPATH"])
        env = {**os.environ, "MONGODB_URL": mongo_url, "PYTHONPATH": os.pathsep.join(paths)}
        fd = listener.fileno()
        self.started = threading.Event()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                API_CHILD_MODULE,
                f"{APP_MODULE}:app",
                "--fd",
                str(fd),
                "--parent-fd",
                str(parent_fd),
                "--log-config",
                str(logging_file),
            ],
            cwd=options.project,
            env=env,
            pass_fds=(fd, parent_fd),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        # a daemon: a grandchild still holding the pipe must not keep `dev` from exiting
        self._relay = threading.Thread(
            target=self._forward, args=(self.process.stdout,), daemon=True
        )
        self._relay.start()

    def _forward(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            if STARTED_LINE in line:
                self.started.set()
        stream.close()

    def wait_started(self) -> bool:
        """Whether the app started (False: it exited first or did not start in time)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.started.wait(0.05):
                return True
            if self.process.poll() is not None:
                self._relay.join(1)
                return self.started.is_set()
        return False

    def retire(self) -> None:
        """Drain and stop, in the background: a newer child serves."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Stop now (a drain under way is cut short), SIGKILL after STOP_GRACE_S."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.wait()
        self._relay.join(1)


def develop(options: DevOptions, watch: Watch, console: Console) -> None:
    """Serve the compiled project, and after every save `watch` compiled, the new one,
    until SIGINT/SIGTERM; everything started here is stopped before returning. Raises
    ServeError for what the user can fix."""
    run = options.run
    embedded = not os.environ.get("MONGODB_URL")
    preflight(run, embedded)
    if options.admin:
        _frontend_preflight(run, options.frontend_port)
    listener = _listen(run.host, run.port)
    # Only this process holds the write end: when it exits, however, the API children see
    # the read end close and stop.
    parent_read, parent_write = os.pipe()
    children: list[ApiChild] = []
    vite: subprocess.Popen[bytes] | None = None
    with interrupt_once():
        try:
            with served_database(run) as (mongo_url, _mongo):
                try:
                    first = ApiChild(run, listener, mongo_url, parent_read)
                    children.append(first)
                    if not first.wait_started():
                        raise ServeError("the API did not start (see its output above)")
                    if options.admin:
                        vite = _start_vite(run, options.frontend_port)
                    frontend_port = options.frontend_port if options.admin else None
                    print_urls(run, mongo_url, embedded, console, "dev", frontend_port)
                    watch(
                        lambda ok: _reload(
                            run, listener, mongo_url, parent_read, children, ok, console
                        )
                    )
                finally:  # the API and Vite stop before the database they use
                    if vite is not None:
                        terminate(vite, STOP_GRACE_S)
                    for child in children:
                        child.stop()
        except KeyboardInterrupt:
            pass
        finally:
            listener.close()
            os.close(parent_read)
            os.close(parent_write)
    console.print("[green]✓[/] stopped the API" + (" and the embedded MongoDB" if embedded else ""))


def _reload(
    run: RunOptions,
    listener: socket.socket,
    mongo_url: str,
    parent_fd: int,
    children: list[ApiChild],
    compiled: bool,
    console: Console,
) -> None:
    """After a compile caused by a save: if it succeeded, a new API replaces the serving
    one (the last of `children`; the others still drain) once it has started."""
    if not compiled:
        return
    fresh = ApiChild(run, listener, mongo_url, parent_fd)
    if not fresh.wait_started():
        fresh.stop()
        console.print("[red]✗[/] the new API did not start; the last good one keeps serving")
        return
    children[-1].retire()
    children[:] = [*(child for child in children if child.process.poll() is None), fresh]
    console.print("[green]✓[/] reloaded the API", highlight=False)


def _listen(host: str, port: int) -> socket.socket:
    """The API's listening socket, held by this process for the API children it starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.listen(128)
    listener.set_inheritable(True)
    return listener


def _frontend_dir(run: RunOptions) -> Path:
    return run.out / FRONTEND_DIR


def _frontend_preflight(run: RunOptions, port: int) -> None:
    frontend = _frontend_dir(run)
    if not (frontend / "package.json").is_file():
        raise ServeError(
            f"no admin to serve: {frontend}/package.json is missing (is the frontend off in "
            ".jobhunter.yml?); serve the API alone with --no-frontend"
        )
    if port == run.port:
        raise ServeError(f"--port and --frontend-port are both {port}: pick two ports")
    if not port_free(run.host, port):
        raise ServeError(f"port {port} on {run.host} is in use: pick another with --frontend-port")
    if not (frontend / "node_modules" / ".bin" / "vite").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise ServeError(
                "the admin needs Node.js and npm; or serve the API alone: --no-frontend"
            )
        install = "ci" if (frontend / "package-lock.json").is_file() else "install"
        done = subprocess.run([npm, install, "--no-audit", "--no-fund"], cwd=frontend)
        if done.returncode != 0:
            raise ServeError(f"`npm {install}` in {frontend} failed (see above)")


def _start_vite(run: RunOptions, port: int) -> subprocess.Popen[bytes]:
    """Vite's dev server for the admin, forwarding `/api` to the API."""
    frontend = _frontend_dir(run)
    host = "127.0.0.1" if run.host in ("0.0.0.0", "::") else run.host
    env = {**os.environ, "JOBHUNTER_API_PROXY": f"http://{_url_host(host)}:{run.port}"}
    return subprocess.Popen(
        [
            str(frontend / "node_modules" / ".bin" / "vite"),
            "--host",
            run.host,
            "--port",
            str(port),
            "--strictPort",
        ],
        cwd=frontend,
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent_hook(),
    )


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
