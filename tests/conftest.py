"""Helpers shared by the tests that compile the fixture projects under fixtures/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "fixtures"
ERROR_FIXTURES = FIXTURES / "errors"
NEVER_IMPORT_FIXTURE = FIXTURES / "never_import"

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
