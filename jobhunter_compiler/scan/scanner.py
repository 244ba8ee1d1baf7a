"""The scan: discovered files -> one `ScannedFile` (header and summary) each, in parallel
when there are many, through the scan cache (see the package docstring)."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, InstanceOf, PrivateAttr

from ..config import Config
from ..diagnostics import Diagnostic, diagnostic
from .discover import Layout, SourceFile, discover
from .parser_process import ParserProcess, die_with_parent
from .scan_cache import ScanCache
from .summary import ModuleHeader, ModuleSummary, SyntaxProblem

# Below this many files to parse, a process pool costs more than it saves.
PARALLEL_THRESHOLD = 48
# Parsing this many files takes long enough (~1 s) to be worth showing progress.
PROGRESS_THRESHOLD = 300

Progress = Callable[[int, int], None]
"""Called with (files parsed, files to parse) while a long parse runs."""


@dataclass(frozen=True)
class ScanOptions:
    jobs: int | None = None
    """Parser processes (default: one per core)."""
    progress: Progress | None = None
    parser: ParserProcess | None = None
    """A parser process started early (see parser_process.py), for a few files."""


class ScannedFile(BaseModel):
    """One scanned file. `header` is always at hand; the full `summary` is loaded on first
    use (from the scan cache, or kept from this run's parse), because resolving a project
    after one edit reaches only a few of its files."""

    source: SourceFile
    digest: str
    header: InstanceOf[ModuleHeader]
    _summary: ModuleSummary | None = PrivateAttr(default=None)
    _load: Callable[[], ModuleSummary] | None = PrivateAttr(default=None)

    @classmethod
    def parsed(cls, source: SourceFile, digest: str, summary: ModuleSummary) -> ScannedFile:
        scanned = cls.model_construct(source=source, digest=digest, header=summary.header)
        scanned._summary = summary
        return scanned

    @classmethod
    def cached(
        cls, source: SourceFile, digest: str, header: ModuleHeader, cache: ScanCache
    ) -> ScannedFile:
        # Built from already-typed parts, thousands per compile: no validation needed.
        scanned = cls.model_construct(source=source, digest=digest, header=header)
        scanned._load = lambda: cache.summary(digest)
        return scanned

    @property
    def summary(self) -> ModuleSummary:
        if self._summary is None:
            assert self._load is not None
            self._summary = self._load()
        return self._summary


class ScanResult(BaseModel):
    files: list[ScannedFile]
    """Sorted by path; discovered files and the project modules they import."""
    diagnostics: list[Diagnostic]
    parsed: int
    """How many files were actually parsed (the rest came from the cache)."""

    def input_hashes(self) -> dict[str, str]:
        return {f.source.path: f.digest for f in self.files}


def scan_project(root: Path, config: Config, cache: ScanCache, options: ScanOptions) -> ScanResult:
    layout = Layout(root, config)
    discovered, diagnostics = discover(layout)
    by_path: dict[str, ScannedFile] = {}
    parsed = 0
    pending = discovered
    while pending:
        scanned, count = _summarise_all(root, pending, cache, options)
        parsed += count
        for item in scanned:
            by_path[item.source.path] = item
        pending = _imported_project_files(layout, scanned, by_path)
    files = [by_path[path] for path in sorted(by_path)]
    for item in files:
        problem = item.header.syntax_error
        if problem is not None:
            diagnostics.append(
                diagnostic(
                    problem.code, problem.message, item.source.path, problem.line, problem.col
                )
            )
    return ScanResult(files=files, diagnostics=diagnostics, parsed=parsed)


def _summarise_all(
    root: Path, sources: list[SourceFile], cache: ScanCache, options: ScanOptions
) -> tuple[list[ScannedFile], int]:
    folder = os.path.join(root, "")  # plain strings: pathlib costs more than the read
    contents = [_read(folder + s.path) for s in sources]
    digests = [hashlib.sha256(c).hexdigest() if isinstance(c, bytes) else "" for c in contents]
    scanned: list[ScannedFile | None] = []
    for source, content, digest in zip(sources, contents, digests, strict=True):
        if not isinstance(content, bytes):
            scanned.append(ScannedFile.parsed(source, digest, _unreadable(content)))
            continue
        header = cache.header(digest)
        scanned.append(
            None if header is None else ScannedFile.cached(source, digest, header, cache)
        )
    todo = [i for i, item in enumerate(scanned) if item is None]
    if not todo:
        return _present(scanned), 0
    report = options.progress if len(todo) >= PROGRESS_THRESHOLD else None
    to_parse = [content for i in todo if isinstance(content := contents[i], bytes)]

    def take(done: int, i: int, summary: ModuleSummary, pickled: bytes | None = None) -> None:
        cache.put(digests[i], summary, pickled)
        scanned[i] = ScannedFile.parsed(sources[i], digests[i], summary)
        if report is not None:
            report(done, len(todo))

    cores = options.jobs or os.cpu_count() or 1
    workers = min(cores, len(todo) // (PARALLEL_THRESHOLD // 2) or 1)
    parsed = None
    if options.parser is not None and len(todo) < PARALLEL_THRESHOLD:
        parsed = options.parser.summarise_pickled(to_parse)
    if parsed is not None:
        for done, (i, pickled) in enumerate(zip(todo, parsed, strict=True), 1):
            take(done, i, pickle.loads(pickled), pickled)
    elif workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        from .extract import summarise_pickled  # libcst: ~0.15 s to import

        # fork: workers inherit the imported libcst instead of importing it again. They
        # send summaries pickled, and the cache keeps those very bytes.
        with ProcessPoolExecutor(
            workers,
            mp_context=_fork_context(),
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            chunk = max(1, len(todo) // (workers * 8))
            pickled_all = pool.map(summarise_pickled, to_parse, chunksize=chunk)
            for done, (i, pickled) in enumerate(zip(todo, pickled_all, strict=True), 1):
                take(done, i, pickle.loads(pickled), pickled)
    else:
        # start-up time: libcst (~0.15 s) only when a file must be parsed
        from .extract import summarise

        for done, (i, content) in enumerate(zip(todo, to_parse, strict=True), 1):
            take(done, i, summarise(content))
    return _present(scanned), len(todo)


def _read(path: str) -> bytes | OSError:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:  # deleted since discovery, or no permission
        return error


def _unreadable(error: OSError) -> ModuleSummary:
    problem = SyntaxProblem(message=f"cannot read: {error.strerror}", line=1, col=1, code="JH003")
    return ModuleSummary(syntax_error=problem)


def _fork_context() -> multiprocessing.context.BaseContext | None:
    """fork where the platform has it (Linux, macOS): no re-import in every worker."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


def _present(scanned: list[ScannedFile | None]) -> list[ScannedFile]:
    return [item for item in scanned if item is not None]


def _imported_project_files(
    layout: Layout, scanned: list[ScannedFile], known: dict[str, ScannedFile]
) -> list[SourceFile]:
    """Project files imported by `scanned` that are not scanned yet."""
    # Most files import the same few modules: each (module, name) is looked up once, and
    # gathered in a set first (a project of 2,000 files has ~20,000 import bindings).
    requested = {
        (binding.module, binding.name)
        for item in scanned
        for binding in item.header.imports
        if binding.level == 0
    }
    for item in scanned:
        for binding in item.header.imports:
            if binding.level:
                base = absolute_module(item.source, binding.module, binding.level)
                if base is not None:
                    requested.add((base, binding.name))
    wanted = {
        path
        for base, name in requested
        for path in _project_files(layout, base, name)
        if path not in known
    }
    return [_imported(layout, path) for path in sorted(wanted)]


def _imported(layout: Layout, path: str) -> SourceFile:
    module_name, is_package = layout.module_of(path)
    return SourceFile(path=path, module=module_name, is_package=is_package, discovered=False)


def _project_files(layout: Layout, base: str, name: str | None) -> list[str]:
    """The project files `from base import name` (or `import base`) runs."""
    candidates = [base]
    if name is not None:
        candidates.append(f"{base}.{name}" if base else name)
    # A module's parent packages run on import and may re-export names.
    parts = base.split(".")
    candidates.extend(".".join(parts[:n]) for n in range(1, len(parts)))
    return [path for path in map(layout.file_of, candidates) if path is not None]


def absolute_module(importer: SourceFile, module: str, level: int) -> str | None:
    """Resolve `from ..x import y`'s module against the importing module, like Python."""
    if level == 0:
        return module
    package = importer.module if importer.is_package else importer.module.rpartition(".")[0]
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base)
