"""`jobhunter ops` and `jobhunter models`: run the generated CLI of the project around the
current folder.

The commands themselves live in the project's output folder (`<output>/cli/`, written by
`emit/cli.py`), because their options come from the project's own schemas. This module
only finds the project, says what to run when there is no generated CLI yet, warns when
the output is older than the sources, and hands the arguments over.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from .._version import __version__
from ..config import CONFIG_FILE, extension_group, load_config
from ..diagnostics import render_text
from ..emit.typer_cli import PACKAGE
from ..output.freshness import file_digest, fresh_state, python_files, settings_digests
from ..output.writer import read_manifest
from ..scan.discover import import_paths

stderr = Console(stderr=True, soft_wrap=True, highlight=False)


def find_project(start: Path) -> Path | None:
    """The nearest folder from `start` upwards holding `.jobhunter.yml`; else `start`
    itself when it has `models/` or `operations/` (a project without a config file)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    if (start / "models").is_dir() or (start / "operations").is_dir():
        return start
    return None


def run_generated_cli(arguments: list[str], start: Path | None = None) -> NoReturn:
    """Run `<output>/cli/app.py` with `arguments` (`["ops", ...]`); exits with its code."""
    here = start or Path.cwd()
    root = find_project(here)
    if root is None:
        _fail(
            f"not inside a jobhunter project (no {CONFIG_FILE} in {here} or above): "
            "cd into one, or create one with `jobhunter init`"
        )
    loaded = load_config(root)
    if loaded.diagnostics:
        stderr.print(render_text(loaded.diagnostics, root), markup=False)
        raise SystemExit(1)
    if arguments[:1] in (["users"], ["login"], ["logout"]) and loaded.config.api.auth != "users":
        what = "users to manage" if arguments[0] == "users" else "sign-in"
        _fail(
            f"the app has no {what}: api.auth is {loaded.config.api.auth!r} in "
            f"{CONFIG_FILE}; set it to `users` and run `jobhunter compile`"
        )
    out_dir = root / loaded.config.output_dir
    if not (out_dir / PACKAGE / "app.py").is_file():
        where = "" if root == here.resolve() else f" in {root}"
        _fail(
            f"this project has no generated CLI yet ({loaded.config.output_dir}/{PACKAGE}/ is "
            f"missing): run `jobhunter compile`{where} first"
        )
    if is_stale(root, out_dir):
        stderr.print(
            f"[yellow]warning[/]: {loaded.config.output_dir}/ is older than the sources: "
            "these commands may not match your code; run `jobhunter compile`"
        )
    sys.path[0:0] = [str(path) for path in (out_dir, *import_paths(root, loaded.config))]
    generated = importlib.import_module(f"{PACKAGE}.app")
    generated.app.main(args=arguments, prog_name="jobhunter")
    raise SystemExit(0)  # Typer exits itself; this is for type checkers


def extension_groups(start: Path) -> set[str]:
    """The command groups the project around `start` adds with `cli.extensions`, served by
    its generated CLI like `ops` and `models` (none outside a project or with a bad config)."""
    root = find_project(start)
    if root is None:
        return set()
    loaded = load_config(root)
    if loaded.diagnostics:
        return set()
    return {extension_group(target) for target in loaded.config.cli.extensions}


def is_stale(root: Path, out_dir: Path) -> bool:
    """Whether the sources changed since the output was compiled. The recorded build
    state answers in a few milliseconds; without it (a fresh checkout of committed
    output) the manifest's input hashes do, which misses only files added since."""
    if fresh_state(root, out_dir, settings_digests(root), python_files(root)) is not None:
        return False
    manifest = read_manifest(out_dir)
    if manifest is None or manifest.version != __version__:
        return True
    return any(file_digest(root / path) != digest for path, digest in manifest.inputs.items())


def _fail(message: str) -> NoReturn:
    stderr.print(f"[red]error[/]: {message}")
    raise SystemExit(1)
