"""CONTRIBUTING.md's "Adding a field kind", followed once for a throwaway kind.

The compiler and runtime sources are copied to a temporary folder and `ulid` (recognised
from a `ulid.ULID` annotation) is added there by text edits to the tables the recipe
names, and nothing else. A project using it then compiles, in a subprocess running the
copy, and the kind shows up in the API's schema, the CLI's option and the frontend's spec;
and with one table's entry left out, the completeness test run against the copy fails
naming that stage and the kind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT

pytestmark = pytest.mark.slow

MODEL = '''"""A model with a field of the throwaway kind."""

from beanie import Document
from ulid import ULID

from jobhunter_compiler import datamodel


@datamodel(name="Thing")
class Thing(Document):
    name: str
    code: ULID
'''

# (file, line that opens its table, the entry the recipe adds right after it)
ENTRIES = {
    "resolve": (
        "resolve/types.py",
        "SPELLINGS: dict[TypeKind, Spelling] = {",
        'TypeKind.ULID: _scalar("ulid.ULID"),',
    ),
    "python": (
        "emit/python.py",
        "PYTHON_KINDS: dict[TypeKind, PythonKind] = {",
        'TypeKind.ULID: PythonKind(_simple("ulid", "ULID")),',
    ),
    "api_filters": (
        "emit/api_filters.py",
        "FILTER_KINDS: dict[TypeKind, KindFilter] = {",
        'TypeKind.ULID: _plain("TEXT"),',
    ),
    "cli": (
        "emit/typer_cli.py",
        "OPTION_KINDS: dict[TypeKind, OptionKind] = {",
        'TypeKind.ULID: _text("ULID", column=True),',
    ),
    "frontend": (
        "emit/frontend.py",
        "FRONTEND_KINDS: dict[TypeKind, FrontendKind] = {",
        'TypeKind.ULID: _sorted("text", "string", "exact"),',
    ),
}


def _edit(path: Path, anchor: str, added: str) -> None:
    text = path.read_text()
    assert text.count(anchor) == 1, f"{path}: the recipe's anchor {anchor!r} moved"
    path.write_text(text.replace(anchor, anchor + added))


def _sources_with_ulid(root: Path, skipped: str | None = None) -> Path:
    """A copy of the compiler and runtime with the recipe applied, but for `skipped`'s entry."""
    ignore = shutil.ignore_patterns("__pycache__")
    for package in ("jobhunter_compiler", "jobhunter_runtime"):
        shutil.copytree(REPO_ROOT / package, root / package, ignore=ignore)
    compiler = root / "jobhunter_compiler"
    _edit(compiler / "ir.py", '    UNKNOWN = "unknown"\n', '    ULID = "ulid"\n')
    for stage, (file, anchor, entry) in ENTRIES.items():
        if stage != skipped:
            _edit(compiler / file, anchor + "\n", f"    {entry}\n")
    return root


def _run(command: list[str], cwd: Path, sources: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(sources), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _completeness(sources: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """tests/test_kind_tables.py, run against the copy (and none of the repository's code)."""
    tests = tmp_path / "tests"
    tests.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "tests" / "test_kind_tables.py", tests)
    (tests / "pytest.ini").write_text("[pytest]\n")
    plugins = ["-p", "no:cacheprovider", "-p", "no:xdist"]
    config = ["-c", str(tests / "pytest.ini")]
    command = [sys.executable, "-m", "pytest", "-q", *plugins, *config, "test_kind_tables.py"]
    return _run(command, tests, sources)


def test_the_recipe_adds_a_kind_end_to_end(tmp_path: Path) -> None:
    sources = _sources_with_ulid(tmp_path / "sources")
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "__init__.py").write_text("")
    (project / "models" / "thing.py").write_text(MODEL)

    result = _run([sys.executable, "-m", "jobhunter_compiler", "compile"], project, sources)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "JH205" not in result.stdout + result.stderr  # `ulid.ULID` was recognised

    out = project / ".run_cache"
    assert '"kind":"ulid"' in (out / "core_docs" / "metadata.json").read_text()
    routes = (out / "generated_routes" / "models" / "thing.py").read_text()
    assert "from ulid import ULID" in routes
    assert "code: ULID" in routes  # the request and response schemas
    assert 'FilterField("code", TEXT)' in routes
    cli = (out / "cli" / "models" / "thing.py").read_text()
    assert 'Option("--code", metavar="ULID", show_default=False)' in cli
    assert '"code"' in cli.split("columns=(", 1)[1].split(")", 1)[0]  # `models list` shows it
    spec = (out / "generated_frontend" / "src" / "generated" / "models" / "Thing.ts").read_text()
    assert "  code: string;" in spec
    assert 'name: "code"' in spec and 'widget: "text"' in spec and 'filter: "exact"' in spec

    complete = _completeness(sources, tmp_path / "complete")
    assert complete.returncode == 0, complete.stdout + complete.stderr


def test_a_kind_missing_from_one_table_fails_naming_the_stage_and_the_kind(
    tmp_path: Path,
) -> None:
    sources = _sources_with_ulid(tmp_path / "sources", skipped="cli")
    result = _completeness(sources, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, result.stdout
    assert "test_every_kind_has_an_entry_in_the_stage_table[cli]" in failed[0]
    assert "stage cli: no entry for kind ulid" in result.stdout
