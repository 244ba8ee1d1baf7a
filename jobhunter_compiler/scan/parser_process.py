"""A parser in a process of its own, started before the compiler is imported.

After a save, `jobhunter compile` parses one or two files, but parsing needs libcst, whose
import (~0.15 s) would otherwise come after the CLI's own (~0.3 s). So the `jobhunter`
command starts this process first thing (see `launch.py`); it imports libcst on the other
core while the CLI imports the compiler, and the scan hands it the files it must parse.
Summaries come back pickled, as from the scan's worker pool.

This module imports only the standard library: starting the process must cost the CLI
nothing. Anything going wrong with the process (it did not start, died, answered garbage)
means the scan parses in-process, as it does without one.

A parser, here or in the scan's worker pool, dies with the compile that started it, even
one killed by SIGKILL: it would otherwise wait for requests forever.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from typing import BinaryIO

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ParserProcess:
    """`python -m jobhunter_compiler.scan.parser_process`, serving parse requests on its stdin."""

    def __init__(self) -> None:
        # -I: `-m` would put the working folder, the user's project, first on sys.path,
        # and a `pickle.py` or `ast.py` of theirs would run here.
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-m", __name__, str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def summarise_pickled(self, sources: list[bytes]) -> list[bytes] | None:
        """Each source's pickled `ModuleSummary`, or None when the process failed us."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        try:
            pickle.dump(sources, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
            answer = pickle.load(stdout)
        except Exception:  # died, or sent something that does not unpickle
            self.close()
            return None
        if not (
            isinstance(answer, list)
            and len(answer) == len(sources)
            and all(isinstance(item, bytes) for item in answer)
        ):
            self.close()
            return None
        return answer

    def close(self) -> None:
        """Stop the process, whatever it is doing (a no-op compile never needed it)."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # unsent bytes to a dead process
                    pipe.close()


_started: ParserProcess | None = None


def start() -> None:
    """Start the process for the compile this command is about to run."""
    global _started
    try:
        _started = ParserProcess()
    except OSError:  # no process for us: the scan parses in-process
        _started = None


def take() -> ParserProcess | None:
    """The process `start` started, handed to its one user."""
    global _started
    started, _started = _started, None
    return started


def die_with_parent(parent: int) -> None:
    """Have Linux SIGKILL this process when `parent`, the compile that started it, dies;
    elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    # start-up time: this module is imported before the compiler, and only Linux needs it
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """Answer each list of sources with their pickled summaries until stdin closes."""
    # in the parser process, after it has started: libcst loads there
    from .extract import summarise_pickled

    while True:
        try:
            sources = pickle.load(requests)
        except EOFError:
            return
        pickle.dump(
            [summarise_pickled(source) for source in sources],
            answers,
            protocol=pickle.HIGHEST_PROTOCOL,
        )
        answers.flush()


if __name__ == "__main__":
    die_with_parent(int(sys.argv[1]))
    serve(sys.stdin.buffer, sys.stdout.buffer)
