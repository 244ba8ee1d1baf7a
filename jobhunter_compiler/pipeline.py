"""The compiler's stages in order: config -> scan -> IR -> checks -> emit -> output.

Each stage is a function of the previous stage's result; this module only wires them and
decides when to stop. Any error diagnostic stops the pipeline before the output folder is
touched, so a broken save never damages the last good output.
"""

from __future__ import annotations

import gc
import re
import shutil
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from filelock import FileLock, Timeout
from pydantic import BaseModel

from .checks import ENVIRONMENT_CODES, missing_packages, run_checks, unknown_roles
from .config import CONFIG_FILE, Config, ConfigResult, load_config
from .diagnostics import Diagnostic, diagnostic, has_errors
from .emit import EmitSettings, Emitter, OutputFile
from .emit.api import emit_api
from .emit.docker import emit_docker
from .emit.docs import GraphvizError, GraphvizMissing, emit_docs
from .emit.emit_cache import EMIT_CACHE, emission_cache
from .emit.formatting import FormatterFailed, cache_folder_name, format_python
from .emit.frontend import emit_frontend
from .emit.kubernetes import emit_kubernetes
from .emit.naming import RUNTIME_DIR
from .emit.prefect_flows import emit_orchestration
from .emit.runtime_copy import emit_runtime
from .emit.template_set import TemplateOverrideError, TemplateSet, resolve_templates_dir
from .emit.typer_cli import emit_cli
from .evolve.classify import schema_diagnostics
from .fingerprint import compiler_fingerprint
from .ir import NodeDigests, ProjectIR
from .output.freshness import (
    BuildState,
    file_digest,
    forget,
    fresh_state,
    python_files,
    record,
    recorded_stamps,
    settings_digests,
)
from .output.writer import Plan, apply, plan, unified_diff, with_manifest
from .resolve import NestingTooDeep, build_ir
from .resolve.memo import MEMO_DIR, load_memo, memo_key, save_memo
from .scan.discover import Layout, discover
from .scan.parser_process import ParserProcess
from .scan.scan_cache import CACHE_DIR, SCAN_CACHE, ScanCache
from .scan.scanner import Progress, ScanOptions, ScanResult, scan_project

Mode = Literal["write", "check", "diff"]
TEMPLATES_BYTECODE = "templates-bytecode"
LOCK_TIMEOUT_S = 120
DISTRIBUTION_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?\Z")
"""A valid `[project].name` (PEP 508): pip refuses a pyproject.toml with any other."""
EMITTERS: tuple[Emitter, ...] = (
    emit_docs,
    emit_api,
    emit_cli,
    emit_frontend,
    emit_docker,
    emit_kubernetes,
    emit_orchestration,
    emit_runtime,
)


class Analysis(BaseModel):
    """Everything known about a project before anything is emitted."""

    root: Path
    config: Config
    diagnostics: list[Diagnostic]
    ir: ProjectIR | None = None
    inputs: dict[str, str] = {}
    files_scanned: int = 0
    files_parsed: int = 0
    files_resolved: list[str] = []
    """Discovered files resolved this time; the others' IR came from the resolve memo."""
    node_digests: NodeDigests = {}
    """Of the nodes of `ir` as resolved, for the emission cache's keys: `ir` must not be
    changed while they are used."""

    @property
    def ok(self) -> bool:
        return not has_errors(self.diagnostics)


class CompileResult(BaseModel):
    analysis: Analysis
    plan: Plan | None = None
    diff: str = ""
    seconds: float = 0.0
    models: int = 0
    operations: int = 0
    up_to_date: bool = False
    """True when the recorded build state proved the output current and nothing ran."""

    @property
    def ok(self) -> bool:
        return self.analysis.ok

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.analysis.diagnostics

    @property
    def ir(self) -> ProjectIR | None:
        return self.analysis.ir

    @property
    def stale(self) -> bool:
        return self.plan is not None and self.plan.stale


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for one compile. The compiler allocates
    millions of small acyclic objects, and every generation-2 pass rescans all of them:
    measured on 1,000 models, building the IR took 4x longer with the collector on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def analyse(project_dir: Path, jobs: int | None = None) -> Analysis:
    """Config, scan, IR and checks: what `lint` and `inspect` need, and `compile` builds on."""
    root = project_dir.resolve()
    with gc_paused():
        return _analyse(root, load_config(root), ScanOptions(jobs=jobs))


def _analyse(root: Path, loaded: ConfigResult, options: ScanOptions) -> Analysis:
    analysis = Analysis(root=root, config=loaded.config, diagnostics=list(loaded.diagnostics))
    if not analysis.ok:
        return analysis
    cache = ScanCache(root)
    cache.load()
    scan: ScanResult = scan_project(root, loaded.config, cache, options)
    cache.save()
    analysis.files_scanned = len(scan.files)
    analysis.files_parsed = scan.parsed
    analysis.inputs = scan.input_hashes()
    project, name_source = _project_name(root, loaded.config)
    for settings_file in (CONFIG_FILE, name_source):
        digest = file_digest(root / settings_file) if settings_file else None
        if digest is not None:
            analysis.inputs[settings_file] = digest
    analysis.diagnostics += scan.diagnostics
    memo = load_memo(root / CACHE_DIR, _memo_key(scan, loaded.config))
    try:
        resolution = build_ir(scan, loaded.config, project, memo)
    except NestingTooDeep as exc:
        message = "the classes its declarations use are nested too deeply to resolve"
        analysis.diagnostics.append(diagnostic("JH012", message, exc.path, exc.line))
        return analysis
    analysis.files_resolved = resolution.files_resolved
    analysis.node_digests = resolution.digests
    if not any(file.header.syntax_error for file in scan.files):
        # A broken save is not remembered: fixing it finds the memo of the last good one.
        save_memo(root / CACHE_DIR, memo)
    analysis.diagnostics += resolution.diagnostics
    ir = resolution.ir
    analysis.diagnostics += run_checks(ir)
    analysis.diagnostics += unknown_roles(ir, loaded.config.api.roles)
    analysis.diagnostics += missing_packages(ir)
    if not has_errors(analysis.diagnostics):
        analysis.diagnostics += schema_diagnostics(root, loaded.config, ir)
    if not ir.models and not ir.operations and not has_errors(analysis.diagnostics):
        analysis.diagnostics.append(
            _not_a_project(root, loaded)
            or diagnostic(
                "JH004", "no @datamodel classes or @operation functions were found", CONFIG_FILE
            )
        )
    analysis.diagnostics.sort(key=Diagnostic.sort_key)
    analysis.ir = ir
    return analysis


def _memo_key(scan: ScanResult, config: Config) -> str:
    """What no single file's resolution records (see resolve/memo.py): the compiler, the
    config, and which modules exist and parse."""
    files = (
        f"{f.source.path}:{f.source.module}:{f.source.discovered}:{f.header.syntax_error is None}"
        for f in scan.files
    )
    return memo_key(compiler_fingerprint(), config.model_dump_json(), *files)


def _not_a_project(root: Path, loaded: ConfigResult) -> Diagnostic | None:
    """No config and no source files: the command ran in the wrong folder. Checked before
    anything is written, so a stray `jobhunter compile` leaves no trace."""
    if loaded.text is not None or discover(Layout(root, loaded.config))[0]:
        return None
    message = "no .jobhunter.yml, models/ or operations/ here: not a jobhunter project"
    return diagnostic("JH009", message)


def compile_project(
    project_dir: Path,
    mode: Mode = "write",
    jobs: int | None = None,
    progress: Progress | None = None,
    parser: ParserProcess | None = None,
) -> CompileResult:
    """Compile a project into its output folder (or, for check/diff, compare with it).
    `jobs` caps the parser processes; `progress` hears about long parses; `parser`, when
    the caller started one, parses the few files an edit changed."""
    options = ScanOptions(jobs=jobs, progress=progress, parser=parser)
    started = time.perf_counter()
    root = Path(project_dir).resolve()
    if not root.is_dir():
        message = f"project folder {project_dir} does not exist"
        analysis = Analysis(root=root, config=Config(), diagnostics=[diagnostic("JH008", message)])
        return CompileResult(analysis=analysis)
    loaded = load_config(root)
    stray = _not_a_project(root, loaded) if not loaded.diagnostics else None
    if stray is not None:
        return CompileResult(
            analysis=Analysis(root=root, config=loaded.config, diagnostics=[stray])
        )
    lock_path = root / CACHE_DIR / "compile.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(lock_path, timeout=LOCK_TIMEOUT_S), gc_paused():
            result = _compile_locked(root, mode, options)
    except Timeout:
        analysis = Analysis(
            root=root,
            config=Config(),
            diagnostics=[
                diagnostic(
                    "JH006",
                    f"another compile of this project held {lock_path.relative_to(root)} "
                    f"for {LOCK_TIMEOUT_S} s",
                )
            ],
        )
        result = CompileResult(analysis=analysis)
    result.seconds = time.perf_counter() - started
    return result


def _compile_locked(root: Path, mode: Mode, options: ScanOptions) -> CompileResult:
    # Digests and the file list first, then everything is read: an edit made meanwhile
    # makes the next compile see a difference instead of trusting a stale state.
    settings = settings_digests(root)
    files_before = python_files(root)
    loaded = load_config(root)
    out_dir = root / loaded.config.output_dir
    if not loaded.diagnostics:
        state = fresh_state(root, out_dir, settings, files_before)
        if state is not None:
            return _up_to_date(root, loaded.config, state)
    analysis = _analyse(root, loaded, options)
    if not analysis.ok or analysis.ir is None:
        return CompileResult(analysis=analysis)
    ir = analysis.ir
    templates_dir = resolve_templates_dir(analysis.config, root)
    templates = TemplateSet(templates_dir, root / CACHE_DIR / TEMPLATES_BYTECODE)
    try:
        files = emit(ir, analysis.config, root / CACHE_DIR, analysis.node_digests, templates)
    except GraphvizError as exc:
        code = "JH005" if isinstance(exc, GraphvizMissing) else "JH007"
        analysis.diagnostics.append(diagnostic(code, str(exc), CONFIG_FILE))
        return CompileResult(analysis=analysis)
    except TemplateOverrideError as exc:
        analysis.diagnostics.append(_override_diagnostic(root, exc))
        return CompileResult(analysis=analysis)
    except FormatterFailed as exc:
        if templates_dir is None:
            raise  # built-in templates only: a compiler bug, worth its traceback
        message = f"a template override produced Python that does not parse: {exc}"
        analysis.diagnostics.append(diagnostic("JH010", message, analysis.config.templates_dir))
        return CompileResult(analysis=analysis)
    files = with_manifest(files, analysis.inputs)
    changes = plan(out_dir, files, recorded_stamps(root, out_dir))
    result = CompileResult(
        analysis=analysis, plan=changes, models=len(ir.models), operations=len(ir.operations)
    )
    if mode == "write":
        if changes.stale:
            forget(root)
        apply(out_dir, files, changes)
        _drop_stale_caches(root / CACHE_DIR)
        record(
            root,
            out_dir,
            BuildState(
                settings=settings,
                python_files=files_before,
                inputs=analysis.inputs,
                warnings=[d for d in analysis.diagnostics if d.code not in ENVIRONMENT_CODES],
                models=result.models,
                operations=result.operations,
            ),
            [f.path for f in files],
            changes.unchanged_stamps,
        )
    elif changes.stale:
        result.diff = unified_diff(out_dir, files, changes)
    return result


def _drop_stale_caches(cache_dir: Path) -> None:
    """Remove the caches other compiler versions left: a change of a cache's format moves
    it to a new name. The current ones, and anything else there (the MongoDB data of
    `jobhunter run`), stay."""
    current = {SCAN_CACHE, EMIT_CACHE, cache_folder_name(), MEMO_DIR}
    for entry in cache_dir.iterdir():
        if entry.name.startswith(("scan-", "emit-", "format-", "resolve-")) and (
            entry.name not in current
        ):
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _override_diagnostic(root: Path, exc: TemplateOverrideError) -> Diagnostic:
    """JH010 at the override's file and line, relative to the project like every path."""
    path = exc.path.relative_to(root).as_posix() if exc.path.is_relative_to(root) else str(exc.path)
    return diagnostic("JH010", f"template override failed: {exc.message}", path, exc.line)


def _up_to_date(root: Path, config: Config, state: BuildState) -> CompileResult:
    """The result of a compile that would change nothing, from the recorded state."""
    analysis = Analysis(root=root, config=config, diagnostics=state.warnings)
    unchanged = sorted(state.outputs)
    return CompileResult(
        analysis=analysis,
        plan=Plan(added=[], changed=[], removed=[], unchanged=unchanged),
        models=state.models,
        operations=state.operations,
        up_to_date=True,
    )


def emit(
    ir: ProjectIR,
    config: Config,
    cache_dir: Path | None = None,
    digests: NodeDigests | None = None,
    templates: TemplateSet | None = None,
) -> list[OutputFile]:
    """Every emitter's files, with paths relative to the output folder; Python formatted.
    With a `cache_dir`, per-model and per-operation renders and formatting results are
    reused across compiles (see emit/emit_cache.py; `digests`, from the resolver, spare
    it serialising the nodes); without one, everything is rendered. `templates` defaults
    to the built-ins, without overrides."""
    templates = templates if templates is not None else TemplateSet()
    cache = None
    if cache_dir is not None:
        cache = emission_cache(ir, cache_dir, digests)
    settings = EmitSettings(config=config, templates=templates, cache=cache)
    files = [file for emitter in EMITTERS for file in emitter(ir, settings)]
    if cache is not None:
        cache.save()
    # The runtime is copied as it is: its source is already formatted and linted.
    copied = [file for file in files if file.path.startswith(f"{RUNTIME_DIR}/")]
    formatted = [file for file in files if not file.path.startswith(f"{RUNTIME_DIR}/")]
    return [*format_python(formatted, cache_dir), *copied]


def _project_name(root: Path, config: Config) -> tuple[str, str | None]:
    """The project name, and the file it came from if not the config: `[project].name`
    of pyproject.toml when it is a valid distribution name, else "app". Never the folder
    name, which would make the output depend on where the project is checked out."""
    if config.project:
        return config.project, None
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return "app", None
    name = data.get("project", {}).get("name")
    if isinstance(name, str) and DISTRIBUTION_NAME.match(name):
        return name, "pyproject.toml"
    return "app", None
