"""tests/bench/bench_api.py must run end to end and print its figures (`make bench` runs it).

A run of a few seconds: both apps start, serve the same answers and take load, and the TaskRun
cost is measured. Only the report's shape is checked, never a speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "tests" / "bench" / "bench_api.py"
SHORT_RUN = ["--duration", "0.3", "--rounds", "1", "--warmup", "0.1", "--calls", "3"]
APP_FIGURES = {"rps", "server_cpu_ms_per_request", "db_cpu_ms_per_request"}
CALL_FIGURES = {
    "bare_ms",
    "call_operation_ms",
    "decorated_ms",
    "call_operation_over_bare",
    "call_operation_overhead_ms",
    "decorated_over_bare",
    "decorated_overhead_ms",
}


def test_a_short_run_prints_every_figure() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), *SHORT_RUN, "--seed-items", "30"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)

    assert {"python", "cpu_count", "settings", "throughput", "taskrun", "targets"} <= set(report)
    assert report["settings"]["concurrency"] == 16
    for endpoint in ("list", "create"):
        figures = report["throughput"][endpoint]
        assert {"request", "generated", "handwritten", "ratio", "cpu_ratio"} <= set(figures)
        for app in ("generated", "handwritten"):
            assert set(figures[app]) == APP_FIGURES
            assert figures[app]["rps"]["median"] > 0
        assert figures["ratio"] > 0
    for operation in ("create_test_item", "no_db_echo"):
        assert set(report["taskrun"][operation]) == CALL_FIGURES
    assert set(report["targets"]) == {"list_ratio", "create_ratio"}
    for target in report["targets"].values():
        assert set(target) == {"limit", "value", "pass"}
