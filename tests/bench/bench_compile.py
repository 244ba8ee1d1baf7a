"""Compile-time benchmark of `jobhunter compile` on synthetic projects (`make bench`).

For each size N it generates an N-model + N-operation project (tests/bench/synth.py) and
times the CLI in a fresh interpreter, as a user runs it: cold (no output, no cache), warm
no-op (nothing changed), one model file changed, and `--check` after one model file
changed (as CI runs it on a push). The floor is `ast.parse` of the same
files in this process, measured in the same run, so the ratio compares like with like on
whatever machine runs it. Interpreter and CLI import start-up are timed on their own, and
warm/changed compiles are also timed in-process, to separate start-up from compile work.
A fixed pure-Python loop is timed before and after: on a shared VM its time varies by half
from one hour to the next, and every figure here moves with it.

Prints one JSON document. Exits non-zero only when a compile fails: a missed target is a
finding to report, not a failure.

Usage: python tests/bench/bench_compile.py [--sizes 100,1000] [--repeat 5] [--profile-dir D]
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synth import generate, touch_one_model

REPO = Path(__file__).resolve().parents[2]
CACHES = (".run_cache", ".jobhunter_cache")
TARGET_N = 1000
TARGETS = {
    "cold_over_floor": 10.0,
    "warm_noop_s": 1.0,
    "one_file_changed_s": 1.5,
    "check_after_edit_s": 1.5,
}

Stats = dict[str, Any]


class CompileFailed(Exception):
    """A compile exited non-zero or reported errors: the benchmark is meaningless then."""


def stats(samples: list[float]) -> Stats:
    return {
        "median": round(statistics.median(samples), 4),
        "min": round(min(samples), 4),
        "max": round(max(samples), 4),
    }


def timed(repeat: int, run: Callable[[], None], before: Callable[[], None] | None = None) -> Stats:
    """Run `before` untimed, then time `run`, `repeat` times."""
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return stats(samples)


def source_files(project: Path) -> list[Path]:
    """The files the compiler scans, listed before any compile writes output."""
    return sorted(
        p for folder in ("models", "operations") for p in (project / folder).rglob("*.py")
    )


def parse_all(files: list[Path]) -> None:
    for path in files:
        ast.parse(path.read_bytes(), filename=str(path))


def clear_caches(project: Path) -> None:
    for name in CACHES:
        shutil.rmtree(project / name, ignore_errors=True)


def subprocess_env() -> dict[str, str]:
    """Make the compiler importable from this checkout even if it is not installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def jobhunter_command() -> list[str]:
    """The `jobhunter` console script beside this interpreter, as a user runs it (it starts
    the parser process first: jobhunter_compiler/commands/launch.py); else its entry module."""
    script = Path(sys.executable).with_name("jobhunter")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-m", "jobhunter_compiler.commands.launch"]
    )


def run_cli(project: Path, *options: str, exit_code: int = 0) -> None:
    command = [*jobhunter_command(), "compile", *options, "--project", str(project)]
    proc = subprocess.run(
        command, cwd=project, env=subprocess_env(), capture_output=True, text=True, check=False
    )
    if proc.returncode != exit_code:
        raise CompileFailed(
            f"{' '.join(command)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )


def run_python(code: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise CompileFailed(f"python -c {code!r} exited {proc.returncode}\n{proc.stderr}")


def compile_in_process(project: Path) -> None:
    from jobhunter_compiler.pipeline import compile_project

    result = compile_project(project, mode="write")
    if not result.ok:
        raise CompileFailed(f"in-process compile of {project} failed: {result.diagnostics}")


def profile(project: Path, out: Path) -> str:
    cProfile.runctx("compile_in_process(project)", globals(), {"project": project}, str(out))
    return str(out)


def measure(project: Path, n: int, repeat: int, profile_dir: Path | None) -> Stats:
    files = source_files(project)
    floor = timed(repeat, lambda: parse_all(files))
    report: Stats = {
        "files": len(files),
        "source_bytes": sum(p.stat().st_size for p in files),
        "floor_ast_parse_s": floor,
        "cold_s": timed(repeat, lambda: run_cli(project), lambda: clear_caches(project)),
        "warm_noop_s": timed(repeat, lambda: run_cli(project)),
        "one_file_changed_s": timed(
            repeat, lambda: run_cli(project), lambda: touch_one_model(project, n)
        ),
        # Exit code 1: the edit makes the output stale.
        "check_after_edit_s": timed(
            repeat,
            lambda: run_cli(project, "--check", exit_code=1),
            lambda: touch_one_model(project, n),
        ),
    }
    for key in ("cold", "warm_noop", "one_file_changed", "check_after_edit"):
        report[f"{key}_over_floor"] = round(report[f"{key}_s"]["median"] / floor["median"], 2)
    compile_in_process(project)  # imports the compiler, so the timings below exclude that
    report["in_process"] = {
        "warm_noop_s": timed(repeat, lambda: compile_in_process(project)),
        "one_file_changed_s": timed(
            repeat, lambda: compile_in_process(project), lambda: touch_one_model(project, n)
        ),
    }
    if profile_dir is not None:
        clear_caches(project)
        report["profiles"] = {
            "cold": profile(project, profile_dir / f"cold-{n}.prof"),
            "warm_noop": profile(project, profile_dir / f"warm-{n}.prof"),
        }
    return report


def python_loop() -> None:
    """A fixed pure-Python workload: its time says how fast this machine runs Python right
    now, so runs made when a VM's host is busy can be told apart (and compared fairly)."""
    total = 0
    for number in range(10_000_000):
        total += number


def startup(repeat: int) -> Stats:
    """What every CLI run pays before compiling anything."""
    return {
        "python_s": timed(repeat, lambda: run_python("pass")),
        "import_cli_s": timed(
            repeat, lambda: run_python("import jobhunter_compiler.commands.main")
        ),
    }


def targets(result: Stats | None) -> Stats:
    values = {}
    if result is not None:
        values = {
            "cold_over_floor": result["cold_over_floor"],
            "warm_noop_s": result["warm_noop_s"]["median"],
            "one_file_changed_s": result["one_file_changed_s"]["median"],
            "check_after_edit_s": result["check_after_edit_s"]["median"],
        }
    return {
        "n": TARGET_N,
        **{
            name: {
                "limit": limit,
                "value": values.get(name),
                "pass": None if name not in values else values[name] <= limit,
            }
            for name, limit in TARGETS.items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated N values")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--profile-dir", type=Path, help="also write cProfile stats of in-process compiles"
    )
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    if args.profile_dir is not None:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
    report: Stats = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "repeat": args.repeat,
        "startup": {},
        "sizes": {},
    }
    try:
        report["python_loop_s"] = {"before": timed(args.repeat, python_loop)}
        report["startup"] = startup(args.repeat)
        for n in sizes:
            with tempfile.TemporaryDirectory(prefix=f"jh-bench-{n}-") as tmp:
                project = Path(tmp) / "project"
                generate(project, n)
                print(f"bench: N={n} in {project}", file=sys.stderr)
                report["sizes"][str(n)] = measure(project, n, args.repeat, args.profile_dir)
    except CompileFailed as exc:
        print(f"bench: compile failed:\n{exc}", file=sys.stderr)
        return 1
    report["python_loop_s"]["after"] = timed(args.repeat, python_loop)
    report["targets"] = targets(report["sizes"].get(str(TARGET_N)))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
