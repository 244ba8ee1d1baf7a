"""Run `jobhunter compile` in this process and SIGKILL it at a chosen point, as a power cut
or the OOM killer would (tests/test_killed_compile.py).

    python tests/killed_compile.py PROJECT STEP

STEP counts the changes to the project's output folder (each `os.replace` into it, each
`os.unlink` or `os.rmdir` in it): the process kills itself just before change number STEP.
`parse` kills it once the scan's worker pool has started parsing; `0` never kills it. Each
change is printed to stderr as `change: <op> <path relative to the output folder>`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

CHANGE = "change: "


def main() -> None:
    project, step = sys.argv[1], sys.argv[2]
    out_dir = os.path.join(os.path.realpath(project), ".run_cache", "")
    changes = 0

    def watching(operation: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal changes
            path = os.fspath(args[-1] if operation == "replace" else args[0])
            if path.startswith(out_dir):
                changes += 1
                if str(changes) == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                print(f"{CHANGE}{operation} {path[len(out_dir):]}", file=sys.stderr, flush=True)
            return real(*args, **kwargs)

        return wrapper

    os.replace = watching("replace", os.replace)
    os.unlink = watching("unlink", os.unlink)
    os.rmdir = watching("rmdir", os.rmdir)
    if step == "parse":
        real_map = ProcessPoolExecutor.map

        def map_then_die(self: ProcessPoolExecutor, *args: Any, **kwargs: Any) -> Any:
            results = real_map(self, *args, **kwargs)  # the workers are running now
            os.kill(os.getpid(), signal.SIGKILL)
            return results

        ProcessPoolExecutor.map = map_then_die  # type: ignore[method-assign]

    from jobhunter_compiler.commands.launch import main as jobhunter

    sys.argv = ["jobhunter", "compile", "--project", project, "--jobs", "2"]  # a pool on 1 core too
    jobhunter()


if __name__ == "__main__":
    main()
