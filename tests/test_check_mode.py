"""`jobhunter compile --check` / `--diff`, which CI runs to catch committed output gone stale.

--check writes nothing and exits 1 with a unified diff naming the stale files; --diff prints
the same diff and exits 0; files the compiler produced before and no longer produces are
deleted by compile and reported by --check; files the user put into the output folder are
never touched nor reported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from jobhunter_compiler.commands.main import app

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
OUT = ".run_cache"
HAS_DOT = shutil.which("dot") is not None
HAS_PATCH = shutil.which("patch") is not None

NEW_FIELD = "    headcount: int = Field(default=1, ge=1)\n"


def run(project: Path, *args: str) -> Result:
    result = CliRunner().invoke(app, [*args, "--project", str(project)])
    assert result.exception is None or isinstance(
        result.exception, SystemExit
    ), f"{args}: {result.exception!r}\n{result.output}"
    return result


def snapshot(folder: Path) -> dict[str, tuple[bytes, int, int]]:
    """Content, inode and mtime of every file: a rewrite with equal bytes still shows."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[path.relative_to(folder).as_posix()] = (
                path.read_bytes(),
                stat.st_ino,
                stat.st_mtime_ns,
            )
    return found


def sources(project: Path) -> dict[str, bytes]:
    """Everything but the scan cache, which `--check` may refresh."""
    return {
        p.relative_to(project).as_posix(): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and ".jobhunter_cache" not in p.parts
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    shutil.copytree(
        DEMO, folder, ignore=shutil.ignore_patterns("__pycache__", OUT, ".jobhunter_cache")
    )
    result = run(folder, "compile")
    assert result.exit_code == 0, result.output
    return folder


def add_field(project: Path) -> None:
    job = project / "models" / "job.py"
    text = job.read_text()
    anchor = "    is_featured: bool = False\n"
    assert anchor in text
    job.write_text(text.replace(anchor, anchor + NEW_FIELD))


def test_check_passes_when_fresh(project: Path) -> None:
    before = snapshot(project / OUT)
    result = run(project, "compile", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == "", "a fresh --check printed a diff"
    assert "up to date" in result.stderr
    assert snapshot(project / OUT) == before


def test_check_fails_with_a_unified_diff_after_a_model_edit(project: Path) -> None:
    add_field(project)
    before_out = snapshot(project / OUT)
    before_sources = sources(project)

    result = run(project, "compile", "--check")

    assert result.exit_code == 1, result.output
    assert snapshot(project / OUT) == before_out, "--check wrote to .run_cache/"
    assert sources(project) == before_sources, "--check wrote into the project"
    diff = result.stdout
    assert "--- a/core_docs/metadata.json\n+++ b/core_docs/metadata.json\n" in diff
    assert "--- a/core_docs/models.md\n+++ b/core_docs/models.md\n" in diff
    assert "--- a/manifest.json\n+++ b/manifest.json\n" in diff
    assert "\n@@ -" in diff
    # metadata.json holds a record per line: the diff shows Job's record changed, alone.
    metadata_diff = diff.split("+++ b/core_docs/metadata.json\n")[1].split("\n--- ")[0]
    changed = [line for line in metadata_diff.splitlines() if line.startswith(("+", "-"))]
    assert len(changed) == 2, changed
    assert '"class_name":"Job"' in changed[0] and '"name":"headcount"' not in changed[0]
    assert '"class_name":"Job"' in changed[1] and '"name":"headcount"' in changed[1]
    assert "+| `headcount` | `int` |" in diff
    for unchanged in ("graph.dot", "graph.mmd", "metadata.schema.json", "operations.md"):
        assert f"a/core_docs/{unchanged}" not in diff
    assert "core_docs/metadata.json" in result.stderr  # the summary names the files too
    assert "stale" in result.stderr

    shown = run(project, "compile", "--diff")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout == diff
    assert snapshot(project / OUT) == before_out, "--diff wrote to .run_cache/"

    compiled = run(project, "compile")
    assert compiled.exit_code == 0, compiled.output
    assert '"name":"headcount"' in (project / OUT / "core_docs" / "metadata.json").read_text()
    again = run(project, "compile", "--check")
    assert again.exit_code == 0, again.output
    assert again.stdout == ""


@pytest.mark.skipif(not HAS_PATCH, reason="needs patch(1)")
def test_the_diff_applies_with_patch(project: Path, tmp_path: Path) -> None:
    """The diff is a real unified diff: applied to the old output it gives the new one."""
    add_field(project)
    diff = run(project, "compile", "--diff").stdout
    old = tmp_path / "old"
    shutil.copytree(project / OUT, old)
    proc = subprocess.run(
        ["patch", "-p1", "--batch", "--silent"],
        input=diff,
        text=True,
        cwd=old,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert run(project, "compile").exit_code == 0
    new = {
        p.relative_to(project / OUT): p.read_bytes()
        for p in (project / OUT).rglob("*")
        if p.is_file()
    }
    patched = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    assert patched == new


def test_check_without_previous_output_reports_every_file_and_writes_nothing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "fresh"
    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("__pycache__", OUT))
    result = run(folder, "compile", "--check")
    assert result.exit_code == 1
    assert "--- /dev/null\n+++ b/core_docs/metadata.json\n" in result.stdout
    assert "--- /dev/null\n+++ b/manifest.json\n" in result.stdout
    assert not (folder / OUT).exists(), "--check created the output folder"
    diff = run(folder, "compile", "--diff")
    assert diff.exit_code == 0
    assert not (folder / OUT).exists(), "--diff created the output folder"


def test_check_reports_a_hand_edited_or_deleted_output_file(project: Path) -> None:
    models_md = project / OUT / "core_docs" / "models.md"
    models_md.write_text(models_md.read_text() + "my own note\n")
    (project / OUT / "core_docs" / "graph.mmd").unlink()

    result = run(project, "compile", "--check")

    assert result.exit_code == 1
    assert "--- a/core_docs/models.md\n+++ b/core_docs/models.md\n" in result.stdout
    assert "-my own note\n" in result.stdout
    assert "--- /dev/null\n+++ b/core_docs/graph.mmd\n" in result.stdout
    assert run(project, "compile").exit_code == 0
    assert "my own note" not in models_md.read_text()
    assert (project / OUT / "core_docs" / "graph.mmd").is_file()
    assert run(project, "compile", "--check").exit_code == 0


def _set_graph_svg(project: Path, value: str) -> None:
    config = project / ".jobhunter.yml"
    text = config.read_text()
    assert "graph_svg: false" in text
    config.write_text(text.replace("graph_svg: false", f"graph_svg: {value}"))


@pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot")
def test_a_file_no_longer_produced_is_reported_then_deleted(project: Path) -> None:
    _set_graph_svg(project, "true")
    assert run(project, "compile").exit_code == 0
    svg = project / OUT / "core_docs" / "graph.svg"
    assert svg.is_file()
    manifest = json.loads((project / OUT / "manifest.json").read_text())
    assert "core_docs/graph.svg" in manifest["outputs"]

    config = (project / ".jobhunter.yml").read_text()
    (project / ".jobhunter.yml").write_text(config.replace("graph_svg: true", "graph_svg: false"))
    check = run(project, "compile", "--check")
    assert check.exit_code == 1
    assert "--- a/core_docs/graph.svg\n+++ /dev/null\n" in check.stdout
    assert "core_docs/graph.svg" in check.stderr
    assert svg.is_file(), "--check deleted a file"

    assert run(project, "compile").exit_code == 0
    assert not svg.exists(), "compile kept a file it no longer produces"
    manifest = json.loads((project / OUT / "manifest.json").read_text())
    assert "core_docs/graph.svg" not in manifest["outputs"]
    assert run(project, "compile", "--check").exit_code == 0


def test_a_formerly_produced_file_listed_in_the_manifest_is_removed(project: Path) -> None:
    """As left behind by an older compiler version that emitted `core_docs/old/legacy.md`."""
    legacy = project / OUT / "core_docs" / "old" / "legacy.md"
    legacy.parent.mkdir()
    legacy.write_text("# from an older compiler\n")
    manifest_path = project / OUT / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["outputs"]["core_docs/old/legacy.md"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    check = run(project, "compile", "--check")
    assert check.exit_code == 1
    assert "--- a/core_docs/old/legacy.md\n+++ /dev/null\n" in check.stdout
    assert "-# from an older compiler\n" in check.stdout
    assert legacy.is_file()

    assert run(project, "compile").exit_code == 0
    assert not legacy.exists()
    assert not legacy.parent.exists(), "the emptied folder was left behind"
    assert run(project, "compile", "--check").exit_code == 0


def test_foreign_files_in_the_output_folder_are_never_touched(project: Path) -> None:
    foreign = {
        "notes.txt": b"my notes\n",
        "core_docs/mine.md": b"# mine\n",
        "generated_frontend/node_modules/pkg/index.js": b"module.exports = 1;\n",
    }
    for rel, content in foreign.items():
        path = project / OUT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    stats = {rel: os.stat(project / OUT / rel) for rel in foreign}

    check = run(project, "compile", "--check")
    assert check.exit_code == 0, check.output
    for rel in foreign:
        assert rel not in check.output

    add_field(project)
    stale = run(project, "compile", "--check")
    assert stale.exit_code == 1
    assert run(project, "compile").exit_code == 0
    # Also after a compile that rewrote and would have cleaned up.
    assert run(project, "compile", "--check").exit_code == 0
    for rel, content in foreign.items():
        path = project / OUT / rel
        assert path.read_bytes() == content, f"{rel} was changed"
        assert path.stat().st_ino == stats[rel].st_ino
        assert rel not in stale.output
    manifest = json.loads((project / OUT / "manifest.json").read_text())
    assert not set(foreign) & set(manifest["outputs"])


def test_format_json(project: Path) -> None:
    fresh = run(project, "compile", "--check", "--format", "json")
    assert fresh.exit_code == 0
    data = json.loads(fresh.stdout)
    assert data["ok"] is True and data["stale"] is False and data["mode"] == "check"
    assert data["models"] == 3 and data["operations"] == 4
    assert data["diagnostics"] == []

    add_field(project)
    stale = run(project, "compile", "--check", "--format", "json")
    assert stale.exit_code == 1
    data = json.loads(stale.stdout)
    assert data["ok"] is True and data["stale"] is True
    assert "core_docs/metadata.json" in data["plan"]["changed"]
    assert "manifest.json" in data["plan"]["changed"]

    written = run(project, "compile", "--format", "json")
    assert written.exit_code == 0
    data = json.loads(written.stdout)
    assert data["mode"] == "write"
    assert sorted(data["plan"]["changed"]) == [
        "cli/models/job.py",
        "core_docs/metadata.json",
        "core_docs/models.md",
        "generated_frontend/src/generated/models/Job.ts",
        "generated_routes/models/job.py",
        "manifest.json",
    ]


def test_check_on_a_broken_project_fails_with_diagnostics_and_writes_nothing(
    project: Path,
) -> None:
    job = project / "models" / "job.py"
    job.write_text(job.read_text().replace("class Job(Document):", "class Job(Document:"))
    before = snapshot(project / OUT)
    result = run(project, "compile", "--check")
    assert result.exit_code == 1
    assert "models/job.py:" in result.stderr and "JH001 error" in result.stderr
    assert snapshot(project / OUT) == before


def test_check_notices_a_project_name_from_a_new_pyproject(tmp_path: Path) -> None:
    """Without `project:` in the config the name comes from pyproject.toml, so creating
    that file changes the output; --check and compile must notice (no stale fast path)."""
    folder = tmp_path / "named"
    shutil.copytree(
        DEMO, folder, ignore=shutil.ignore_patterns("__pycache__", OUT, ".jobhunter_cache")
    )
    config = folder / ".jobhunter.yml"
    config.write_text(
        "\n".join(
            line for line in config.read_text().splitlines() if not line.startswith("project:")
        )
        + "\n"
    )
    assert run(folder, "compile").exit_code == 0
    metadata = folder / OUT / "core_docs" / "metadata.json"
    assert json.loads(metadata.read_text())["project"] != "renamed"

    (folder / "pyproject.toml").write_text('[project]\nname = "renamed"\n')
    check = run(folder, "compile", "--check")
    assert check.exit_code == 1, "--check missed the new project name"
    assert "core_docs/metadata.json" in check.stdout
    assert run(folder, "compile").exit_code == 0
    assert json.loads(metadata.read_text())["project"] == "renamed"


def test_check_notices_a_new_model_file(project: Path) -> None:
    (project / "models" / "extra.py").write_text(
        "from beanie import Document\nfrom jobhunter_compiler import datamodel\n\n"
        "@datamodel(name='Extra')\nclass Extra(Document):\n    x: int\n"
    )
    check = run(project, "compile", "--check")
    assert check.exit_code == 1
    assert '"class_name":"Extra"' in check.stdout
    assert run(project, "compile").exit_code == 0
    (project / "models" / "extra.py").unlink()
    assert run(project, "compile", "--check").exit_code == 1
    assert run(project, "compile").exit_code == 0
    assert "Extra" not in (project / OUT / "core_docs" / "metadata.json").read_text()
