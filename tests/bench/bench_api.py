"""Run-time benchmark of the generated API and of the TaskRun record (`make bench`).

1. Throughput of the demo's TestItem list (`GET /api/models/TestItem/?_start=0&_end=25`) and
   create (`POST /api/models/TestItem/`) endpoints, generated app vs the hand-written FastAPI +
   Beanie app in tests/bench/handwritten_app.py. Both serve the same compiled copy of
   fixtures/demo_project (same `TestItem` document) under the same uvicorn settings, on one
   nx-27017 server with a database each, seeded with the same items. The load comes from
   an async httpx client in this process, a fixed number of concurrent requests for a fixed
   duration; after a warm-up, rounds alternate between the two apps and the figure is the
   median of the rounds' requests/s. The CPU time each request costs the app's process and
   the database's (Linux /proc) is reported too: on a shared 2-core machine it is steadier
   than requests/s, and it shows where the time goes (nx-27017 is pure Python).
2. What recording a TaskRun costs per operation call, in this process with Beanie
   initialised against the same server: `call_operation(op, input)` and `op(input)` (both
   record a TaskRun) against the bare function `op.__wrapped__(input)`, for the demo's
   `create_test_item` (one insert) and for a trivial in-memory operation defined here (so
   the overhead is seen alone). Calls alternate between the variants; figures are medians.

Prints one JSON document. Exits non-zero when a server does not start or a request gets an
unexpected answer (the figures would be meaningless); a missed target is a finding to
report, not a failure.

Usage: python tests/bench/bench_api.py [--duration 3] [--rounds 5] [--concurrency 16]
                                       [--warmup 1] [--calls 200] [--seed-items 200]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
for _path in (REPO, REPO / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from api_server import ApiServer  # noqa: E402

from jobhunter_compiler.devserver.embedded_mongo import EmbeddedMongo  # noqa: E402

DEMO = REPO / "fixtures" / "demo_project"
LIST_PATH = "/api/models/TestItem/?_start=0&_end=25"
CREATE_PATH = "/api/models/TestItem/"
# uvicorn as users run it for speed: one worker, no access log, uvloop and httptools.
UVICORN_ARGS = ("--workers", "1", "--no-access-log", "--loop", "uvloop", "--http", "httptools")
APPS = {
    "generated": {"app": "generated_api:app", "app_dir": ".run_cache"},
    "handwritten": {"app": "handwritten_app:app", "app_dir": str(BENCH_DIR)},
}
TARGETS = {"list_ratio": 0.9, "create_ratio": 0.9}
KINDS = ("alpha", "beta", "gamma")

Stats = dict[str, Any]


class BenchFailed(Exception):
    """A server did not start or answered a request wrongly: the figures mean nothing then."""


def stats(samples: list[float], digits: int = 1) -> Stats:
    return {
        "median": round(statistics.median(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
    }


# --------------------------------------------------------------------------- setup


def compile_demo(root: Path) -> Path:
    """A compiled copy of the demo project (never written into the repository)."""
    from jobhunter_compiler.pipeline import compile_project

    project = root / DEMO.name
    ignore = shutil.ignore_patterns("__pycache__", ".run_cache", ".jobhunter_cache")
    shutil.copytree(DEMO, project, ignore=ignore)
    result = compile_project(project, mode="write")
    if not result.ok:
        raise BenchFailed(f"compiling the demo failed: {result.diagnostics}")
    return project


def seed_document(i: int) -> dict[str, Any]:
    return {
        "name": f"seed item {i:04d}",
        "kind": KINDS[i % 3],
        "value": i % 1000,
        "score": (i % 100) / 100,
        "active": i % 2 == 0,
        "tags": ["bench", f"t{i % 7}"],
        "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
    }


def seed(mongo_url: str, databases: list[str], count: int) -> None:
    """The same `count` TestItems in each database (collection `test_items`, as TestItem's
    Settings name it)."""
    from pymongo import MongoClient

    with MongoClient(mongo_url, tz_aware=True) as client:
        for name in databases:
            client[name]["test_items"].insert_many([seed_document(i) for i in range(count)])


def create_body(i: int) -> dict[str, Any]:
    return {"name": f"bench item {i}", "kind": KINDS[i % 3], "value": i % 1000, "tags": ["b"]}


@contextmanager
def servers(project: Path, mongo_url: str) -> Iterator[dict[str, ApiServer]]:
    with ExitStack() as stack:
        started = {}
        for name, spec in APPS.items():
            server = ApiServer(
                project, mongo_url, f"bench_{name}", uvicorn_args=UVICORN_ARGS, **spec
            )
            try:
                started[name] = stack.enter_context(server)
            except RuntimeError as exc:
                raise BenchFailed(f"the {name} app did not start: {exc}") from None
        yield started


# --------------------------------------------------------------------------- throughput


def cpu_seconds(process: Any) -> float | None:
    """User + system CPU time of a child process so far (Linux /proc; None elsewhere)."""
    pid = getattr(process, "pid", None)
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Load:
    """`concurrency` requests in flight on one keep-alive client, for `duration` seconds."""

    def __init__(self, client: httpx.AsyncClient, concurrency: int) -> None:
        self.client = client
        self.concurrency = concurrency
        self.sent = 0

    async def run(self, endpoint: str, duration: float) -> tuple[int, float]:
        """Requests answered and seconds taken; raises BenchFailed on an unexpected answer."""
        deadline = time.perf_counter() + duration
        counts = [0] * self.concurrency

        async def worker(slot: int) -> None:
            while time.perf_counter() < deadline:
                await self.request(endpoint)
                counts[slot] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker(slot) for slot in range(self.concurrency)))
        return sum(counts), time.perf_counter() - start

    async def request(self, endpoint: str) -> httpx.Response:
        if endpoint == "list":
            response = await self.client.get(LIST_PATH)
            expected = 200
        else:
            self.sent += 1
            response = await self.client.post(CREATE_PATH, json=create_body(self.sent))
            expected = 201
        if response.status_code != expected:
            raise BenchFailed(
                f"{response.request.method} {response.request.url} answered "
                f"{response.status_code}: {response.text[:500]}"
            )
        return response


async def same_answers(loads: dict[str, Load]) -> None:
    """Both apps must do the same work: same records, same keys, same total count."""
    answers = {name: await load.request("list") for name, load in loads.items()}
    shapes = {
        name: (
            [sorted(item) for item in response.json()],
            [item["name"] for item in response.json()],
            response.headers.get("x-total-count"),
        )
        for name, response in answers.items()
    }
    if len({repr(shape) for shape in shapes.values()}) != 1:
        raise BenchFailed(f"the apps' list answers differ: {shapes}")


class Round:
    """One timed round of one app: throughput, and CPU per request of the app and the DB."""

    def __init__(self, load: Load, app_process: Any, db_process: Any) -> None:
        self.load = load
        self.processes = {"server": app_process, "db": db_process}

    async def run(self, endpoint: str, duration: float) -> dict[str, float | None]:
        before = {name: cpu_seconds(p) for name, p in self.processes.items()}
        requests, elapsed = await self.load.run(endpoint, duration)
        figures: dict[str, float | None] = {"rps": requests / elapsed}
        for name, process in self.processes.items():
            after, start = cpu_seconds(process), before[name]
            per_request = None
            if after is not None and start is not None:
                per_request = (after - start) * 1000 / requests
            figures[f"{name}_cpu_ms_per_request"] = per_request
        return figures


def summary(rounds: list[dict[str, float | None]]) -> Stats:
    report: Stats = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds if r[key] is not None]
        report[key] = stats(values, 1 if key == "rps" else 3) if values else None  # type: ignore[arg-type]
    return report


async def throughput(
    servers: dict[str, ApiServer], db_process: Any, args: argparse.Namespace
) -> dict[str, Stats]:
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    async with (
        httpx.AsyncClient(base_url=servers["generated"].url, limits=limits, timeout=30) as gen,
        httpx.AsyncClient(base_url=servers["handwritten"].url, limits=limits, timeout=30) as hand,
    ):
        loads = {
            "generated": Load(gen, args.concurrency),
            "handwritten": Load(hand, args.concurrency),
        }
        await same_answers(loads)
        rounds = {
            name: Round(load, getattr(servers[name], "_process", None), db_process)
            for name, load in loads.items()
        }
        report: dict[str, Stats] = {}
        # List first, on the seeded collections; creates then grow both alike.
        for endpoint in ("list", "create"):
            for load in loads.values():
                await load.run(endpoint, args.warmup)
            samples: dict[str, list[dict[str, float | None]]] = {name: [] for name in loads}
            for round_number in range(args.rounds):
                # Alternate which app goes first, so drift on the machine hits both alike.
                order = list(loads) if round_number % 2 == 0 else list(reversed(loads))
                for name in order:
                    samples[name].append(await rounds[name].run(endpoint, args.duration))
            generated, handwritten = summary(samples["generated"]), summary(samples["handwritten"])
            report[endpoint] = {
                "request": f"GET {LIST_PATH}" if endpoint == "list" else f"POST {CREATE_PATH}",
                "generated": generated,
                "handwritten": handwritten,
                "ratio": round(generated["rps"]["median"] / handwritten["rps"]["median"], 3),
                "cpu_ratio": cpu_ratio(generated, handwritten),
            }
        return report


def cpu_ratio(generated: Stats, handwritten: Stats) -> float | None:
    """Server CPU per request, hand-written over generated: like `ratio`, below 1 means the
    generated app costs more. Steadier than requests/s when the database is the bottleneck
    or the machine is shared."""
    if generated["server_cpu_ms_per_request"] is None:
        return None
    hand = handwritten["server_cpu_ms_per_request"]["median"]
    return round(hand / generated["server_cpu_ms_per_request"]["median"], 3)


# --------------------------------------------------------------------------- TaskRun cost


def echo_operation() -> Any:
    """A trivial operation with no database work: its TaskRun cost is seen alone."""
    from pydantic import BaseModel

    from jobhunter_compiler import operation

    class EchoInput(BaseModel):
        text: str

    class EchoOutput(BaseModel):
        text: str
        length: int

    @operation(name="bench_echo", inputs=EchoInput, outputs=EchoOutput, category="bench")
    async def bench_echo(input: EchoInput) -> EchoOutput:
        return EchoOutput(text=input.text, length=len(input.text))

    return bench_echo, EchoInput


async def time_calls(
    variants: dict[str, Callable[[int], Awaitable[Any]]], calls: int, warmup: int
) -> dict[str, list[float]]:
    """Per-call seconds of each variant, calls interleaved so drift hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(warmup + calls):
        for name, call in variants.items():
            start = time.perf_counter()
            await call(i)
            elapsed = time.perf_counter() - start
            if i >= warmup:
                samples[name].append(elapsed)
    return samples


def overhead_report(samples: dict[str, list[float]]) -> Stats:
    ms = {name: [s * 1000 for s in values] for name, values in samples.items()}
    bare = statistics.median(ms["bare"])
    report: Stats = {f"{name}_ms": stats(values, 4) for name, values in ms.items()}
    for name in ("call_operation", "decorated"):
        median = statistics.median(ms[name])
        report[f"{name}_over_bare"] = round(median / bare, 2)
        report[f"{name}_overhead_ms"] = round(median - bare, 4)
    return report


async def taskrun_cost(project: Path, mongo_url: str, args: argparse.Namespace) -> Stats:
    from beanie import init_beanie
    from pymongo import AsyncMongoClient

    from jobhunter_runtime.taskrun import RUNTIME_DOCUMENT_MODELS, call_operation

    sys.path.insert(0, str(project))
    demo = importlib.import_module("operations.create_test_item")
    test_item = importlib.import_module("models.test_item").TestItem
    echo, echo_input = echo_operation()

    client: AsyncMongoClient[Any] = AsyncMongoClient(
        mongo_url, tz_aware=True, uuidRepresentation="standard"
    )
    try:
        await init_beanie(
            database=client["bench_taskrun"],
            document_models=[test_item, *RUNTIME_DOCUMENT_MODELS],
        )
        op = demo.create_test_item

        def item(i: int) -> Any:
            return demo.CreateTestItemInput(name=f"op item {i}", kind=KINDS[i % 3], value=i % 1000)

        create_samples = await time_calls(
            {
                "bare": lambda i: op.__wrapped__(item(i)),
                "call_operation": lambda i: call_operation(op, item(i)),
                "decorated": lambda i: op(item(i)),
            },
            args.calls,
            warmup=max(5, args.calls // 10),
        )
        echo_samples = await time_calls(
            {
                "bare": lambda i: echo.__wrapped__(echo_input(text=f"hello {i}")),
                "call_operation": lambda i: call_operation(echo, echo_input(text=f"hello {i}")),
                "decorated": lambda i: echo(echo_input(text=f"hello {i}")),
            },
            args.calls,
            warmup=max(5, args.calls // 10),
        )
    finally:
        await client.close()
    return {
        "calls": args.calls,
        "create_test_item": overhead_report(create_samples),
        "no_db_echo": overhead_report(echo_samples),
    }


# --------------------------------------------------------------------------- main


def targets(report: Stats) -> Stats:
    values = {
        "list_ratio": report["throughput"]["list"]["ratio"],
        "create_ratio": report["throughput"]["create"]["ratio"],
    }
    return {
        name: {"limit": limit, "value": values[name], "pass": values[name] >= limit}
        for name, limit in TARGETS.items()
    }


async def measure(
    project: Path, mongo_url: str, db_process: Any, args: argparse.Namespace
) -> Stats:
    with servers(project, mongo_url) as running:
        report = {"throughput": await throughput(running, db_process, args)}
    report["taskrun"] = await taskrun_cost(project, mongo_url, args)
    return report


def run(coroutine: Awaitable[Stats]) -> Stats:
    """On uvloop, as the servers are: the client's own overhead is part of every figure."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(coroutine)  # type: ignore[arg-type]
    return uvloop.run(coroutine)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per app and endpoint")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per variant")
    parser.add_argument("--seed-items", type=int, default=200, help="TestItems to start with")
    parser.add_argument("--mongo-url", help="a MongoDB server to use instead of nx-27017")
    args = parser.parse_args()
    report: Stats = {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "concurrency": args.concurrency,
            "warmup_s": args.warmup,
            "calls": args.calls,
            "seed_items": args.seed_items,
            "uvicorn": list(UVICORN_ARGS),
            "database": "external" if args.mongo_url else "nx-27017",
        },
    }
    try:
        with ExitStack() as stack:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jh-bench-api-")))
            project = compile_demo(root)
            db_process = None
            if args.mongo_url:
                mongo_url = args.mongo_url
            else:
                mongo = stack.enter_context(EmbeddedMongo())
                mongo_url, db_process = mongo.url, getattr(mongo, "_process", None)
            databases = [f"bench_{name}" for name in APPS]
            if args.mongo_url:  # a server of the user's: start from empty databases
                from pymongo import MongoClient

                with MongoClient(mongo_url) as client:
                    for name in [*databases, "bench_taskrun"]:
                        client.drop_database(name)
            seed(mongo_url, databases, args.seed_items)
            print(f"bench: API of {project} on {mongo_url}", file=sys.stderr)
            report.update(run(measure(project, mongo_url, db_process, args)))
    except BenchFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    report["targets"] = targets(report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
