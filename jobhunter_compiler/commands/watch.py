"""`jobhunter compile --watch`: recompile whenever a file the output depends on is saved.

What is watched. The output can depend on any Python file under the project (the default
source root is the project itself: an operation may import its inputs from anywhere), on
`.jobhunter.yml`, `pyproject.toml` and the template overrides. So every top-level folder
of the project is watched recursively, except the output folder, jobhunter's cache and
the usual bulk (`.git`, `.venv`, `node_modules`, hidden folders): a virtualenv in the
project would otherwise cost thousands of inotify watches. The project folder itself is
watched non-recursively, which catches the settings files even when an editor replaces
them by renaming, and new top-level folders (which restart the recursive watcher).

Why threads. watchfiles' `watch()` only starts listening when first iterated; with one
watcher per thread feeding a queue, a save made while a compile runs is never lost: it
waits in the queue and triggers the next cycle.

Why it is fast. Each cycle is an ordinary `compile_project`: files are re-parsed only when
their content changed (the scan cache), and only outputs whose bytes changed are written.
watchfiles groups the events of one save (`STEP_MS` of quiet ends a batch), so the
latency from a save to the new output is about `STEP_MS` plus one incremental compile.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import watchfiles
from pydantic import BaseModel

from ..config import CONFIG_FILE, Config, load_config
from ..output.freshness import SETTINGS_FILES
from ..pipeline import CompileResult, compile_project
from ..scan.discover import ALWAYS_EXCLUDED_PARTS
from ..scan.scan_cache import CACHE_DIR

STEP_MS = 20
"""Quiet time that ends a batch of events (one save is often several writes)."""
DEBOUNCE_MS = 400
"""Longest a batch is held while events keep coming."""
SETTLE_S = 0.01
"""Wait for the other watcher's share of the same save before compiling."""
IGNORED_DIRS = ALWAYS_EXCLUDED_PARTS | {"env", ".tox", ".mypy_cache", ".pytest_cache"}


class Cycle(BaseModel):
    """One compile of the watch loop, with the (project-relative) paths that caused it;
    `changed` is empty for the initial compile."""

    changed: list[str]
    result: CompileResult


class _Relevant(watchfiles.DefaultFilter):
    """The events that can change the output: Python files, the settings files, anything
    under the template overrides; never the output folder or jobhunter's cache."""

    def __init__(self, root: Path, config: Config) -> None:
        self.root = root
        self.templates = (root / config.templates_dir).resolve() if config.templates_dir else None
        self.output = (root / config.output_dir).resolve()
        super().__init__(
            ignore_dirs=sorted(IGNORED_DIRS),
            ignore_paths=[self.output, root / CACHE_DIR],
        )

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        if not super().__call__(change, path):
            return False
        target = Path(path)
        if self.templates is not None and target.is_relative_to(self.templates):
            return True
        if target.parent == self.root:
            if target.name in SETTINGS_FILES:
                return True
            if change is not watchfiles.Change.modified and not target.suffix:
                return True  # a folder came or went: what is watched may change
        return target.suffix == ".py"


def watched_folders(root: Path, config: Config) -> list[Path]:
    """The top-level folders to watch recursively (see the module docstring)."""
    output_top = Path(config.output_dir).parts[0]
    folders = set()
    try:
        entries = list(os.scandir(root))
    except OSError:
        entries = []
    for entry in entries:
        name = entry.name
        if not entry.is_dir() or name.startswith(".") or name in IGNORED_DIRS:
            continue
        if name == output_top and Path(config.output_dir) == Path(output_top):
            continue
        folders.add(root / name)
    if config.templates_dir and (root / config.templates_dir).is_dir():
        folders.add((root / config.templates_dir).resolve())
    return sorted(folders)


class _Watcher:
    """One watchfiles watcher on a thread, feeding batches of changed paths to `sink`."""

    def __init__(
        self,
        paths: list[Path],
        relevant: _Relevant,
        sink: queue.Queue[set[str]],
        recursive: bool,
    ) -> None:
        self.paths = paths
        self.stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(relevant, sink, recursive), daemon=True
        )
        self._thread.start()

    def _run(self, relevant: _Relevant, sink: queue.Queue[set[str]], recursive: bool) -> None:
        if not self.paths:
            return
        try:
            for changes in watchfiles.watch(
                *self.paths,
                watch_filter=relevant,
                debounce=DEBOUNCE_MS,
                step=STEP_MS,
                stop_event=self.stop,
                raise_interrupt=False,
                recursive=recursive,
                rust_timeout=0,
                ignore_permission_denied=True,
            ):
                sink.put({path for _, path in changes})
        except (OSError, RuntimeError):
            # A watched folder vanished: the loop notices the changed layout and
            # starts a new watcher.
            sink.put({str(path) for path in self.paths})

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=1)


@contextmanager
def _watchers(root: Path, sink: queue.Queue[set[str]]) -> Iterator[Callable[[], None]]:
    """The project-folder watcher, and a recursive one over `watched_folders`, restarted
    by the yielded `refresh()` when the layout or config changed."""
    watchers: dict[str, _Watcher] = {}
    layout: list[object] = []

    def refresh() -> None:
        config = load_config(root).config
        folders = watched_folders(root, config)
        key = (folders, config.templates_dir, config.output_dir)
        if layout == [key]:
            return
        layout[:] = [key]
        for watcher in watchers.values():
            watcher.close()
        relevant = _Relevant(root, config)
        watchers["top"] = _Watcher([root], relevant, sink, recursive=False)
        watchers["deep"] = _Watcher(folders, relevant, sink, recursive=True)

    refresh()
    try:
        yield refresh
    finally:
        for watcher in watchers.values():
            watcher.stop.set()


def run_watch(
    project_dir: Path,
    report: Callable[[Cycle], None],
    jobs: int | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Compile, then recompile after every batch of relevant saves until `stop` is set or
    Ctrl-C (KeyboardInterrupt propagates to the caller, which exits cleanly)."""
    root = Path(project_dir).resolve()
    sink: queue.Queue[set[str]] = queue.Queue()
    stop = stop or threading.Event()
    with _watchers(root, sink) as refresh:
        report(Cycle(changed=[], result=compile_project(root, jobs=jobs)))
        while not stop.is_set():
            try:
                batch = sink.get(timeout=0.2)
            except queue.Empty:
                continue
            stop.wait(SETTLE_S)
            while not sink.empty():
                batch |= sink.get_nowait()
            changed = sorted({_relative(root, path) for path in batch})
            if _layout_may_differ(root, changed):
                refresh()
            report(Cycle(changed=changed, result=compile_project(root, jobs=jobs)))


def _relative(root: Path, path: str) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _layout_may_differ(root: Path, changed: list[str]) -> bool:
    """A change at the top of the project (a folder created or removed, the config) may
    change what must be watched."""
    return any("/" not in path or path == CONFIG_FILE for path in changed) or any(
        not (root / path).exists() for path in changed
    )
