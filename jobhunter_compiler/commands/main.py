"""The `jobhunter` command.

Exit codes: 0 success; 1 errors in the project (diagnostics printed) or, for
`compile --check`, stale output; 2 usage errors (Typer's convention).
"""

from __future__ import annotations

import gc

# The compiler's imports below build thousands of classes and validators and leave no
# garbage: a cyclic collection while they run only costs time (~40 ms of every start).
_collecting = gc.isenabled()
gc.disable()

import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from .._version import __version__
from ..config import JOBHUNTER_COMMANDS
from ..diagnostics import Severity, render_json, render_text
from ..evolve.classify import MIGRATION_CODES
from ..pipeline import Analysis, CompileResult, analyse, compile_project
from ..scan import parser_process
from ..scan.discover import import_paths
from ..scan.scanner import Progress
from .migrate_commands import migrate_app
from .options import (
    Format,
    FormatOption,
    HostOption,
    MongoPortOption,
    PortOption,
    ProjectOption,
)

if TYPE_CHECKING:
    from .watch import Cycle

if _collecting:
    gc.enable()

app = typer.Typer(
    name="jobhunter",
    help="Compile decorated Beanie models and operations into a FastAPI + Typer + Refine stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(soft_wrap=True)
stderr = Console(stderr=True, soft_wrap=True)


app.add_typer(migrate_app)


def _version(value: bool) -> None:
    if value:
        stdout.print(f"jobhunter {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """jobhunter reads your models/ and operations/ as source (it never imports them) and
    writes the generated stack to .run_cache/."""


@app.command("compile")
def compile_command(
    project: ProjectOption = Path("."),
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 with a diff if the output is stale."),
    ] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Write nothing; print the diff.")] = False,
    format: FormatOption = Format.text,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parser processes.")
    ] = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            "-w",
            help="Recompile on every save until Ctrl-C (keeps the last good output).",
        ),
    ] = False,
) -> None:
    """Compile the project into its output folder."""
    parser = parser_process.take()
    if watch:
        if parser is not None:
            parser.close()
        if check or diff:
            raise typer.BadParameter(
                "cannot be combined with --check or --diff", param_hint="'--watch'"
            )
        _watch(project, format, jobs)
        return
    mode = "check" if check else "diff" if diff else "write"
    if _console_script:
        gc.disable()  # see _finish
    with _parse_progress(enabled=format is Format.text) as progress:
        try:
            result = compile_project(project, mode, jobs, progress, parser)
        finally:
            if parser is not None:
                parser.close()
    if format is Format.json:
        stdout.print_json(data=_result_json(result, mode))
    else:
        _print_diagnostics(result.analysis, format)
        if not result.ok:
            stderr.print(
                f"[red]✗[/] compile failed: {_error_count(result.analysis)}; output left untouched"
            )
        elif mode == "write":
            _print_success(result)
        else:
            if result.diff:
                sys.stdout.write(result.diff)
                sys.stdout.flush()
            _print_staleness(result, mode)
        if mode == "check" and _needs_migration(result):
            stderr.print(
                "[red]✗[/] the models changed in ways that need a migration: write it with "
                "`jobhunter migrate new NAME`",
                highlight=False,
            )
    failed = mode == "check" and (result.stale or _needs_migration(result))
    _finish(1 if not result.ok or failed else 0)


def _needs_migration(result: CompileResult) -> bool:
    """A schema change needing a migration that is not recorded, or an unreadable
    snapshot: `compile --check` fails on them, as `migrate check` does."""
    return any(d.code in MIGRATION_CODES for d in result.diagnostics)


_console_script = False
"""True when `main` runs (the `jobhunter` command), False under an in-process caller such
as Typer's CliRunner, whose process goes on after the command."""


def _finish(code: int) -> None:
    """End a one-shot compile. Its heap is garbage once the result is printed; collecting
    it and then freeing it object by object took ~0.4 s at 1,000 models. So, as mypy does,
    the `jobhunter` command skips both (no cyclic collection since the compile began, and
    `os._exit` once output is flushed); an in-process caller just gets the exit code."""
    if _console_script:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    if code:
        raise typer.Exit(code)


def _watch(project: Path, format: Format, jobs: int | None) -> None:
    """`compile --watch`: each cycle printed like a compile, led by what changed."""
    # start-up time: watchfiles is for `--watch` only
    from .watch import run_watch

    def report(cycle: Cycle) -> None:
        result = cycle.result
        if format is Format.json:
            data = {"changed": cycle.changed, **_result_json(result, "write")}
            sys.stdout.write(json.dumps(data) + "\n")
            sys.stdout.flush()
            return
        _print_cycle(cycle)
        stdout.print("[dim]watching for changes (Ctrl-C to stop)[/]", highlight=False)

    # Ctrl-C is how a watch ends, even when started by something that ignores SIGINT (a
    # background job of a script): Python then never installs its KeyboardInterrupt handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run_watch(project, report, jobs=jobs)
    except KeyboardInterrupt:
        stdout.print("stopped watching", highlight=False)


def _print_cycle(cycle: Cycle) -> None:
    """One compile of a watch loop: what changed, the diagnostics, what was written."""
    result = cycle.result
    if cycle.changed:
        stdout.print(f"changed: {_names(cycle.changed)}", highlight=False)
    _print_diagnostics(result.analysis, Format.text)
    if not result.ok:
        stderr.print(
            f"[red]✗[/] compile failed: {_error_count(result.analysis)}; "
            "kept the last good output",
            highlight=False,
        )
        return
    _print_success(result)
    plan = result.plan
    if plan is not None and not result.up_to_date and (plan.added or plan.changed):
        stdout.print(f"  written: {_names([*plan.added, *plan.changed])}", highlight=False)
    if plan is not None and plan.removed:
        stdout.print(f"  removed: {_names(plan.removed)}", highlight=False)


def _names(paths: list[str], most: int = 8) -> str:
    """Paths by name when few, else the first few and a count."""
    if len(paths) <= most:
        return ", ".join(paths)
    return f"{', '.join(paths[:most])} and {len(paths) - most} more ({len(paths)} in all)"


@app.command()
def lint(project: ProjectOption = Path("."), format: FormatOption = Format.text) -> None:
    """Report diagnostics only; write nothing."""
    analysis = analyse(project)
    _print_diagnostics(analysis, format)
    if format is Format.text and analysis.ok:
        stderr.print(f"[green]✓[/] no errors ({_counts(analysis)})")
    raise typer.Exit(0 if analysis.ok else 1)


@app.command()
def inspect(
    project: ProjectOption = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the IR as JSON.")] = False,
) -> None:
    """Show the metadata graph (IR) the compiler builds from the project."""
    analysis = analyse(project)
    if analysis.ir is None or not analysis.ok:
        _print_diagnostics(analysis, Format.text)
        raise typer.Exit(1)
    ir = analysis.ir
    if as_json:
        sys.stdout.write(ir.to_json())
        return
    # start-up time: only `inspect` draws tables
    from rich.table import Table

    models = Table(title="Models", title_justify="left")
    for column in ("name", "collection", "fields", "module", "tags"):
        models.add_column(column)
    for model in ir.models:
        models.add_row(
            model.name,
            model.collection,
            str(len(model.fields)),
            model.module,
            ", ".join(model.tags),
        )
    operations = Table(title="Operations", title_justify="left")
    for column in ("name", "category", "inputs", "outputs", "reads", "writes"):
        operations.add_column(column)
    for op in ir.operations:
        operations.add_row(
            op.name,
            op.category or "",
            op.inputs.schema_id.rsplit(".", 1)[-1] if op.inputs.schema_id else "",
            op.outputs.schema_id.rsplit(".", 1)[-1] if op.outputs.schema_id else "",
            ", ".join(op.models_in),
            ", ".join(op.models_out),
        )
    stdout.print(models)
    stdout.print(operations)
    _print_diagnostics(analysis, Format.text)


@app.command()
def demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the demo project.")],
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
) -> None:
    """Write the demo project (jobs, applications, test items) to DIRECTORY."""
    if directory.exists() and any(directory.iterdir()) and not force:
        stderr.print(f"[red]error[/]: {directory} is not empty (use --force to write into it)")
        raise typer.Exit(1)
    source = resources.files("jobhunter_compiler") / "demo_project"
    with resources.as_file(source) as path:
        shutil.copytree(
            path,
            directory,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", ".run_cache", ".jobhunter_cache"),
        )
    stdout.print(
        f"wrote the demo project to {directory}; next: cd {directory} && jobhunter dev",
        highlight=False,
    )


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Where to create the project (its name is the folder's).")
    ] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Add the missing files to a non-empty folder.")
    ] = False,
) -> None:
    """Create a project: config, Makefile, an example model and operation, tests."""
    # start-up time: only `init` scaffolds
    from .scaffold import ScaffoldError, scaffold

    try:
        result = scaffold(directory, force=force)
    except ScaffoldError as error:
        stderr.print(f"[red]error[/]: {error}", highlight=False)
        raise typer.Exit(1) from None
    for skipped in result.skipped:
        stderr.print(f"[yellow]skipped[/] {skipped}: it exists (left as it is)", highlight=False)
    where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "
    stdout.print(
        f"[green]✓[/] created project {result.project!r} in {directory} "
        f"({len(result.written)} files); next: {where}make dev",
        highlight=False,
    )


@app.command()
def run(
    project: ProjectOption = Path("."),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    mongo_port: MongoPortOption = 27017,
    frontend: Annotated[
        bool,
        typer.Option(
            "--frontend", help="Also serve the built frontend (.run_cache/generated_frontend/dist)."
        ),
    ] = False,
) -> None:
    """Compile if stale, then serve the API (with an embedded MongoDB unless MONGODB_URL is
    set) until Ctrl-C."""
    # start-up time: uvicorn and the dev server are for `run` only
    from ..devserver.serve import RunOptions, ServeError, serve

    with _parse_progress(enabled=True) as progress:
        result = compile_project(project, progress=progress)
    _print_diagnostics(result.analysis, Format.text)
    if not result.ok:
        stderr.print(
            f"[red]✗[/] compile failed: {_error_count(result.analysis)}; "
            "output left untouched, nothing started"
        )
        raise typer.Exit(1)
    _print_success(result)
    options = RunOptions(
        project=result.analysis.root,
        output_dir=result.analysis.config.output_dir,
        host=host,
        port=port,
        mongo_port=mongo_port,
        frontend=frontend,
        docs=result.analysis.config.api.auth != "api_key",
        import_paths=tuple(import_paths(result.analysis.root, result.analysis.config)),
    )
    try:
        serve(options, stdout)
    except ServeError as error:
        stderr.print(f"[red]error[/]: {error}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def dev(
    project: ProjectOption = Path("."),
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    mongo_port: MongoPortOption = 27017,
    frontend: Annotated[
        bool,
        typer.Option(
            "--frontend/--no-frontend",
            help="Serve the admin with Vite's dev server, which reloads it on save.",
        ),
    ] = True,
    frontend_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port of the admin (Vite's dev server).")
    ] = 5173,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Parser processes.")
    ] = None,
) -> None:
    """Compile, serve the API (and the admin) and, on every save, recompile and reload them
    until Ctrl-C; a broken save keeps the last good app serving."""
    # start-up time: uvicorn, watchfiles and the dev server are for `dev` only
    from ..devserver.dev_loop import DevOptions, develop
    from ..devserver.serve import RunOptions, ServeError
    from .watch import run_watch

    with _parse_progress(enabled=True) as progress:
        result = compile_project(project, progress=progress, jobs=jobs)
    _print_diagnostics(result.analysis, Format.text)
    if not result.ok:
        stderr.print(
            f"[red]✗[/] compile failed: {_error_count(result.analysis)}; "
            "output left untouched, nothing started"
        )
        raise typer.Exit(1)
    _print_success(result)
    root = result.analysis.root
    options = DevOptions(
        run=RunOptions(
            project=root,
            output_dir=result.analysis.config.output_dir,
            host=host,
            port=port,
            mongo_port=mongo_port,
            docs=result.analysis.config.api.auth != "api_key",
            import_paths=tuple(import_paths(root, result.analysis.config)),
        ),
        admin=frontend,
        frontend_port=frontend_port,
    )

    def watch(compiled: Callable[[bool], None]) -> None:
        def report(cycle: Cycle) -> None:
            if not cycle.changed:
                return  # the compile above already wrote this output
            _print_cycle(cycle)
            compiled(cycle.result.ok)

        run_watch(root, report, jobs=jobs)

    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        develop(options, watch, stdout)
    except ServeError as error:
        stderr.print(f"[red]error[/]: {error}", highlight=False)
        raise typer.Exit(1) from None


# Everything after `ops`, `models`, `users`, `login` or `logout`, --help included, goes to the
# project's generated CLI.
_FORWARDED = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings=_FORWARDED, add_help_option=False)
def ops(ctx: typer.Context) -> None:
    """Run an operation of the project you are in: `jobhunter ops NAME --field value`."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["ops", *ctx.args])


@app.command(context_settings=_FORWARDED, add_help_option=False)
def db(ctx: typer.Context) -> None:
    """Check the stored documents against the models: `jobhunter db check`."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["db", *ctx.args])


@app.command(context_settings=_FORWARDED, add_help_option=False)
def models(ctx: typer.Context) -> None:
    """List, show, create, update or delete records: `jobhunter models list NAME`."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["models", *ctx.args])


@app.command(context_settings=_FORWARDED, add_help_option=False)
def users(ctx: typer.Context) -> None:
    """Create and manage who may sign in (`api.auth: users`): `jobhunter users create EMAIL
    --role admin`."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["users", *ctx.args])


@app.command(context_settings=_FORWARDED, add_help_option=False)
def login(ctx: typer.Context) -> None:
    """Sign in to the project's API (`api.auth: users`): `jobhunter models` and `ops` then
    act as you."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["login", *ctx.args])


@app.command(context_settings=_FORWARDED, add_help_option=False)
def logout(ctx: typer.Context) -> None:
    """Sign out of the project's API and forget the stored sign-in."""
    # start-up time: only the project's own commands need it
    from .project_commands import run_generated_cli

    run_generated_cli(["logout", *ctx.args])


@contextmanager
def _parse_progress(enabled: bool) -> Iterator[Progress | None]:
    """A progress bar on a terminal, shown only once the scanner reports a long parse."""
    if not enabled or not stderr.is_terminal:
        yield None
        return
    # Imported here, like the other rich parts only some commands use: every import
    # counts in the time of `jobhunter compile`.
    from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn
    from rich.progress import Progress as RichProgress

    bar = RichProgress(
        TextColumn("parsing"), BarColumn(), MofNCompleteColumn(), console=stderr, transient=True
    )
    task: list[TaskID] = []

    def update(done: int, total: int) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task("parse", total=total))
        bar.update(task[0], completed=done)

    try:
        yield update
    finally:
        bar.stop()


# -- printing ---------------------------------------------------------------------------


def _print_diagnostics(analysis: Analysis, format: Format) -> None:
    if format is Format.json:
        sys.stdout.write(render_json(analysis.diagnostics) + "\n")
        return
    if analysis.diagnostics:
        stderr.print(
            render_text(analysis.diagnostics, analysis.root), markup=False, highlight=False
        )
        stderr.print()


def _print_success(result: CompileResult) -> None:
    assert result.plan is not None
    plan = result.plan
    written = len(plan.added) + len(plan.changed)
    changes = f"{written} written, {len(plan.removed)} removed, {len(plan.unchanged)} unchanged"
    if result.up_to_date:
        changes = "up to date"
    out = result.analysis.config.output_dir
    counts = f"{result.models} models, {result.operations} operations"
    stdout.print(
        f"[green]✓[/] compiled {counts} → {out}/ ({changes}) in {result.seconds:.2f}s",
        highlight=False,
    )


def _print_staleness(result: CompileResult, mode: str) -> None:
    assert result.plan is not None
    out = result.analysis.config.output_dir
    if not result.stale:
        stderr.print(f"[green]✓[/] {out}/ is up to date", highlight=False)
        return
    plan = result.plan
    names = [*plan.added, *plan.changed, *plan.removed]
    stderr.print(
        f"[red]✗[/] {out}/ is stale: {len(names)} file(s) differ: {', '.join(names)}"
        + ("; run `jobhunter compile`" if mode == "check" else ""),
        highlight=False,
    )


def _result_json(result: CompileResult, mode: str) -> dict:
    plan = result.plan
    return {
        "ok": result.ok,
        "mode": mode,
        "stale": result.stale,
        "models": result.models,
        "operations": result.operations,
        "up_to_date": result.up_to_date,
        "plan": plan.model_dump() if plan else None,
        "seconds": round(result.seconds, 3),
        "needs_migration": _needs_migration(result),
        "diagnostics": json.loads(render_json(result.diagnostics)),
    }


def _counts(analysis: Analysis) -> str:
    ir = analysis.ir
    if ir is None:
        return "nothing"
    return f"{len(ir.models)} models, {len(ir.operations)} operations"


def _error_count(analysis: Analysis) -> str:
    errors = sum(d.severity is Severity.ERROR for d in analysis.diagnostics)
    return f"{errors} error{'s' if errors != 1 else ''}"


def main() -> None:
    global _console_script
    _console_script = True
    arguments = sys.argv[1:]
    if arguments and arguments[0] not in JOBHUNTER_COMMANDS and not arguments[0].startswith("-"):
        # start-up time: only the project's own commands need it
        from .project_commands import extension_groups, run_generated_cli

        if arguments[0] in extension_groups(Path.cwd()):  # a group from `cli.extensions`
            run_generated_cli(arguments)
    app()
