"""What the save-latency benchmarks (bench_watch.py, bench_dev.py) share: stopping the
command they time as a Ctrl-C would, and their JSON report."""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
from typing import Any


def stop_with_ctrl_c(process: subprocess.Popen[bytes], timeout_s: float, group: bool) -> int | None:
    """SIGINT to `process` (to its whole process group if `group`, as a terminal sends it);
    its exit code, or None when it had to be killed after `timeout_s`."""
    kill = os.killpg if group else os.kill
    kill(process.pid, signal.SIGINT)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill(process.pid, signal.SIGKILL)
        process.wait()
        return None


def print_report(
    benchmark: str,
    project: str,
    measure: str,
    samples: list[float],
    target_s: float,
    digits: int,
    **extra: Any,
) -> None:
    """One JSON document: the median/min/max of `samples` (seconds) under `measure`, whether
    the median meets `target_s`, the machine and its load, then `extra`."""
    median = statistics.median(samples)
    report = {
        "benchmark": benchmark,
        "project": project,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "repeat": len(samples),
        measure: {
            "median": round(median, digits),
            "min": round(min(samples), digits),
            "max": round(max(samples), digits),
        },
        "target_s": target_s,
        "pass": median <= target_s,
        **extra,
    }
    print(json.dumps(report, indent=2))
