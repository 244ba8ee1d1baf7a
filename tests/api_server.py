"""Run a compiled project's generated API the way users do, for tests and benchmarks:
`python -m uvicorn generated_api:app --app-dir .run_cache` from the project root, with its
other source roots on PYTHONPATH, as a subprocess on a free loopback port, against a real
MongoDB server.

A subprocess (not an in-process app) because every fixture project has its own `models`
and `operations` packages: importing two of them into one interpreter would mix them up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Self

import httpx

from jobhunter_compiler.config import load_config
from jobhunter_compiler.devserver.embedded_mongo import ServerProcess, free_port, terminate
from jobhunter_compiler.scan.discover import import_paths

STARTUP_TIMEOUT_S = 30.0


def with_source_roots(project: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with the project's source roots on PYTHONPATH, as
    whatever starts the generated code outside `jobhunter` puts them there (the generated
    packages leave sys.path alone)."""
    base = dict(os.environ if env is None else env)
    roots = [str(path) for path in import_paths(project, load_config(project).config)]
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [*roots, base.get("PYTHONPATH")]))
    return base


class ApiServer(ServerProcess):
    """The generated app of `project` under uvicorn; a context manager with `.url`."""

    def __init__(
        self,
        project: Path,
        mongo_url: str,
        database: str,
        env: dict[str, str] | None = None,
        uvicorn_args: tuple[str, ...] = (),
        app: str = "generated_api:app",
        app_dir: str | Path = ".run_cache",
    ) -> None:
        """`app` and `app_dir` name another app to serve from the project root the same way
        (the API benchmark's hand-written baseline)."""
        self.project = project
        self._app = app
        self._app_dir = str(app_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **with_source_roots(project),
            "MONGODB_URL": mongo_url,
            "MONGODB_DB": database,
            "PYTHONDONTWRITEBYTECODE": "1",
            **(env or {}),
        }
        self._uvicorn_args = uvicorn_args
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Self:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            self._app,
            "--app-dir",
            self._app_dir,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            *self._uvicorn_args,
        ]
        # A session of its own, so stop() also ends what the app started (an ephemeral
        # Prefect server, say), which would otherwise outlive the test run.
        self._process = subprocess.Popen(
            command,
            cwd=self.project,
            env=self._env,
            stdout=self._log,
            stderr=self._log,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the generated API exited at start:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the generated API did not answer /health:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    @property
    def exit_code(self) -> int | None:
        """The server's exit code once it has ended (None while it runs)."""
        return self._process.poll() if self._process is not None else None

    def log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill ends it: no shutdown runs."""
        if self._process is not None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process, grace_s=10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
