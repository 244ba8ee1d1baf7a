"""Build and serve a compiled project's generated frontend, for the browser tests.

`npm ci` runs once per lockfile (the dependencies never vary by project) into a cache
folder keyed by the lockfile's hash; each generated frontend gets a symlink to that
`node_modules`. The built app is served by `vite preview`, started directly (not through
npm, which would leave node running when killed), with `/api` proxied to the generated API,
so deep links fall back to index.html and the app and the API share an origin.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Self

import httpx
from filelock import FileLock

from jobhunter_compiler.devserver.embedded_mongo import ServerProcess, free_port, terminate

FRONTEND = Path(".run_cache") / "generated_frontend"
CACHE_ROOT = Path(
    os.environ.get("JOBHUNTER_NODE_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jobhunter" / "node"
)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 30.0


def frontend_dir(project: Path) -> Path:
    return project / FRONTEND


def installed_node_modules(frontend: Path) -> Path:
    """`node_modules` for this lockfile, installed with `npm ci` the first time."""
    lock = (frontend / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()[:16]
    target = CACHE_ROOT / digest
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE_ROOT / f"{digest}.lock"), timeout=900):
        if (target / "node_modules" / ".package-lock.json").is_file():
            return target / "node_modules"
        staging = CACHE_ROOT / f"{digest}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in ("package.json", "package-lock.json"):
            shutil.copy(frontend / name, staging / name)
        run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], staging)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target / "node_modules"


def link_node_modules(frontend: Path) -> None:
    link = frontend / "node_modules"
    if not link.exists():
        link.symlink_to(installed_node_modules(frontend), target_is_directory=True)


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def build(frontend: Path) -> str:
    """`npm run build` (`tsc --noEmit && vite build`), with Vite's manifest of the chunks
    (`dist/.vite/manifest.json`, read by `first_load`); its output."""
    link_node_modules(frontend)
    return run(["npm", "run", "build", "--silent", "--", "--manifest"], frontend)


def first_load(frontend: Path, page: str) -> dict[str, int]:
    """The JS files (name: bytes) a browser fetches to show `page` (a source file under
    `src/`, loaded lazily) of a built frontend: the entry, the page, and every chunk either
    imports statically, from the build's manifest."""
    dist = frontend / "dist"
    chunks = json.loads((dist / ".vite" / "manifest.json").read_text())
    wanted, seen = ["index.html", f"src/{page}"], set()
    while wanted:
        key = wanted.pop()
        if key not in seen:
            seen.add(key)
            wanted.extend(chunks[key].get("imports", []))
    files = [chunks[key]["file"] for key in seen]
    return {Path(file).name: (dist / file).stat().st_size for file in files}


def built_js(frontend: Path) -> dict[str, int]:
    """Every JS file of a built frontend (name: bytes)."""
    return {path.name: path.stat().st_size for path in (frontend / "dist" / "assets").glob("*.js")}


def typecheck_generated(frontends: list[Path], work: Path) -> dict[Path, list[str]]:
    """`tsc --noEmit` over the generated TypeScript (`src/generated/`) of many compiled
    frontends in one run: each is a folder of its own beside one shared copy of the
    static `src/lib/` it imports (a symlink per folder, which tsc reads once). Returns
    tsc's errors by frontend; empty when everything type-checks."""
    first = frontends[0]
    work.mkdir(parents=True)
    (work / "node_modules").symlink_to(installed_node_modules(first), target_is_directory=True)
    shutil.copytree(first / "src" / "lib", work / "lib")
    config = json.loads((first / "tsconfig.json").read_text())
    (work / "tsconfig.json").write_text(json.dumps({**config, "include": ["lib", "cases"]}))
    cases = {}
    for i, frontend in enumerate(frontends):
        case = work / "cases" / str(i)
        shutil.copytree(frontend / "src" / "generated", case / "generated")
        (case / "lib").symlink_to(work / "lib", target_is_directory=True)
        cases[str(i)] = frontend
    tsc = [str(work / "node_modules" / ".bin" / "tsc"), "--noEmit", "-p", "."]
    done = subprocess.run(tsc, cwd=work, capture_output=True, text=True, timeout=900)
    errors: dict[Path, list[str]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("cases/"):
            errors.setdefault(cases[line.split("/")[1]], []).append(line)
    assert done.returncode == 0 or errors, done.stdout + done.stderr
    return errors


class PreviewServer(ServerProcess):
    """`vite preview` of a built frontend, proxying `/api` to `api_url`."""

    def __init__(self, frontend: Path, api_url: str) -> None:
        self.frontend = frontend
        self.api_url = api_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        command = [
            str(self.frontend / "node_modules" / ".bin" / "vite"),
            "preview",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--strictPort",
        ]
        env = {**os.environ, "JOBHUNTER_API_PROXY": self.api_url}
        self._process = subprocess.Popen(
            command,
            cwd=self.frontend,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("vite preview exited at start")
            try:
                httpx.get(self.url, timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("vite preview did not answer")

    def stop(self) -> None:
        if self._process is not None:
            terminate(self._process, grace_s=5)
            self._process = None
