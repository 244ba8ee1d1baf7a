"""The compiler reads user code as source and never imports or executes it (user code may
have side effects or missing dependencies); the runtime API user code imports stays light."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jobhunter_compiler.pipeline import compile_project

REPO_ROOT = Path(__file__).resolve().parent.parent

MODEL = '''\
"""A model whose module stops any process that imports it."""

from beanie import Document
from pydantic import Field

from jobhunter_compiler import datamodel


@datamodel(name="Tripwire", description="Proves the compiler reads source only.")
class Tripwire(Document):
    label: str = Field(min_length=1)
    armed: bool = True


raise SystemExit("imported!")
'''

OPERATION = '''\
"""Importing this module leaves a marker file behind."""

from pathlib import Path

from pydantic import BaseModel

from jobhunter_compiler import operation

Path({marker!r}).write_text("imported")


class DisarmInput(BaseModel):
    label: str


class DisarmOutput(BaseModel):
    disarmed: int


@operation(name="disarm", models_in=["Tripwire"], models_out=["Tripwire"])
async def disarm(payload: DisarmInput) -> DisarmOutput:
    return DisarmOutput(disarmed=0)
'''


def write_project(root: Path, marker: Path) -> Path:
    project = root / "tripwire_project"
    (project / "models").mkdir(parents=True)
    (project / "operations").mkdir()
    (project / "models" / "__init__.py").write_text("")
    (project / "models" / "tripwire.py").write_text(MODEL)
    (project / "operations" / "__init__.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('package imported')\n"
    )
    (project / "operations" / "disarm.py").write_text(OPERATION.format(marker=str(marker)))
    return project


def test_compile_never_imports_user_modules(tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    project = write_project(tmp_path, marker)
    before = set(sys.modules)

    result = compile_project(project)  # an import would raise SystemExit here

    assert result.ok, [d.message for d in result.diagnostics]
    assert result.ir is not None
    assert [m.name for m in result.ir.models] == ["Tripwire"]
    assert [f.name for f in result.ir.models[0].fields] == ["label", "armed"]
    assert [o.name for o in result.ir.operations] == ["disarm"]
    assert result.ir.operations[0].inputs.schema_id == "operations.disarm.DisarmInput"
    assert not marker.exists(), "the compiler imported the operations module"
    loaded = set(sys.modules) - before
    assert not {m for m in loaded if m.split(".")[0] in {"models", "operations"}}
    metadata = json.loads((project / ".run_cache" / "core_docs" / "metadata.json").read_text())
    assert [m["name"] for m in metadata["models"]] == ["Tripwire"]


def test_cli_never_imports_user_modules(tmp_path: Path) -> None:
    """Also through the console entry point, with the project folder on sys.path (cwd)."""
    marker = tmp_path / "MARKER"
    project = write_project(tmp_path, marker)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(project), str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        ),
    }
    for command in (["compile"], ["lint"], ["inspect", "--json"]):
        proc = subprocess.run(
            [sys.executable, "-m", "jobhunter_compiler", *command, "--project", "."],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, output
        assert "imported!" not in output
        assert not marker.exists(), f"`jobhunter {' '.join(command)}` imported user code"
    assert "Tripwire" in (project / ".run_cache" / "core_docs" / "models.md").read_text()


def test_the_parser_process_never_imports_user_modules(tmp_path: Path) -> None:
    """`jobhunter compile` parses in a process of its own, started in the project folder:
    modules there named like what that process imports must not run."""
    script = Path(sys.executable).with_name("jobhunter")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    marker = tmp_path / "MARKER"
    project = write_project(tmp_path, marker)
    for shadow in ("pickle", "ast", "tokenize", "libcst"):
        (project / f"{shadow}.py").write_text(
            f"from pathlib import Path\nPath({str(marker)!r}).write_text({shadow!r})\n"
        )
    proc = subprocess.run(
        [str(script), "compile"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists(), f"the parser process imported the project's {marker.read_text()}"
    assert "Tripwire" in (project / ".run_cache" / "core_docs" / "models.md").read_text()


def test_the_never_import_fixture_compiles(tmp_path: Path) -> None:
    source = REPO_ROOT / "fixtures" / "never_import"
    project = tmp_path / "never_import"
    shutil.copytree(source, project, ignore=shutil.ignore_patterns("__pycache__", ".run_cache"))
    result = compile_project(project)
    assert result.ok, result.diagnostics
    assert result.ir is not None
    assert "Tripwire" in [m.name for m in result.ir.models]


def _modules_imported_by(code: str) -> set[str]:
    """The modules loaded after running `code`, which prints them, in a fresh interpreter."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def test_runtime_import_is_light() -> None:
    code = textwrap.dedent("""
        import json, sys
        import jobhunter_compiler
        from jobhunter_compiler import datamodel, operation
        print(json.dumps(sorted(sys.modules)))
        """)
    modules = _modules_imported_by(code)
    assert "jobhunter_compiler" in modules
    heavy = {m for m in modules if m.split(".")[0] in {"libcst", "jinja2", "typer"}}
    assert not heavy, f"importing the runtime API pulled in {sorted(heavy)}"
    compiler_parts = {
        f"jobhunter_compiler.{name}"
        for name in (
            "scan",
            "resolve",
            "emit",
            "pipeline",
            "commands",
            "output",
            "checks",
            "config",
        )
    }
    assert not modules & compiler_parts, sorted(modules & compiler_parts)


def test_the_command_imports_no_runtime_or_toolchain() -> None:
    """What every `jobhunter` start pays for: the compiler's commands import neither the
    runtime's database stack nor what only rendering and parsing need."""
    code = textwrap.dedent("""
        import json, sys
        import jobhunter_compiler.commands.main
        print(json.dumps(sorted(sys.modules)))
        """)
    modules = _modules_imported_by(code)
    heavy = {"beanie", "pymongo", "motor", "jinja2", "libcst", "uvicorn", "jobhunter_runtime"}
    loaded = sorted({m.split(".")[0] for m in modules} & heavy)
    assert not loaded, f"starting the jobhunter command imports {loaded}"
