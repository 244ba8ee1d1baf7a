"""Helpers shared by the tests that compile the fixture projects under fixtures/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"
ERROR_FIXTURES = FIXTURES / "errors"
NEVER_IMPORT_FIXTURE = FIXTURES / "never_import"
TOOLS_VENV = REPO_ROOT / ".venv-tools"
"""Tools that cannot share the test environment (checkov); `make tools` creates it."""

# An operations module the API and CLI tests add to the demo: `crash` raises a RuntimeError
# (a crash), `refuse` an OperationError, `linger` never ends, `count_up` reports its progress
# step by step.
CRASH_OPERATION = '''"""Operations that fail on purpose (test fixture)."""

import asyncio

from pydantic import BaseModel

from jobhunter_compiler import OperationError, operation, report_progress


class CrashInput(BaseModel):
    message: str = "boom"


class CountUpInput(BaseModel):
    steps: int = 4
    pause_s: float = 0.3


class CrashOutput(BaseModel):
    ok: bool


@operation(
    name="crash",
    description="Raise a RuntimeError (test fixture).",
    inputs=CrashInput,
    outputs=CrashOutput,
)
async def crash(input: CrashInput) -> CrashOutput:
    raise RuntimeError(f"kaboom: {input.message}")


@operation(name="refuse", inputs=CrashInput, outputs=CrashOutput)
def refuse(input: CrashInput) -> CrashOutput:
    raise OperationError(f"refused: {input.message}")


@operation(name="linger", inputs=CrashInput, outputs=CrashOutput)
async def linger(input: CrashInput) -> CrashOutput:
    await asyncio.sleep(3600)
    return CrashOutput(ok=True)


@operation(name="count_up", inputs=CountUpInput, outputs=CrashOutput)
async def count_up(input: CountUpInput) -> CrashOutput:
    for step in range(1, input.steps + 1):
        await asyncio.sleep(input.pause_s)
        report_progress(step / input.steps, f"step {step} of {input.steps}")
    return CrashOutput(ok=True)
'''

# An operations module that misbehaves in every way an operation can: exits the interpreter,
# raises ValueError subclasses that carry its input, leaks secrets in messages, overruns its
# `timeout_s`, returns what cannot be stored; and one that runs as long as it is told.
# `FAULT_PASSWORD` and `FAULT_TOKEN` are environment variables the tests set.
FAULT_OPERATIONS = '''"""Operations that misbehave on purpose (test fixture)."""

import asyncio
import json
import os
import sys
import time

from pydantic import BaseModel

from jobhunter_compiler import OperationError, operation


class FaultInput(BaseModel):
    text: str = ""
    seconds: float = 0


class FaultOutput(BaseModel):
    ok: bool


@operation(name="exit_async", inputs=FaultInput, outputs=FaultOutput)
async def exit_async(input: FaultInput) -> FaultOutput:
    sys.exit(3)


@operation(name="exit_sync", inputs=FaultInput, outputs=FaultOutput)
def exit_sync(input: FaultInput) -> FaultOutput:
    sys.exit(3)


@operation(name="interrupt_async", inputs=FaultInput, outputs=FaultOutput)
async def interrupt_async(input: FaultInput) -> FaultOutput:
    raise KeyboardInterrupt


@operation(name="interrupt_sync", inputs=FaultInput, outputs=FaultOutput)
def interrupt_sync(input: FaultInput) -> FaultOutput:
    raise KeyboardInterrupt


@operation(name="parse_json", inputs=FaultInput, outputs=FaultOutput)
async def parse_json(input: FaultInput) -> FaultOutput:
    return FaultOutput(ok=json.loads(input.text))


@operation(name="validate_output", inputs=FaultInput, outputs=FaultOutput)
async def validate_output(input: FaultInput) -> FaultOutput:
    return FaultOutput.model_validate({"ok": input.text})


@operation(name="leak_secrets", inputs=FaultInput, outputs=FaultOutput)
async def leak_secrets(input: FaultInput) -> FaultOutput:
    password, token = os.environ["FAULT_PASSWORD"], os.environ["FAULT_TOKEN"]
    message = f"mongodb://scraper:{password}@db.internal:27017 refused token {token}"
    if input.text == "refuse":
        raise OperationError(message)
    raise RuntimeError(message)


@operation(name="sleep_async", inputs=FaultInput, outputs=FaultOutput, timeout_s=1)
async def sleep_async(input: FaultInput) -> FaultOutput:
    await asyncio.sleep(input.seconds)
    return FaultOutput(ok=True)


@operation(name="sleep_sync", inputs=FaultInput, outputs=FaultOutput, timeout_s=1)
def sleep_sync(input: FaultInput) -> FaultOutput:
    time.sleep(input.seconds)
    return FaultOutput(ok=True)


@operation(name="work", inputs=FaultInput, outputs=FaultOutput)
async def work(input: FaultInput) -> FaultOutput:
    await asyncio.sleep(input.seconds)
    return FaultOutput(ok=True)


@operation(name="unserialisable", inputs=FaultInput)
async def unserialisable(input: FaultInput) -> dict[str, object]:
    return {"handle": object()}


@operation(name="unstorable", inputs=FaultInput)
async def unstorable(input: FaultInput) -> dict[str, int]:
    return {"big": 2**70}
'''

# The MongoDB fixtures `mongo_url`, `mongo_db_name` and `beanie_database`.
pytest_plugins = ["mongo_fixture"]


def oracle_projects() -> list[Path]:
    """Every valid fixture project that can also be imported (demo + edge cases)."""
    special = {ERROR_FIXTURES.name, NEVER_IMPORT_FIXTURE.name}
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir() and p.name not in special)


def copy_project(source: Path, destination: Path) -> Path:
    """Copy a fixture so compiling it never writes into the repository."""
    ignore = shutil.ignore_patterns("__pycache__", ".run_cache", ".jobhunter_cache")
    shutil.copytree(source, destination, ignore=ignore)
    return destination


def compile_copy(source: Path, tmp_path: Path) -> tuple[Path, Any]:
    """Compile a fresh copy of `source` in write mode; returns (copy, result)."""
    from jobhunter_compiler.pipeline import compile_project

    project = copy_project(source, tmp_path / source.name)
    return project, compile_project(project, mode="write")


# ruff's defaults plus bugbear, pyupgrade and simplify; long lines are allowed because
# descriptions come from user code and black does not split strings either.
GENERATED_RUFF_RULES = "E4,E7,E9,F,W,B,UP,SIM"


def assert_black_and_ruff_clean(files: list[str]) -> None:
    """Generated Python must read as if a careful person wrote it: black-stable and
    ruff-clean (with the rules above)."""
    bin_dir = Path(sys.executable).parent
    black = subprocess.run(
        [str(bin_dir / "black"), "--check", "--diff", "-q", *files], capture_output=True, text=True
    )
    assert black.returncode == 0, black.stdout[-4000:] + black.stderr[-2000:]
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--isolated", f"--select={GENERATED_RUFF_RULES}", *files],
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout[-4000:]


def dockerfile_instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) rows of a Dockerfile, continuation lines joined, comments
    dropped."""
    text = dockerfile.read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            rows.append((word.upper(), rest.strip()))
    return rows


def invoke_jobhunter(*args: str) -> Result:
    """`jobhunter ARGS...` in-process; any exception but the exit itself fails the test."""
    from jobhunter_compiler.commands.main import app

    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(
        result.exception, SystemExit
    ), f"{args}: {result.exception!r}\n{result.output}"
    return result


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, the loop PyMongo's async client and Beanie run on."""
    return "asyncio"
