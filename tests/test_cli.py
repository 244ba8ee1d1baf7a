"""The `jobhunter` command: compile, lint, inspect, demo, --version.
Exit codes: 0 success, 1 problems in the project (or stale output with --check), 2 usage."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import invoke_jobhunter

from jobhunter_compiler import __version__

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
ERRORS = REPO_ROOT / "fixtures" / "errors"
OUT = ".run_cache"


run = invoke_jobhunter


def copy(source: Path, destination: Path) -> Path:
    shutil.copytree(
        source,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", OUT, ".jobhunter_cache", "expected.txt"),
    )
    return destination


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    result = run("demo", str(target))
    assert result.exit_code == 0, result.output
    return target


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"jobhunter {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_console_script_version() -> None:
    """The installed `jobhunter` entry point, as a user runs it."""
    script = Path(sys.executable).with_name("jobhunter")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    proc = subprocess.run(
        [str(script), "--version"], capture_output=True, text=True, timeout=60, env=os.environ
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"jobhunter {__version__}"


def test_console_script_compile_reports_and_exits_like_in_process(demo: Path) -> None:
    """`jobhunter compile` ends a one-shot compile with `os._exit` (no teardown): its
    output must still be complete in a pipe, and its exit codes those of the command."""
    script = Path(sys.executable).with_name("jobhunter")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")

    def jobhunter(*arguments: str) -> subprocess.CompletedProcess[str]:
        command = [str(script), *arguments, "--project", str(demo)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    compiled = jobhunter("compile")
    assert compiled.returncode == 0, compiled.stderr
    assert "compiled" in compiled.stdout
    model = demo / "models" / "job.py"
    model.write_text(model.read_text() + "\n# edited\n")
    stale = jobhunter("compile", "--check")
    assert stale.returncode == 1
    assert "+++ b/.run_cache/" not in stale.stdout  # --check lists, --diff shows
    assert "stale" in stale.stdout + stale.stderr
    model.write_text(model.read_text() + "\nclass Broken(:\n")
    broken = jobhunter("compile", "--format", "json")
    assert broken.returncode == 1
    report = json.loads(broken.stdout)  # the whole document, flushed before exiting
    assert "JH001" in [d["code"] for d in report["diagnostics"]]


def test_no_arguments_shows_help() -> None:
    result = run()
    assert result.exit_code in (0, 2)
    for command in ("compile", "lint", "inspect", "demo"):
        assert command in result.output


def test_demo_writes_the_demo_project(demo: Path) -> None:
    written = sorted(p.relative_to(demo).as_posix() for p in demo.rglob("*") if p.is_file())
    expected = sorted(
        p.relative_to(DEMO).as_posix()
        for p in DEMO.rglob("*")
        if p.is_file()
        and not {"__pycache__", OUT, ".jobhunter_cache"} & set(p.relative_to(DEMO).parts)
    )
    assert written == expected
    assert ".jobhunter.yml" in written and "Makefile" in written
    assert (demo / "models" / "job.py").read_bytes() == (DEMO / "models" / "job.py").read_bytes()


def test_demo_then_compile_prints_one_success_line(demo: Path) -> None:
    result = run("compile", "-p", str(demo))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    line = lines[0]
    assert "compiled 3 models, 4 operations" in line
    assert re.search(r"\d+ written, \d+ removed, \d+ unchanged", line), line
    assert re.search(r"in \d+\.\d+s", line), line
    assert result.stderr.strip() == "", "warnings on the demo project"
    assert (demo / OUT / "core_docs" / "metadata.json").is_file()
    assert (demo / OUT / "manifest.json").is_file()

    again = run("compile", "--project", str(demo))
    assert again.exit_code == 0
    assert len([line for line in again.stdout.splitlines() if line.strip()]) == 1
    assert "compiled 3 models, 4 operations" in again.stdout
    assert re.search(r"up to date|0 written, 0 removed", again.stdout), again.stdout


def test_compile_in_the_current_directory(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(demo)
    result = run("compile")
    assert result.exit_code == 0, result.output
    assert (demo / OUT / "manifest.json").is_file()


def test_demo_into_a_non_empty_folder_fails_cleanly(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    result = run("demo", str(target))
    assert result.exit_code == 1
    assert "not empty" in result.stderr
    assert "Traceback" not in result.output
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "mine"

    forced = run("demo", str(target), "--force")
    assert forced.exit_code == 0, forced.output
    assert (target / "keep.txt").read_text() == "mine"
    assert (target / "models" / "job.py").is_file()


def test_demo_into_an_empty_existing_folder(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    assert run("demo", str(target)).exit_code == 0
    assert (target / ".jobhunter.yml").is_file()


def test_lint_exit_codes(demo: Path, tmp_path: Path) -> None:
    clean = run("lint", "-p", str(demo))
    assert clean.exit_code == 0, clean.output
    assert "no errors" in clean.stderr
    assert not (demo / OUT).exists(), "lint wrote output"

    broken = copy(ERRORS / "syntax_error", tmp_path / "broken")
    failed = run("lint", "-p", str(broken))
    assert failed.exit_code == 1
    assert re.search(r"^models/job\.py:8:\d+: JH001 error", failed.stderr, re.MULTILINE)
    assert not (broken / OUT).exists()

    warned = copy(ERRORS / "unknown_ui_key", tmp_path / "warned")
    warning = run("lint", "-p", str(warned))
    assert warning.exit_code == 0, "warnings alone must not fail lint"
    assert "JH103 warning" in warning.stderr


def test_lint_json(tmp_path: Path) -> None:
    broken = copy(ERRORS / "duplicate_model", tmp_path / "broken")
    result = run("lint", "--format", "json", "-p", str(broken))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert {d["code"] for d in data} == {"JH201"}
    assert set(data[0]) >= {"code", "severity", "message", "path", "line", "col", "hint"}


def test_lint_json_on_a_clean_project_is_an_empty_list(demo: Path) -> None:
    """CI tools parse the output whatever the result: no diagnostics is `[]`, not nothing."""
    result = run("lint", "--format", "json", "-p", str(demo))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_inspect_table(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobhunter_compiler.commands import main as cli

    monkeypatch.setattr(cli.stdout, "width", 200)  # CliRunner is no terminal: 80 columns
    result = run("inspect", "-p", str(demo))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Models" in out and "Operations" in out
    for name in ("Job", "Application", "TestItem"):
        assert name in out
    for name in ("search_jobs", "create_test_item", "submit_application", "scrape_jobs"):
        assert name in out
    for collection in ("jobs", "applications", "test_items"):
        assert collection in out
    assert not (demo / OUT).exists(), "inspect wrote output"


def test_inspect_json_equals_metadata_json(demo: Path) -> None:
    result = run("inspect", "--json", "-p", str(demo))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {m["name"] for m in data["models"]} == {"Job", "Application", "TestItem"}
    assert run("compile", "-p", str(demo)).exit_code == 0
    metadata = (demo / OUT / "core_docs" / "metadata.json").read_text()
    assert data == json.loads(metadata)
    assert result.stdout == metadata


def test_inspect_on_a_broken_project(tmp_path: Path) -> None:
    broken = copy(ERRORS / "syntax_error", tmp_path / "broken")
    result = run("inspect", "--json", "-p", str(broken))
    assert result.exit_code == 1
    assert "JH001" in result.output


def test_compile_format_json_on_an_error_project(tmp_path: Path) -> None:
    broken = copy(ERRORS / "unknown_model", tmp_path / "broken")
    result = run("compile", "--format", "json", "-p", str(broken))
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["plan"] is None
    codes = {d["code"] for d in data["diagnostics"]}
    assert "JH302" in codes
    for d in data["diagnostics"]:
        assert re.fullmatch(r"JH\d{3}", d["code"])
        assert d["severity"] in ("error", "warning")
        assert d["path"] is None or (broken / d["path"]).exists()
    assert not (broken / OUT).exists()


def test_compile_text_errors_go_to_stderr_with_a_summary(tmp_path: Path) -> None:
    broken = copy(ERRORS / "unknown_model", tmp_path / "broken")
    result = run("compile", "-p", str(broken))
    assert result.exit_code == 1
    assert "JH302 error" in result.stderr
    assert "compile failed" in result.stderr
    assert "untouched" in result.stderr
    assert "compiled" not in result.stdout


def test_check_with_diff_still_fails_when_stale(demo: Path) -> None:
    """`--check --diff` is either refused (usage error) or a check: never a silent 0."""
    assert run("compile", "-p", str(demo)).exit_code == 0
    job = demo / "models" / "job.py"
    job.write_text(job.read_text().replace("is_featured: bool = False", "is_featured: bool = True"))
    before = (demo / OUT / "core_docs" / "metadata.json").read_bytes()
    result = run("compile", "--check", "--diff", "-p", str(demo))
    assert result.exit_code in (1, 2), result.output
    assert (demo / OUT / "core_docs" / "metadata.json").read_bytes() == before


def test_unknown_option_is_a_usage_error(demo: Path) -> None:
    result = run("compile", "--frobnicate", "-p", str(demo))
    assert result.exit_code == 2


def test_bad_format_value_is_a_usage_error(demo: Path) -> None:
    result = run("compile", "--format", "xml", "-p", str(demo))
    assert result.exit_code == 2


def test_project_is_a_file_is_a_usage_error(demo: Path) -> None:
    result = run("compile", "-p", str(demo / "Makefile"))
    assert result.exit_code == 2


def test_missing_project_folder_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    result = run("compile", "-p", str(missing))
    assert result.exit_code != 0, result.output
    assert not missing.exists(), "compile created the missing project folder"
