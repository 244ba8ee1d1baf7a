"""The benchmark's synthetic projects must be real projects, or its timings mean nothing.

They must parse, be byte-for-byte reproducible (so two bench runs time the same input),
import with the real pydantic and Beanie (so every field shape is one users can write),
and compile cleanly to N models and N operations.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "bench"))

from synth import generate, touch_one_model  # noqa: E402

N = 5

IMPORT_ALL = textwrap.dedent("""
    import importlib
    import sys
    import warnings
    from pathlib import Path

    warnings.simplefilter("error")
    root = Path(sys.argv[1])
    sys.path.insert(0, str(root))
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        importlib.import_module(module.removesuffix(".__init__"))

    from jobhunter_runtime import ModelRegistry, OperationRegistry

    print(len(ModelRegistry.list_all()), len(OperationRegistry.list_all()))
    """)


def contents(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    generate(root, N)
    return root


def test_every_generated_file_parses(project: Path) -> None:
    files = sorted(project.rglob("*.py"))
    assert len(files) > 2 * N
    for path in files:
        ast.parse(path.read_bytes(), filename=str(path))


def test_generation_is_deterministic(project: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", N)
    assert contents(tmp_path / "again") == contents(project)


def test_touch_one_model_adds_a_new_field_each_time(project: Path) -> None:
    before = contents(project)
    first = touch_one_model(project, N)
    second = touch_one_model(project, N)
    assert first == second
    text = second.read_text(encoding="utf-8")
    assert "bench_note_1: str | None = None" in text
    assert "bench_note_2: str | None = None" in text
    ast.parse(text)
    changed = {rel for rel, data in contents(project).items() if before.get(rel) != data}
    assert changed == {second.relative_to(project).as_posix()}


def test_generated_project_imports_with_pydantic_and_beanie(project: Path) -> None:
    touch_one_model(project, N)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, str(project)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(N), str(N)]


def test_generated_project_compiles_cleanly(project: Path) -> None:
    pipeline = pytest.importorskip("jobhunter_compiler.pipeline")
    result = pipeline.compile_project(project, mode="write")
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert errors == []
    assert result.ok
    assert len(result.ir.models) == N
    assert len(result.ir.operations) == N
