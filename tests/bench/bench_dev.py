"""Save-to-live latency of `jobhunter dev` (`make bench`): how long after a model file is
saved with a new field the running API accepts that field, with no restart by hand; and
how many requests the API's reloads drop.

Scaffolds a project with `jobhunter init`, starts `jobhunter dev --no-frontend` on free
ports (it starts its own embedded MongoDB), then repeatedly adds a field to the Todo model
and times, from the write, until a POST carrying the new field answers 201 (before the
reload it is a 422 `extra_forbidden`). That covers the watcher, one incremental compile and
the API child's replacement. Then it saves `--reloads` more fields while `--clients` threads
send requests back to back on a fresh connection each time, and as many on a keep-alive
connection each, and counts the requests that got no answer. Prints one JSON document with
median/min/max against the 3 s target, the load average and the drop counts.

Usage: python tests/bench/bench_dev.py [--repeat 5] [--reloads 10] [--clients 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from save_latency import print_report, stop_with_ctrl_c

TARGET_S = 3.0
TIMEOUT_S = 60.0
ANCHOR = "    done_at: Optional[datetime] = None\n"
JOBHUNTER = [sys.executable, "-m", "jobhunter_compiler"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seconds_until_accepted(url: str, body: dict[str, object]) -> float:
    """Seconds until a POST of `body` to the Todo list answers 201."""
    started = time.perf_counter()
    while time.perf_counter() - started < TIMEOUT_S:
        try:
            answer = httpx.post(f"{url}/api/models/Todo/", json=body, timeout=5)
            if answer.status_code == 201:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass  # not serving yet at start-up; during a reload the probers count drops
        time.sleep(0.02)
    raise TimeoutError(f"{body} was not accepted within {TIMEOUT_S} s")


def add_field(model: Path, field: str) -> None:
    text = model.read_text(encoding="utf-8")
    model.write_text(text.replace(ANCHOR, f"{ANCHOR}    {field}: int = 0\n"), encoding="utf-8")


class Prober:
    """GET /health back to back on a thread until stopped, on a fresh connection each time
    or on one keep-alive connection; counts the answers and the requests dropped."""

    def __init__(self, url: str, keep_alive: bool) -> None:
        self.url, self.keep_alive = f"{url}/health", keep_alive
        self.sent = 0
        self.dropped: Counter[str] = Counter()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._probe, daemon=True)
        self._thread.start()

    def _probe(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                self.sent += 1
                try:
                    if self.keep_alive:
                        answer = client.get(self.url)
                    else:
                        answer = httpx.get(self.url, timeout=10)
                    answer.raise_for_status()
                except httpx.TransportError as error:
                    self.dropped[type(error).__name__] += 1

    def counts(self) -> Counter[str]:
        self.stop.set()
        self._thread.join()
        counts = Counter(sent=self.sent, dropped=self.dropped.total())
        counts.update(self.dropped)
        return counts


def merged(counts: list[Counter[str]]) -> dict[str, int]:
    total: Counter[str] = Counter(sent=0, dropped=0)
    for count in counts:
        total.update(count)
    return dict(total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jobhunter-bench-dev-") as tmp:
        project = Path(tmp) / "todo-app"
        subprocess.run([*JOBHUNTER, "init", str(project)], check=True, capture_output=True)
        model = project / "models" / "todo.py"
        port = free_port()
        mongo_port = str(free_port())
        url = f"http://127.0.0.1:{port}"
        log = (Path(tmp) / "dev.log").open("wb")
        dev = subprocess.Popen(
            [*JOBHUNTER, "dev", "--no-frontend", "--port", str(port), "--mongo-port", mongo_port],
            cwd=project,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k != "MONGODB_URL"},
            start_new_session=True,
        )
        samples = []
        try:
            seconds_until_accepted(url, {"title": "warm-up"})
            for i in range(args.repeat):
                add_field(model, f"bench_{i}")
                samples.append(seconds_until_accepted(url, {"title": "bench", f"bench_{i}": 1}))
                time.sleep(0.5)  # the next save is a separate one
            probers = {
                kind: [Prober(url, kind == "keep_alive") for _ in range(args.clients)]
                for kind in ("fresh_connections", "keep_alive")
            }
            for i in range(args.reloads):
                add_field(model, f"reload_{i}")
                seconds_until_accepted(url, {"title": "reload", f"reload_{i}": 1})
                time.sleep(1.0)  # the old API child has stopped
            drops = {kind: merged([p.counts() for p in group]) for kind, group in probers.items()}
        finally:
            code = stop_with_ctrl_c(dev, 20, group=True)
            log.close()
    print_report(
        "dev_save_to_live_api",
        "jobhunter init (Todo)",
        "save_to_accepted_s",
        samples,
        TARGET_S,
        3,
        requests_during_reloads={"reloads": args.reloads, "clients": args.clients, **drops},
        dev_exit_code_on_ctrl_c=code,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
