"""Helpers shared by the tests that compile the fixture projects under fixtures/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"
ERROR_FIXTURES = FIXTURES / "errors"
NEVER_IMPORT_FIXTURE = FIXTURES / "never_import"

# An operations module the API and CLI tests add to the demo: `crash` raises a RuntimeError
# (a crash), `refuse` an OperationError, `linger` never ends.
CRASH_OPERATION = '''"""Operations that fail on purpose (test fixture)."""

import asyncio

from pydantic import BaseModel

from jobhunter_compiler import OperationError, operation


class CrashInput(BaseModel):
    message: str = "boom"


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
'''

# The MongoDB fixtures `mongo_url` and `mongo_db_name`.
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
