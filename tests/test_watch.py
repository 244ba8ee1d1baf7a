"""`jobhunter compile --watch` as users run it: a subprocess on a copy of the demo, edited
underneath it. A save shows up in the output; a broken save is reported with its location
and leaves the output byte-identical; the fix recovers; Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobhunter_compiler.commands.main import app

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
OUT = ".run_cache"
METADATA = f"{OUT}/core_docs/metadata.json"
JOB_DESCRIPTION = "A job posting collected from a job board or entered by hand."
TIMEOUT_S = 20.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Watcher:
    """A running `jobhunter compile --watch`, with its output captured to files (a pipe
    nobody reads could fill up and stall it)."""

    def __init__(self, project: Path, logs: Path, sigint_ignored: bool = False) -> None:
        self.out_path, self.err_path = logs / "stdout.txt", logs / "stderr.txt"
        self._out = self.out_path.open("wb")
        self._err = self.err_path.open("wb")
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200",
            "NO_COLOR": "1",
            "PYTHONFAULTHANDLER": "1",  # SIGABRT dumps every thread's stack (see `exit_code`)
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobhunter_compiler",
                "compile",
                "--watch",
                "-p",
                ".",
            ],
            cwd=project,
            stdout=self._out,
            stderr=self._err,
            env=env,
            # As a background job of a script starts it: SIGINT ignored, inherited.
            preexec_fn=(
                (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
            ),
        )

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def cycles(self) -> int:
        return self.stdout.count("watching for changes")

    def wait_cycle(self, before: int, what: str) -> None:
        wait_for(lambda: self.cycles() > before, what)
        assert self.process.poll() is None, self.stderr

    def exit_code(self, timeout: float) -> int:
        """The exit code; if the process is still running after `timeout`, fail with the
        stacks of all its threads, which is what a hang needs to be understood."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            self.process.wait(timeout=10)
            raise AssertionError(f"still running after {timeout} s:\n{self.stderr}") from None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._out.close()
        self._err.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "demo"
    ignore = shutil.ignore_patterns("__pycache__", OUT, ".jobhunter_cache")
    shutil.copytree(DEMO, target, ignore=ignore)
    return target


@pytest.fixture
def watcher(project: Path, tmp_path: Path) -> Iterator[Watcher]:
    running = Watcher(project, tmp_path)
    try:
        wait_for(lambda: running.cycles() >= 1, "the initial compile")
        yield running
    finally:
        running.close()


def output_bytes(project: Path) -> dict[str, bytes]:
    out = project / OUT
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_edit_error_fix_and_ctrl_c(project: Path, watcher: Watcher) -> None:
    assert (project / METADATA).is_file(), watcher.stderr
    assert "compiled 3 models, 4 operations" in watcher.stdout

    # An edit shows up in the output.
    job = project / "models" / "job.py"
    original = job.read_text(encoding="utf-8")
    cycles = watcher.cycles()
    job.write_text(original.replace(JOB_DESCRIPTION, "Edited under watch."), encoding="utf-8")
    wait_for(lambda: "Edited under watch." in (project / METADATA).read_text(), "the edit")
    watcher.wait_cycle(cycles, "the edit's report")
    assert "changed: models/job.py" in watcher.stdout
    assert "written:" in watcher.stdout and "core_docs/metadata.json" in watcher.stdout

    # A syntax error: reported at path:line, the process stays up, the output is unchanged.
    good = output_bytes(project)
    broken = original + "\n\ndef broken(:\n    pass\n"
    error_line = original.count("\n") + 3
    cycles = watcher.cycles()
    job.write_text(broken, encoding="utf-8")
    watcher.wait_cycle(cycles, "the syntax error's report")
    assert f"models/job.py:{error_line}:" in watcher.stderr
    assert "JH001" in watcher.stderr and "kept the last good output" in watcher.stderr
    assert "Traceback" not in watcher.stderr
    assert output_bytes(project) == good

    # The fix recovers.
    cycles = watcher.cycles()
    job.write_text(original.replace(JOB_DESCRIPTION, "Fixed under watch."), encoding="utf-8")
    wait_for(lambda: "Fixed under watch." in (project / METADATA).read_text(), "the recovery")
    watcher.wait_cycle(cycles, "the recovery's report")
    assert watcher.process.poll() is None

    # Ctrl-C: exit 0, promptly, without a traceback.
    started = time.monotonic()
    watcher.process.send_signal(signal.SIGINT)
    assert watcher.exit_code(timeout=10) == 0, watcher.stderr
    assert time.monotonic() - started < 5
    assert "Traceback" not in watcher.stderr
    assert "stopped watching" in watcher.stdout


def test_ctrl_c_stops_a_watch_started_with_sigint_ignored(project: Path, tmp_path: Path) -> None:
    running = Watcher(project, tmp_path, sigint_ignored=True)
    try:
        wait_for(lambda: running.cycles() >= 1, "the initial compile")
        running.process.send_signal(signal.SIGINT)
        assert running.exit_code(timeout=10) == 0, running.stderr
        assert "stopped watching" in running.stdout
    finally:
        running.close()


def test_outputs_that_did_not_change_are_not_rewritten(project: Path, watcher: Watcher) -> None:
    """Only outputs whose bytes changed are written: the rest keep their mtime."""
    untouched = project / OUT / "docker-compose.yml"
    before = untouched.stat().st_mtime_ns
    job = project / "models" / "job.py"
    cycles = watcher.cycles()
    job.write_text(
        job.read_text(encoding="utf-8").replace(JOB_DESCRIPTION, "Another text."),
        encoding="utf-8",
    )
    wait_for(lambda: "Another text." in (project / METADATA).read_text(), "the edit")
    watcher.wait_cycle(cycles, "the edit's report")
    assert untouched.stat().st_mtime_ns == before


def test_config_and_new_files_are_watched(project: Path, watcher: Watcher) -> None:
    """A new module in a new folder, and an edit of .jobhunter.yml, both recompile."""
    cycles = watcher.cycles()
    config = project / ".jobhunter.yml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("jobhunter-demo", "renamed-demo"),
        encoding="utf-8",
    )
    wait_for(lambda: "renamed-demo" in (project / METADATA).read_text(), "the config edit")
    watcher.wait_cycle(cycles, "the config edit's report")
    assert "changed: .jobhunter.yml" in watcher.stdout


@pytest.mark.parametrize("other", ["--check", "--diff"])
def test_watch_with_check_or_diff_is_a_usage_error(project: Path, other: str) -> None:
    result = CliRunner().invoke(app, ["compile", "--watch", other, "-p", str(project)])
    assert result.exit_code == 2, result.output
    assert "--watch" in result.output
    assert not (project / OUT).exists()


def test_template_overrides_are_watched(project: Path, tmp_path: Path) -> None:
    """Editing an override recompiles; breaking it reports JH010 at its line and keeps
    the output."""
    template = project / "templates" / "api" / "app.py.j2"
    template.parent.mkdir(parents=True)
    builtin = (REPO_ROOT / "jobhunter_compiler" / "templates" / "api" / "app.py.j2").read_text()
    template.write_text(builtin, encoding="utf-8")
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text() + "templates_dir: templates\n", encoding="utf-8")
    running = Watcher(project, tmp_path)
    try:
        wait_for(lambda: running.cycles() >= 1, "the initial compile")
        generated = project / OUT / "generated_api.py"
        cycles = running.cycles()
        template.write_text(builtin.replace("GRACE_S = 5", "GRACE_S = 8"), encoding="utf-8")
        wait_for(lambda: "GRACE_S = 8" in generated.read_text(), "the override edit")
        running.wait_cycle(cycles, "the override edit's report")
        assert "changed: templates/api/app.py.j2" in running.stdout

        good = output_bytes(project)
        broken = builtin.replace("GRACE_S = 5", "GRACE_S = {{ missing }}")
        line = broken.splitlines().index("BACKGROUND_GRACE_S = {{ missing }}") + 1
        cycles = running.cycles()
        template.write_text(broken, encoding="utf-8")
        running.wait_cycle(cycles, "the broken override's report")
        assert f"templates/api/app.py.j2:{line}:" in running.stderr
        assert "JH010" in running.stderr and "Traceback" not in running.stderr
        assert output_bytes(project) == good
    finally:
        running.close()
