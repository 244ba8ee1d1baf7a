"""Each fixtures/errors/<name>/ project must yield exactly the diagnostics in its
expected.txt (`path:LINE CODE` per line, `#` comments allowed): the right code at the
right line, as a diagnostic and never a traceback. A compile with errors must not create
`.run_cache/`, nor touch one that is already there; warnings alone compile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ERROR_FIXTURES, REPO_ROOT, compile_copy, copy_project

from jobhunter_compiler.diagnostics import CODES, Severity

Expected = set[tuple[str, int, str]]

ERROR_PROJECTS = sorted(p for p in ERROR_FIXTURES.iterdir() if p.is_dir())


def read_expected(project: Path) -> Expected:
    expected: Expected = set()
    for raw in (project / "expected.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        location, code = line.split()
        path, lineno = location.rsplit(":", 1)
        expected.add((path, int(lineno), code))
    return expected


def has_error_codes(expected: Expected) -> bool:
    return any(CODES[code].severity is Severity.ERROR for _, _, code in expected)


def snapshot(folder: Path) -> dict[str, bytes]:
    files = (p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def test_every_error_fixture_has_expectations() -> None:
    assert ERROR_PROJECTS, f"no fixtures under {ERROR_FIXTURES}"
    missing = [p.name for p in ERROR_PROJECTS if not (p / "expected.txt").is_file()]
    assert not missing, f"error fixtures without expected.txt: {missing}"
    for project in ERROR_PROJECTS:
        unknown = {code for _, _, code in read_expected(project)} - set(CODES)
        assert not unknown, f"{project.name}: unknown codes {unknown}"


@pytest.mark.parametrize("source", ERROR_PROJECTS, ids=lambda p: p.name)
def test_diagnostics_match_expected(source: Path, tmp_path: Path) -> None:
    expected = read_expected(source)
    project, result = compile_copy(source, tmp_path)

    actual = {(d.path, d.line, d.code) for d in result.diagnostics}
    unexpected = [
        f"{d.path}:{d.line}:{d.col}: {d.code} {d.severity.value}: {d.message}"
        for d in result.diagnostics
        if (d.path, d.line, d.code) not in expected
    ]
    missing = sorted(f"{path}:{line} {code}" for path, line, code in expected - actual)
    assert actual == expected, f"missing: {missing}\nunexpected: {unexpected}"

    if has_error_codes(expected):
        assert result.ok is False
        assert not (project / ".run_cache").exists(), "a failed compile created .run_cache/"
    else:
        assert result.ok is True, "warnings alone must not fail the compile"
        assert (project / ".run_cache" / "core_docs" / "metadata.json").is_file()


@pytest.mark.parametrize(
    "source",
    [p for p in ERROR_PROJECTS if has_error_codes(read_expected(p))],
    ids=lambda p: p.name,
)
def test_failed_compile_leaves_previous_output_untouched(source: Path, tmp_path: Path) -> None:
    from jobhunter_compiler.pipeline import compile_project

    project = copy_project(source, tmp_path / source.name)
    previous = project / ".run_cache"
    (previous / "core_docs").mkdir(parents=True)
    (previous / "core_docs" / "metadata.json").write_text('{"from": "the last good compile"}\n')
    (previous / "generated_api.py").write_text("app = None\n")
    before = snapshot(previous)

    result = compile_project(project, mode="write")

    assert result.ok is False
    assert snapshot(previous) == before


def run_cli(project: Path) -> subprocess.CompletedProcess[str]:
    pythonpath = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jobhunter_compiler",
            "compile",
            "--project",
            str(project),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project.parent,
        env={**os.environ, "PYTHONPATH": pythonpath},
    )


def test_cli_prints_diagnostics_with_caret_and_exits_1(tmp_path: Path) -> None:
    proc = run_cli(copy_project(ERROR_FIXTURES / "non_literal_argument", tmp_path / "project"))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert re.search(r"^models/job\.py:12:\d+: JH101 error", output, re.MULTILINE), output
    assert re.search(r"^\s*\|\s*\^", output, re.MULTILINE), f"no caret line:\n{output}"
    assert "Traceback" not in output, output


def test_cli_exits_0_on_warnings_only(tmp_path: Path) -> None:
    proc = run_cli(copy_project(ERROR_FIXTURES / "unknown_ui_key", tmp_path / "project"))
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert re.search(r"^models/job\.py:11:\d+: JH103 warning", output, re.MULTILINE), output
