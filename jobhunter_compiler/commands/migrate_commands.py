"""`jobhunter migrate check|new|up|down`: the schema snapshot, the migrations written for
its changes, and running them.

Exit codes: 0 success; 1 a change needs a migration (`check`), the project has errors,
a snapshot or migration is broken, or the database is unreachable; 2 usage errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Literal, NoReturn

import typer
from rich.console import Console

from ..diagnostics import Diagnostic, render_json, render_text
from ..emit.naming import database_name
from ..evolve.classify import MIGRATION_CODES, classify
from ..evolve.snapshot import (
    SnapshotError,
    load_snapshot,
    schema_snapshot,
    snapshot_path,
    snapshot_text,
)
from ..pipeline import Analysis, analyse
from .options import Format, FormatOption, ProjectOption

SCHEMA_CODES = frozenset({"JH401", "JH402", "JH403", "JH404"})

migrate_app = typer.Typer(
    name="migrate",
    help="Schema changes and the Beanie migrations for them (in migrations_dir).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stdout = Console(soft_wrap=True, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


@migrate_app.command("check")
def check_command(
    project: ProjectOption = Path("."),
    format: FormatOption = Format.text,
) -> None:
    """Exit 1 while a schema change that needs a migration has none recorded (for CI)."""
    analysis = _analysed(project)
    found = [d for d in analysis.diagnostics if d.code in SCHEMA_CODES]
    failing = [d for d in found if d.code in MIGRATION_CODES]
    path = analysis.config.schema_snapshot
    recorded = (analysis.root / path).is_file()
    if format is Format.json:
        data = {
            "snapshot": path,
            "recorded": recorded,
            "needs_migration": bool(failing),
            "changes": json.loads(render_json(found)),
        }
        sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
    elif not recorded:
        stderr.print(
            f"no schema recorded yet ({path} is missing): `jobhunter migrate new initial` "
            "records the current one"
        )
    else:
        _print(found, analysis.root)
        if failing:
            stderr.print(
                f"[red]✗[/] {len(failing)} change(s) need a migration: write it with "
                "`jobhunter migrate new NAME`"
            )
        else:
            safe = f" ({len(found)} safe change(s) not recorded)" if found else ""
            stderr.print(f"[green]✓[/] the models match the recorded schema{safe}")
    raise typer.Exit(1 if failing else 0)


@migrate_app.command("new")
def new_command(
    name: Annotated[str, typer.Argument(help="What the migration does: rename_job_title.")],
    project: ProjectOption = Path("."),
) -> None:
    """Write a migration for the changes since the recorded schema, and record the new one."""
    # start-up time: only `migrate new` renders a migration
    from ..migrate.migration_source import (
        MigrationNameError,
        migration_file_name,
        migration_name,
        plan_migration,
        render_migration,
    )

    try:
        name = migration_name(name)
    except MigrationNameError as error:
        raise typer.BadParameter(str(error), param_hint="'NAME'") from None
    analysis = _analysed(project)
    ir, root, config = analysis.ir, analysis.root, analysis.config
    assert ir is not None
    path = snapshot_path(root, config)
    try:
        old = load_snapshot(path)
    except SnapshotError as error:
        _fail(
            f"schema snapshot {config.schema_snapshot}: {error}; restore it, or delete it to "
            "record the current schema"
        )
    new = schema_snapshot(ir)
    folder = root / config.migrations_dir
    folder.mkdir(parents=True, exist_ok=True)
    if old is None:
        path.write_text(snapshot_text(new), encoding="utf-8")
        stdout.print(
            f"[green]✓[/] recorded the schema of {len(ir.models)} model(s) in "
            f"{config.schema_snapshot}; no migration: there is nothing earlier to migrate from"
        )
        return
    changes = classify(old, new)
    if not changes:
        stdout.print(
            f"nothing changed since the schema in {config.schema_snapshot}; nothing written"
        )
        return
    plan = plan_migration(changes, ir)
    file_name = migration_file_name(folder, name)
    source = render_migration(plan, changes, name, config.migrations_dir)
    (folder / file_name).write_text(source, encoding="utf-8")
    path.write_text(snapshot_text(new), encoding="utf-8")
    where = f"{config.migrations_dir}/{file_name}"
    stdout.print(
        f"[green]✓[/] wrote {where} ({len(plan.forward)} step(s) forward, "
        f"{len(plan.backward)} back) for {len(changes)} change(s); recorded the schema in "
        f"{config.schema_snapshot}"
    )
    if plan.placeholders:
        stderr.print(
            f"[yellow]![/] {plan.placeholders} step(s) only you can write: "
            f"the steps raising NotImplementedError in {where} say what; `migrate up` fails "
            "on them until then"
        )


StepsOption = Annotated[
    int | None, typer.Option("--steps", "-n", min=1, help="How many migrations to run.")
]


@migrate_app.command("up")
def up_command(project: ProjectOption = Path("."), steps: StepsOption = None) -> None:
    """Run the pending migrations, oldest first, against $MONGODB_URL / $MONGODB_DB."""
    _run(project, "up", steps)


@migrate_app.command("down")
def down_command(
    project: ProjectOption = Path("."),
    steps: Annotated[
        int, typer.Option("--steps", "-n", min=1, help="How many migrations to undo.")
    ] = 1,
) -> None:
    """Undo the last applied migration (or `--steps N` of them), newest first."""
    _run(project, "down", steps)


def _run(project: Path, direction: Literal["up", "down"], steps: int | None) -> None:
    # start-up time: Beanie and PyMongo load only for the commands that reach MongoDB
    from ..migrate.migration_runner import MigrationError, database_target, run_migrations

    analysis = _analysed(project)
    assert analysis.ir is not None
    folder = analysis.root / analysis.config.migrations_dir
    url, database = database_target(database_name(analysis.ir))
    verb = "applying" if direction == "up" else "undoing"

    def announce(name: str) -> None:
        stdout.print(f"{verb} {name}")

    def note(text: str) -> None:
        stderr.print(f"[yellow]note[/]: {text}")

    try:
        run = asyncio.run(
            run_migrations(folder, analysis.root, url, database, direction, steps, announce, note)
        )
    except MigrationError as error:
        _fail(str(error))
    current = run.current or "none"
    if not run.ran:
        stdout.print(f"nothing to {'apply' if direction == 'up' else 'undo'}; current: {current}")
        return
    stdout.print(
        f"[green]✓[/] {'applied' if direction == 'up' else 'undid'} {len(run.ran)} "
        f"migration(s) on database {database}; current: {current}"
    )


def _analysed(project: Path) -> Analysis:
    """The project analysed; its errors printed and exit 1 when it has any."""
    if not project.is_dir():
        _fail(f"project folder {project} does not exist")
    analysis = analyse(project)
    if not analysis.ok or analysis.ir is None:
        _print(analysis.diagnostics, analysis.root)
        _fail("the project has errors; fix them first")
    return analysis


def _print(diagnostics: list[Diagnostic], root: Path) -> None:
    if diagnostics:
        stderr.print(render_text(diagnostics, root), markup=False)
        stderr.print()


def _fail(message: str) -> NoReturn:
    stderr.print(f"[red]error[/]: {message}")
    raise typer.Exit(1)
