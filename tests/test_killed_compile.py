"""A compile killed at any point (SIGKILL, as by a power cut or the OOM killer) leaves an
output folder that `compile --check` reports stale unless it is exactly fresh, that the
next compile repairs completely, no staging folder, and no parser process behind it.

A real 200-model project (tests/bench/synth.py) is renamed and shrinks to 180 models, so
the compile rewrites most files and removes some; tests/killed_compile.py runs that compile in
a subprocess that kills itself just before a chosen change to the output folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobhunter_compiler.commands.main import app
from jobhunter_compiler.output.freshness import STATE_FILE
from jobhunter_compiler.pipeline import compile_project
from jobhunter_compiler.scan.scan_cache import CACHE_DIR, SCAN_CACHE

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "bench"))

from killed_compile import CHANGE  # noqa: E402
from synth import generate, project_files  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

OUT = ".run_cache"
BEFORE, AFTER = 200, 180
TOKEN_VARIABLE = "JOBHUNTER_KILLED_COMPILE"
SURVIVOR_TIMEOUT_S = 10.0


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def edit(project: Path) -> None:
    """What the killed compile compiles: the project renamed (most outputs change), and
    models and operations 180 to 199 gone (their outputs go)."""
    before, after = project_files(BEFORE), project_files(AFTER)
    for rel in set(before) - set(after):
        (project / rel).unlink()
    for rel, text in after.items():
        if text != before[rel]:
            (project / rel).write_text(text, encoding="utf-8", newline="\n")


def processes_with(token: str) -> list[int]:
    """Every process started by the killed compile: they inherited its environment."""
    found = []
    marker = f"{TOKEN_VARIABLE}={token}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environment = (entry / "environ").read_bytes()
            except OSError:  # ended meanwhile
                continue
            if marker in environment.split(b"\0"):
                found.append(int(entry.name))
    return found


def killed_compile(project: Path, step: str) -> tuple[int, str]:
    """Run the compile, killed at `step`: its exit code and output. Fails the test if a
    child outlives it."""
    token = uuid.uuid4().hex
    env = {
        **os.environ,
        TOKEN_VARIABLE: token,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    # A file, not a pipe: a surviving child would hold a pipe open and hang the read.
    with tempfile.TemporaryFile("w+") as output:
        proc = subprocess.run(
            [sys.executable, str(REPO / "tests" / "killed_compile.py"), str(project), step],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        output.seek(0)
        printed = output.read()
    deadline = time.monotonic() + SURVIVOR_TIMEOUT_S
    while (survivors := processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in survivors:  # clean up after a failure
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"killed at {step}: processes {survivors} outlived the compile"
    return proc.returncode, printed


def check_exit_code(project: Path) -> int:
    return CliRunner().invoke(app, ["compile", "--check", "--project", str(project)]).exit_code


def staging_folders(project: Path) -> list[str]:
    return [p.name for p in project.iterdir() if "staging" in p.name]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(where the project is compiled, a copy of it compiled): the 200-model project with
    its output, and caches that hold the edited project's renders too, so that each
    killed compile costs what a compile after an edit costs."""
    folder = tmp_path_factory.mktemp("killed")
    project, copy = folder / "project", folder / "saved"
    generate(project, BEFORE)
    assert compile_project(project).ok
    shutil.copytree(project, copy, symlinks=True)
    edit(project)
    assert compile_project(project).ok
    state = (copy / CACHE_DIR / STATE_FILE).read_bytes()
    shutil.rmtree(copy / CACHE_DIR)
    shutil.copytree(project / CACHE_DIR, copy / CACHE_DIR)
    (copy / CACHE_DIR / STATE_FILE).write_bytes(state)
    return project, copy


def test_a_killed_compile_leaves_a_tree_check_reports_and_the_next_compile_repairs(
    saved: tuple[Path, Path],
) -> None:
    project, copy = saved

    def restore() -> None:
        shutil.rmtree(project)
        shutil.copytree(copy, project, symlinks=True)
        edit(project)

    restore()
    exit_code, printed = killed_compile(project, "0")
    assert exit_code == 0, printed
    expected = tree(project / OUT)
    changes = [
        line.removeprefix(CHANGE).split(" ", 1)
        for line in printed.splitlines()
        if line.startswith(CHANGE)
    ]
    replaced = [i for i, (op, _) in enumerate(changes, 1) if op == "replace"]
    manifest = next(i for i, (op, path) in enumerate(changes, 1) if path == "manifest.json")
    assert len(replaced) > 20 and len(changes) - manifest > 20, changes
    steps = {
        1,  # the first change
        replaced[len(replaced) // 2],  # inside the replace loop
        manifest,  # every file replaced but the manifest
        manifest + 1,  # the new manifest in place, no stale file removed yet
        (manifest + len(changes)) // 2,  # half the stale files removed
        len(changes),  # the last change
    }

    for step in [*sorted(steps), "parse"]:
        restore()
        if step == "parse":  # a parse big enough for the worker pool
            shutil.rmtree(project / CACHE_DIR / SCAN_CACHE)
        exit_code, printed = killed_compile(project, str(step))
        assert exit_code == -signal.SIGKILL, f"{step}: {printed}"
        assert (
            check_exit_code(project) == 1 or tree(project / OUT) == expected
        ), f"killed at {step}: --check called a stale folder fresh"
        repaired = CliRunner().invoke(app, ["compile", "--project", str(project)])
        assert repaired.exit_code == 0, f"{step}: {repaired.output}"
        assert tree(project / OUT) == expected, f"killed at {step}: not repaired"
        assert staging_folders(project) == [], f"killed at {step}"
        assert check_exit_code(project) == 0, f"killed at {step}"
