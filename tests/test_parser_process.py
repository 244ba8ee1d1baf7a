"""parser_process.py: the parser process `jobhunter compile` starts before importing the
compiler. It must parse exactly as the scan does in-process, and a process that failed
must cost nothing but the in-process parse."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobhunter_compiler.pipeline import compile_project
from jobhunter_compiler.scan.extract import summarise
from jobhunter_compiler.scan.parser_process import ParserProcess
from jobhunter_compiler.scan.scan_cache import CACHE_DIR

DEMO = Path(__file__).resolve().parent.parent / "jobhunter_compiler" / "demo_project"
OUT = ".run_cache"
SOURCES = [
    (DEMO / "models" / "job.py").read_bytes(),
    b"class Broken(:\n",
    b"\xff\xfe not utf-8",
    b"",
]


@pytest.fixture
def parser() -> Iterator[ParserProcess]:
    started = ParserProcess()
    yield started
    started.close()


def test_the_process_parses_like_the_scan_and_serves_many_requests(
    parser: ParserProcess,
) -> None:
    for _ in range(2):
        answer = parser.summarise_pickled(SOURCES)
        assert answer is not None
        assert [pickle.loads(item) for item in answer] == [summarise(s) for s in SOURCES]
    parser.close()
    assert parser.summarise_pickled(SOURCES[:1]) is None


def test_a_dead_process_answers_nothing(parser: ParserProcess) -> None:
    parser._process.kill()
    assert parser.summarise_pickled(SOURCES) is None


def _demo(folder: Path) -> Path:
    shutil.copytree(DEMO, folder, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize("alive", [True, False], ids=["alive", "dead"])
def test_a_compile_with_the_process_writes_what_one_without_writes(
    tmp_path: Path, alive: bool
) -> None:
    with_process, without = _demo(tmp_path / "with"), _demo(tmp_path / "without")
    for project in (with_process, without):
        assert compile_project(project).ok
        model = project / "models" / "job.py"
        model.write_text(model.read_text() + "\n# edited\n")
    parser = ParserProcess()
    asked: list[list[bytes]] = []
    answer = parser.summarise_pickled

    def recording(sources: list[bytes]) -> list[bytes] | None:
        asked.append(sources)
        return answer(sources)

    parser.summarise_pickled = recording  # type: ignore[method-assign]
    if not alive:
        parser._process.kill()
    try:
        result = compile_project(with_process, parser=parser)
    finally:
        parser.close()
    assert result.ok and compile_project(without).ok
    assert asked == [[(with_process / "models" / "job.py").read_bytes()]]
    assert _tree(with_process / OUT) == _tree(without / OUT)


# A compile that started the parser process, then forked a child that holds the parser's
# stdin open (as a worker of the scan's pool does): the parser sees no end of input.
COMPILE_WITH_A_FORKED_CHILD = textwrap.dedent("""
    import os, time
    from jobhunter_compiler.scan.parser_process import ParserProcess

    parser = ParserProcess()
    child = os.fork()
    if child == 0:
        time.sleep(60)
        os._exit(0)
    print(parser._process.pid, child, flush=True)
    time.sleep(60)
""")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_process_dies_with_a_killed_compile() -> None:
    compile_process = subprocess.Popen(
        [sys.executable, "-c", COMPILE_WITH_A_FORKED_CHILD], stdout=subprocess.PIPE, text=True
    )
    assert compile_process.stdout is not None
    parser_pid, child_pid = map(int, compile_process.stdout.readline().split())
    compile_process.kill()
    compile_process.wait()
    compile_process.stdout.close()
    deadline = time.monotonic() + 10
    while _alive(parser_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = _alive(parser_pid)
    for pid in (parser_pid, child_pid):
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert not survived, "the parser process outlived the compile that started it"
