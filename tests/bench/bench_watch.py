"""Save-to-output latency of `jobhunter compile --watch` on the demo project (`make bench`).

Starts `jobhunter compile --watch` on a copy of the demo, then repeatedly rewrites one
model file (a new description each time) and times, from the write, until the generated
`core_docs/metadata.json` holds the new text (polled every 5 ms). That is what a user
waits for between saving and seeing the result: watcher batching plus one incremental
compile. Prints one JSON document with median/min/max against the 0.5 s target.

Usage: python tests/bench/bench_watch.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from save_latency import print_report, stop_with_ctrl_c

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "jobhunter_compiler" / "demo_project"
MODEL = "models/job.py"
METADATA = ".run_cache/core_docs/metadata.json"
DESCRIPTION = "A job posting collected from a job board or entered by hand."
TARGET_S = 0.5
POLL_S = 0.005
TIMEOUT_S = 30.0


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT_S) -> float:
    """Poll `condition` every POLL_S; the seconds it took. Raises on timeout."""
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the output did not change in time")
        time.sleep(POLL_S)
    return time.perf_counter() - start


def contains(path: Path, text: str) -> bool:
    try:
        return text in path.read_text(encoding="utf-8")
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobhunter-bench-watch-") as tmp:
        project = Path(tmp) / "demo"
        shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", ".run_cache"))
        model, metadata = project / MODEL, project / METADATA
        original = model.read_text(encoding="utf-8")
        log = (Path(tmp) / "watch.log").open("wb")
        command = [sys.executable, "-m", "jobhunter_compiler", "compile", "--watch"]
        watcher = subprocess.Popen(
            command,
            cwd=project,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_until(lambda: contains(metadata, DESCRIPTION), timeout=60)
            time.sleep(0.5)  # let the watchers settle after the initial compile
            samples = []
            for i in range(args.repeat + 1):  # the first edit warms the compile path
                text = f"Benchmark edit number {i}."
                model.write_text(original.replace(DESCRIPTION, text), encoding="utf-8")
                elapsed = wait_until(lambda text=text: contains(metadata, text))
                if i:
                    samples.append(elapsed)
                time.sleep(0.3)  # the next save is a separate one
        finally:
            code = stop_with_ctrl_c(watcher, 10, group=False)
            log.close()
    print_report(
        "watch_save_to_output",
        "demo",
        "save_to_output_s",
        samples,
        TARGET_S,
        4,
        watch_exit_code_on_ctrl_c=code,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
