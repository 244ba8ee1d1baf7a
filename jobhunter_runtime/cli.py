"""What the generated Typer CLI imports: running an operation from command-line options,
and the `models` verbs over a model's records.

Generated command modules stay declarative (one typed option per field, saying how its
value reaches the body; a model's `create` and `update` share them) and delegate the
behaviour here. Where the records come from is a `RecordSource`: the database itself
(`Database`, in-process), or the app's HTTP API as the signed-in user (`api_client.Api`,
with `api.auth: users`); the options and the output are the same either way. Nothing here
runs when help is printed: the user's modules, Beanie and the database are loaded only when
a command runs, so `jobhunter ops --help` is quick and works without a database.

Exit codes follow Typer's: 0 success, 1 a failure (the operation failed, a record is
missing, the database is unreachable), 2 a usage error (an option's value, an invalid
body).
"""

from __future__ import annotations

import asyncio
import copy
import getpass
import importlib
import inspect
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol, get_args

import typer
import typer.main
import typer.models
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from .redaction import redact

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from .records import ModelRecords

CONNECT_TIMEOUT_MS = 2000
"""How long a command waits for MongoDB to answer before saying it cannot reach it."""
SERVED_DATABASE_FILE = Path(".jobhunter_cache") / "mongodb_url"
"""Where `jobhunter run` writes the URL of the embedded MongoDB it serves (and removes it when
it stops), so that the project's commands find that database on whatever port it listens."""

REQUIRED_MARK = "(required)"
"""Ends the help of an option the body needs; not "[required]", which Typer's rich help
would take for markup and drop."""
NO_CHOICE = "none"
"""The choice of an optional enum option that sends null (the option left out sends nothing)."""

JsonBody = Annotated[
    str | None,
    typer.Option(
        "--json",
        metavar="JSON",
        help="The whole body as a JSON object; options given beside it override its keys.",
        show_default=False,
    ),
]
JsonFile = Annotated[
    Path | None,
    typer.Option(
        "--json-file",
        metavar="PATH",
        help="Read the body from a JSON file ('-' reads standard input).",
        show_default=False,
        allow_dash=True,
    ),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RecordId = Annotated[str, typer.Argument(metavar="ID", help="The record's id.", show_default=False)]
Filters = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        "-f",
        metavar="FIELD[_OP]=VALUE",
        help="Keep records whose field matches; OP is ne, gte, lte or like. Repeatable.",
        show_default=False,
    ),
]
Search = Annotated[
    str | None,
    typer.Option("--search", "-q", help="Text search over the text fields.", show_default=False),
]
Sort = Annotated[
    list[str] | None,
    typer.Option(
        "--sort",
        "-s",
        metavar="[-]FIELD",
        help="Order by a field; a leading '-' sorts descending. Repeatable.",
        show_default=False,
    ),
]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="How many records to show.")]
Offset = Annotated[int, typer.Option("--offset", min=0, help="How many records to skip.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")]

stdout = Console(soft_wrap=True, highlight=False)
stderr = Console(stderr=True, soft_wrap=True, highlight=False)


@dataclass(frozen=True)
class BodyKey:
    """How one command-line option reaches the body: under `key` (the one the model
    validates: its validation alias or alias, if it has one), parsed as JSON when `json`
    (nested models, dicts, unions: each item of a repeated option); with `none`, the choice
    `none` (of an optional enum) sends null."""

    key: str
    flag: str
    json: bool = False
    none: bool = False


@dataclass(frozen=True)
class Database:
    """Where the commands find MongoDB: `MONGODB_URL` and `MONGODB_DB` when set, else the
    database a `jobhunter run` in this project serves (SERVED_DATABASE_FILE), else the
    defaults the generated API uses too. `documents` names the list of Beanie documents
    to register, as `module:attribute`; `run_lease_s` is how long a run the CLI executes
    stays claimed on its TaskRun without a renewal."""

    default_name: str
    documents: str
    run_lease_s: float
    default_url: str = "mongodb://localhost:27017"

    @property
    def url(self) -> str:
        return os.environ.get("MONGODB_URL") or served_database_url() or self.default_url

    @property
    def name(self) -> str:
        return os.environ.get("MONGODB_DB", self.default_name)

    def records(self) -> DirectRecords:
        return DirectRecords(self)


def served_database_url(directory: Path | None = None) -> str | None:
    """The URL a running `jobhunter run` wrote in `directory` (the current one) or the
    nearest parent holding SERVED_DATABASE_FILE; None when there is none."""
    start = (directory or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        try:
            return (folder / SERVED_DATABASE_FILE).read_text(encoding="utf-8").strip() or None
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class OperationCommand:
    """An operation as `jobhunter ops <name>` runs it; `function` and `inputs` are
    `module:attribute` strings, imported only when the command runs."""

    name: str
    function: str
    inputs: str | None
    options: tuple[BodyKey, ...]
    records_runs: bool = True
    """False for an operation with async_enabled=False: it keeps no TaskRun to follow."""


@dataclass(frozen=True)
class FieldOption:
    """A record field as an option of both `create` and `update`: `annotation` is the
    option (`Annotated[T | None, typer.Option("--flag", ...)]`), `key` and `json` say how
    its value reaches the body, as for a `BodyKey`; `parameter` names it in the commands'
    signature when the key is no Python identifier or clashes with another parameter;
    `required` when `create` needs it (given as the option or in `--json`)."""

    key: str
    annotation: Any
    json: bool = False
    parameter: str = ""
    required: bool = False
    none: bool = False
    flag: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "flag", _option_flag(self.annotation))
        if not self.parameter:
            object.__setattr__(self, "parameter", self.key)


def _option_flag(annotation: Any) -> str:
    """The first flag of the `typer.Option` in `annotation` ("--remote" of
    "--remote/--no-remote"). Inside `Annotated`, Typer keeps an option's first
    declaration as its `default`."""
    info = next(m for m in get_args(annotation)[1:] if isinstance(m, typer.models.OptionInfo))
    first = info.default if isinstance(info.default, str) else info.param_decls[0]
    return first.split("/")[0]


BodyOption = BodyKey | FieldOption


@dataclass(frozen=True)
class ModelCommands:
    """A model as `jobhunter models <verb> <Name>` reaches it: `routes` is the generated
    API module holding its `RESOURCE` and body schemas; `options` are the fields `create`
    and `update` take, declared once for both; `columns` are the table's, and
    `link_columns` say which of them show the records they link to by name."""

    name: str
    routes: str
    create_schema: str
    patch_schema: str
    options: tuple[FieldOption, ...]
    columns: tuple[str, ...]
    link_columns: tuple[LinkColumn, ...] = ()


@dataclass(frozen=True)
class LinkColumn:
    """A table column of links to `target` records (whose API module is `routes`): its cells
    show each record's `label` field, the model's primary field, as the admin does."""

    column: str
    target: str
    routes: str
    label: str

    def target_commands(self) -> ModelCommands:
        """The target as `find_records` reaches it (read only: no options, no schemas)."""
        return ModelCommands(self.target, self.routes, "", "", (), ())


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class LazyCommand:
    """A command known by name, help and help panel until it runs: `target` is the
    `module:function` Typer turns into the command."""

    name: str
    target: str
    help: str
    panel: str | None = None


class CommandGroup(TyperGroup):
    """A group that, run bare, prints its help and exits 0 (`no_args_is_help` exits 2,
    which scripts and `make` read as a failure)."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if not args and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit()
        return super().parse_args(ctx, args)  # type: ignore[arg-type]


class LazyGroup(CommandGroup):
    """A group whose commands are imported only when one runs (or shows its own help).
    Listing them needs only the table, so a project with a thousand operations answers
    `jobhunter ops --help` without importing a thousand modules."""

    def __init__(self, *, name: str, help: str, commands: Sequence[LazyCommand]) -> None:
        self._lazy = {command.name: command for command in commands}
        listed = [
            TyperCommand(command.name, help=command.help, rich_help_panel=command.panel)
            for command in commands
        ]
        super().__init__(name=name, help=help, commands=listed)

    def resolve_command(  # type: ignore[override]
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        command = self._lazy.get(args[0]) if args else None
        if command is None:
            return super().resolve_command(ctx, args)  # type: ignore[arg-type]
        app = typer.Typer()
        app.command(command.name, help=command.help, rich_help_panel=command.panel)(
            _load(command.target)
        )
        return command.name, typer.main.get_command(app), args[1:]


@dataclass(frozen=True)
class LazyApp:
    """One of the user's own Typer apps (`cli.extensions`), mounted as the group `name`;
    `target` (`module:attribute`) is imported only when the group runs."""

    name: str
    target: str
    help: str


class ExtendedGroup(CommandGroup):
    """The top-level group when the project mounts Typer apps of its own: they are
    listed by name and help without importing them, so `--help` and the generated
    commands never pay for (or break on) the user's modules."""

    def __init__(
        self, *, name: str, help: str, commands: Sequence[Any], extensions: Sequence[LazyApp]
    ) -> None:
        self._extensions = {extension.name: extension for extension in extensions}
        listed = [TyperGroup(name=e.name, help=e.help) for e in extensions]
        super().__init__(name=name, help=help, commands=[*commands, *listed])

    def resolve_command(  # type: ignore[override]
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        extension = self._extensions.get(args[0]) if args else None
        if extension is None:
            return super().resolve_command(ctx, args)  # type: ignore[arg-type]
        try:
            loaded = _load(extension.target)
        except AttributeError:
            loaded = None
        if not isinstance(loaded, typer.Typer):
            found = "nothing" if loaded is None else type(loaded).__name__
            fail(f"cli.extensions: {extension.target} must be a typer.Typer, found {found}")
        command = typer.main.get_command(loaded)
        command.name = extension.name
        return extension.name, command, args[1:]


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class GivenBody:
    """A body as the command line gave it, with the options it came from and the flag that
    gave it whole (`--json` or `--json-file`): an invalid body names them."""

    data: dict[str, Any]
    options: Sequence[BodyOption] = ()
    whole: str = "--json"

    def invalid(self, errors: list[dict[str, Any]]) -> typer.BadParameter:
        return _invalid(errors, self.options, self.whole)


@dataclass(frozen=True)
class FoundRecords:
    total: int
    """How many records match, on all pages."""
    records: list[dict[str, Any]]
    shortened: tuple[str, ...] = ()
    """The ids of records the API cut to fit its answer (`api.max_list_bytes`)."""


@dataclass(frozen=True)
class RunOutput:
    output: Any
    task_run_id: str | None


class RecordSource(Protocol):
    """Where the commands' records and runs come from. Each method answers JSON-able data
    or ends the command itself: `fail` (exit 1) for what went wrong, a usage error (exit 2)
    for what the command line got wrong."""

    def find_records(
        self, commands: ModelCommands, params: list[tuple[str, str]], limit: int
    ) -> FoundRecords: ...

    def read_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]: ...

    def create_record(self, commands: ModelCommands, body: GivenBody) -> dict[str, Any]: ...

    def patch_record(
        self, commands: ModelCommands, id_text: str, body: GivenBody
    ) -> dict[str, Any]: ...

    def delete_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]: ...

    def restore_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]: ...

    def run_operation(self, command: OperationCommand, body: GivenBody | None) -> RunOutput: ...


class SourceSetting(Protocol):
    """What a generated command module is given (`cli.settings`): a `Database`, or an
    `api_client.Api` in an `api.auth: users` project."""

    def records(self) -> RecordSource: ...


@dataclass(frozen=True)
class DirectRecords:
    """Records and runs straight from the database, in this process."""

    database: Database

    def find_records(
        self, commands: ModelCommands, params: list[tuple[str, str]], limit: int
    ) -> FoundRecords:
        # start-up time: Beanie and PyMongo load only for a command that needs them
        from .listing import QueryError

        resource = _resource(commands)

        async def run() -> Any:
            async with connected(self.database):
                return await resource.find_records(params, max_page_size=limit)

        try:
            page = asyncio.run(run())
        except QueryError as exc:
            flag = _LIST_FLAGS.get(exc.parameter, "--filter")
            raise typer.BadParameter(str(exc), param_hint=f"'{flag}'") from None
        return FoundRecords(page.total, page.records)

    def read_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        resource = _resource(commands)
        id_value = _id(resource, id_text)
        return self._run(lambda: resource.read_record(id_value))

    def create_record(self, commands: ModelCommands, body: GivenBody) -> dict[str, Any]:
        resource = _resource(commands)
        model = _validated(_schema(commands, commands.create_schema), body)
        return self._run(lambda: resource.create_record(model), body)

    def patch_record(
        self, commands: ModelCommands, id_text: str, body: GivenBody
    ) -> dict[str, Any]:
        resource = _resource(commands)
        id_value = _id(resource, id_text)
        model = _validated(_schema(commands, commands.patch_schema), body)
        return self._run(lambda: resource.patch_record(id_value, model), body)

    def delete_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        resource = _resource(commands)
        id_value = _id(resource, id_text)
        return self._run(lambda: resource.delete_record(id_value))

    def restore_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        resource = _resource(commands)
        id_value = _id(resource, id_text)
        return self._run(lambda: resource.restore_record(id_value))

    def run_operation(self, command: OperationCommand, body: GivenBody | None) -> RunOutput:
        """Run the operation in-process as the `cli` channel."""
        # start-up time: Beanie and PyMongo load only for a command that needs them
        from .taskrun import (
            Actor,
            OperationFailed,
            acting_as,
            call_operation,
            error_text,
            following_progress,
        )

        function = _load(command.function)
        args: tuple[Any, ...] = ()
        if command.inputs is not None and body is not None:
            args = (_validated(_load(command.inputs), body),)
        # A failure is said in one line below, its traceback kept in the TaskRun: the
        # runtime's log line of it would print the traceback on the terminal as well.
        logging.getLogger("jobhunter.operations").addHandler(logging.NullHandler())
        lease_s = self.database.run_lease_s

        async def run() -> Any:
            async with connected(self.database):
                with acting_as(Actor(channel="cli", user_id=_user())):
                    return await call_operation(function, *args, lease_s=lease_s)

        try:
            with (
                progress_bar() as show,
                following_progress(lambda progress: show(progress.fraction, progress.message)),
            ):
                outcome = asyncio.run(run())
        except OperationFailed as failed:
            run_id = f" (TaskRun {failed.task_run.id})" if failed.task_run is not None else ""
            if failed.reported:
                fail(redact(f"{command.name}: {failed.original}{run_id}"))
            fail(f"{command.name} failed: {error_text(failed.original)}{run_id}")
        task_run = outcome.task_run
        return RunOutput(outcome.output_dump, str(task_run.id) if task_run is not None else None)

    def _run(
        self, work: Callable[[], Awaitable[dict[str, Any]]], body: GivenBody | None = None
    ) -> dict[str, Any]:
        """Await a records call; a missing record or a taken key fails (exit 1), an invalid
        record is a usage error naming the options (exit 2)."""
        # start-up time: Beanie and PyMongo load only for a command that needs them
        from .records import InvalidRecord, RecordConflict, RecordNotFound

        async def run() -> dict[str, Any]:
            async with connected(self.database):
                return await work()

        try:
            return asyncio.run(run())
        except (RecordNotFound, RecordConflict) as exc:
            fail(str(exc))
        except InvalidRecord as exc:
            raise (body or GivenBody({})).invalid(exc.errors) from None


def _resource(commands: ModelCommands) -> ModelRecords:
    return importlib.import_module(commands.routes).RESOURCE  # type: ignore[no-any-return]


def _schema(commands: ModelCommands, name: str) -> type[BaseModel]:
    return getattr(importlib.import_module(commands.routes), name)  # type: ignore[no-any-return]


def _id(resource: ModelRecords, text: str) -> Any:
    # start-up time: Beanie and PyMongo load only for a command that needs them
    from .records import InvalidRecord

    try:
        return resource.parse_id(text)
    except InvalidRecord:
        raise invalid_id(resource.name) from None


def invalid_id(model: str) -> typer.BadParameter:
    return typer.BadParameter(f"not a valid {model} id", param_hint="'ID'")


# --------------------------------------------------------------------------- operations


def run_operation_command(
    command: OperationCommand,
    where: SourceSetting,
    values: Sequence[Any],
    json_body: str | None = None,
    json_file: Path | None = None,
) -> None:
    """Run the operation with the body the options make and print its output as JSON."""
    body = None
    if command.inputs is not None:
        body = _given(command.options, values, json_body, json_file)
    outcome = where.records().run_operation(command, body)
    print_json(outcome.output)
    if outcome.task_run_id is not None:
        stderr.print(f"[dim]TaskRun {outcome.task_run_id}[/]")


@contextmanager
def progress_bar() -> Iterator[Callable[[float, str | None], None]]:
    """A bar on stderr that the run's progress reports (a fraction from 0 to 1 and a message)
    move, whether the run is in this process or followed through the API; it appears with
    the first report (an operation that reports none prints none). On a terminal it moves
    as the run goes; piped, it is printed once, as the run left it."""
    bar: Progress | None = None
    task = None

    def show(fraction: float, message: str | None) -> None:
        nonlocal bar, task
        if bar is None:
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=stderr,
            )
            task = bar.add_task("", total=1.0)
            bar.start()
        assert task is not None
        bar.update(task, completed=fraction, description=escape(message or ""))

    try:
        yield show
    finally:
        if bar is not None:
            bar.stop()


# --------------------------------------------------------------------------- models


def list_command(
    commands: ModelCommands,
    where: SourceSetting,
    filters: list[str] | None,
    search: str | None,
    sort: list[str] | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """Print one page of records as a table (or JSON) and, on a table, how many match."""
    params = [_filter_pair(text) for text in filters or ()]
    if search:
        params.append(("q", search))
    if sort:
        params.append(("_sort", ",".join(key.removeprefix("-") for key in sort)))
        params.append(("_order", ",".join("desc" if k.startswith("-") else "asc" for k in sort)))
    params += [("_start", str(offset)), ("_end", str(offset + limit))]
    page = where.records().find_records(commands, params, limit)
    if as_json:
        print_json(page.records)
        _say_shortened(commands, page)
        return
    labels = {
        link.column: _link_labels(where, link, page.records, limit)
        for link in commands.link_columns
    }
    table = Table(box=None, header_style="bold")
    table.add_column("id", no_wrap=True)  # in full: it is what `get` and `update` take
    for column in commands.columns:
        table.add_column(column)
    for record in page.records:
        table.add_row(
            _cell(record.get("id")),
            *(_cell(_labelled(record.get(c), labels.get(c))) for c in commands.columns),
        )
    stdout.print(table)
    shown = f"{offset + 1}-{offset + len(page.records)}" if page.records else "none"
    stderr.print(f"[dim]{commands.name}: {shown} of {page.total}[/]")
    _say_shortened(commands, page)


def _link_ids(value: Any) -> list[str]:
    """The ids in a link cell: one id, a list of them, or records with an `id`."""
    values = value if isinstance(value, list) else [value]
    ids = [v.get("id") if isinstance(v, dict) else v for v in values]
    return [str(i) for i in ids if i is not None]


def _link_labels(
    where: SourceSetting, link: LinkColumn, records: list[dict[str, Any]], page_size: int
) -> dict[str, str]:
    """Each linked record's label by id, asked a page of ids at a time."""
    ids = sorted({i for record in records for i in _link_ids(record.get(link.column))})
    labels: dict[str, str] = {}
    target = link.target_commands()
    for start in range(0, len(ids), page_size):
        chunk = ids[start : start + page_size]
        params = [("id", i) for i in chunk] + [("_start", "0"), ("_end", str(len(chunk)))]
        for found in where.records().find_records(target, params, len(chunk)).records:
            label = found.get(link.label)
            labels[str(found.get("id"))] = str(label) if label not in (None, "") else found["id"]
    return labels


def _labelled(value: Any, labels: dict[str, str] | None) -> Any:
    """A link cell with each id replaced by its record's label; a missing record says so."""
    if labels is None or value is None:
        return value
    named = [labels.get(i, f"{i} (missing)") for i in _link_ids(value)]
    return named if isinstance(value, list) else named[0]


def _say_shortened(commands: ModelCommands, page: FoundRecords) -> None:
    if page.shortened:
        count = len(page.shortened)
        stderr.print(
            f"[dim]{count} record{'s' if count != 1 else ''} cut to fit the API's answer; "
            f"`models get {commands.name} ID` shows one in full[/]"
        )


_LIST_FLAGS = {"q": "--search", "_sort": "--sort", "_order": "--sort"}


def get_command(commands: ModelCommands, where: SourceSetting, id_text: str, as_json: bool) -> None:
    record = where.records().read_record(commands, id_text)
    if as_json:
        print_json(record)
        return
    table = Table("field", "value", box=None, header_style="bold")
    for key, value in record.items():
        table.add_row(key, _cell(value, width=None))
    stdout.print(table)


def create_command(commands: ModelCommands, where: SourceSetting) -> Callable[..., None]:
    """The `create` command of a model: one option per field, then `--json`/`--json-file`."""

    def create_record(**given: Any) -> None:
        values = [given[option.parameter] for option in commands.options]
        body = _given(commands.options, values, given["json_body"], given["json_file"])
        print_json(where.records().create_record(commands, body))

    return _with_options(create_record, commands.options, mark_required=True)


def update_command(commands: ModelCommands, where: SourceSetting) -> Callable[..., None]:
    """The `update` command of a model: the record's id, then the same options as
    `create`. It changes the fields given (a PATCH): the others keep their values."""

    def update_record(id: str, **given: Any) -> None:
        values = [given[option.parameter] for option in commands.options]
        body = _given(commands.options, values, given["json_body"], given["json_file"])
        if not body.data:
            raise typer.BadParameter("nothing to change", param_hint="a field option or --json")
        print_json(where.records().patch_record(commands, id, body))

    record_id = inspect.Parameter(
        "id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=RecordId
    )
    return _with_options(update_record, commands.options, record_id)


def _with_options(
    function: Callable[..., None],
    options: Sequence[FieldOption],
    *leading: inspect.Parameter,
    mark_required: bool = False,
) -> Callable[..., None]:
    """`function` with the signature Typer reads its command from: `leading`, one keyword
    parameter per field option (None when not given), then `--json` and `--json-file`. With
    `mark_required`, the help of a required option says so (Typer cannot require it: the
    value may come in `--json`)."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        *leading,
        *(
            inspect.Parameter(
                o.parameter,
                keyword,
                default=None,
                annotation=(
                    _marked_required(o.annotation)
                    if mark_required and o.required
                    else (o.annotation)
                ),
            )
            for o in options
        ),
        inspect.Parameter("json_body", keyword, default=None, annotation=JsonBody),
        inspect.Parameter("json_file", keyword, default=None, annotation=JsonFile),
    ]
    function.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    return function


def _marked_required(annotation: Any) -> Any:
    """`Annotated[T, typer.Option(...)]` with REQUIRED_MARK at the end of the option's help."""
    base, *metadata = get_args(annotation)
    marked = []
    for item in metadata:
        if isinstance(item, typer.models.OptionInfo):
            item = copy.copy(item)
            item.help = f"{item.help} {REQUIRED_MARK}" if item.help else REQUIRED_MARK
        marked.append(item)
    return Annotated[(base, *marked)]  # type: ignore[valid-type]


def delete_command(commands: ModelCommands, where: SourceSetting, id_text: str, yes: bool) -> None:
    records = where.records()
    if not yes:
        # Asked only about a record that exists: a malformed or unknown id is said first.
        records.read_record(commands, id_text)
        if not typer.confirm(f"Delete {commands.name} {id_text}?", err=True):
            fail("nothing deleted")
    print_json(records.delete_record(commands, id_text))


def restore_command(commands: ModelCommands, where: SourceSetting, id_text: str) -> None:
    """Clear a soft-deleted record's `deleted_at`: lists show it again."""
    print_json(where.records().restore_record(commands, id_text))


def _filter_pair(text: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise typer.BadParameter(f"{text!r} is not FIELD=VALUE", param_hint="'--filter'")
    return key, value


def _cell(value: Any, width: int | None = 40) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    return escape(text)


# --------------------------------------------------------------------------- shared


@asynccontextmanager
async def connected(database: Database) -> AsyncIterator[list[Any]]:
    """Beanie initialised on the project's database, yielding its document classes; a
    clear failure when it is not reachable within a few seconds (the driver would
    otherwise wait 30): CONNECT_TIMEOUT_MS."""
    # start-up time: Beanie and PyMongo load only for a command that needs them, not for `--help`
    from beanie import init_beanie
    from pymongo import AsyncMongoClient
    from pymongo.errors import PyMongoError

    documents = _load(database.documents)
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        database.url,
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
    )
    try:
        try:
            await client.admin.command("ping")
        except PyMongoError as exc:
            if not os.environ.get("MONGODB_URL") and served_database_url():
                hint = (
                    f"`jobhunter run` left that URL in {SERVED_DATABASE_FILE}: is it still running?"
                )
            else:
                hint = "set MONGODB_URL, or start `jobhunter run` in another terminal"
            fail(f"cannot reach MongoDB at {redact(database.url)} ({type(exc).__name__}); {hint}")
        await init_beanie(database=client[database.name], document_models=documents)
        yield documents
    finally:
        await client.close()


def print_json(data: Any) -> None:
    """Indented on a terminal, one line otherwise (for pipes and `jq`)."""
    if sys.stdout.isatty():
        text = json.dumps(data, indent=2, ensure_ascii=False)
    else:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def fail(message: str) -> NoReturn:
    stderr.print(f"[red]error[/]: {escape(message)}")
    raise typer.Exit(1)


def _load(target: str) -> Any:
    """`module:attribute`, imported now. The user's module failing to import is their
    error to see, without our frames around it."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        fail(f"importing {module_name} failed: {type(exc).__name__}: {exc}")
    return getattr(module, attribute)


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        return None


def _given(
    options: Sequence[BodyOption],
    values: Sequence[Any],
    json_body: str | None,
    json_file: Path | None,
) -> GivenBody:
    """The body: `--json` (or `--json-file`), then every option given on top."""
    if json_body is not None and json_file is not None:
        raise typer.BadParameter("give one of them, not both", param_hint="'--json', '--json-file'")
    body: dict[str, Any] = {}
    if json_body is not None:
        body = _json_object(json_body, "--json")
    elif json_file is not None:
        body = _json_object(_read(json_file), "--json-file")
    for option, value in zip(options, values, strict=True):
        if value is None:
            continue
        if option.none and value == NO_CHOICE:
            value = None
        elif option.json:
            value = (
                [_json_value(v, option.flag) for v in value]
                if isinstance(value, list)
                else _json_value(value, option.flag)
            )
        body[option.key] = value
    return GivenBody(body, options, "--json-file" if json_file is not None else "--json")


def _read(path: Path) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc}", param_hint="'--json-file'") from None


def _json_value(text: str, flag: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=f"'{flag}'") from None


def _json_object(text: str, flag: str) -> dict[str, Any]:
    value = _json_value(text, flag)
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=f"'{flag}'")
    return value


def _validated(schema: type[BaseModel], body: GivenBody) -> BaseModel:
    # start-up time: pydantic loads only for a command that validates a body
    from pydantic import ValidationError

    try:
        return schema.model_validate(body.data)
    except ValidationError as exc:
        raise body.invalid(_error_dicts(exc)) from None


def _error_dicts(exc: ValidationError) -> list[dict[str, Any]]:
    return [dict(error) for error in exc.errors(include_url=False)]


def _invalid(
    errors: list[dict[str, Any]], options: Sequence[BodyOption], whole: str
) -> typer.BadParameter:
    """A usage error naming the options the errors came from (or `whole`, the JSON body,
    for fields no option carries), one `field: problem` per error."""
    flags = {option.key: option.flag for option in options}
    hints: list[str] = []
    problems = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        flag = flags.get(loc[0]) if loc else None
        hint = f"'{flag or whole}'"
        if hint not in hints:
            hints.append(hint)
        where = ".".join(loc) if loc else "body"
        message = "a value is required" if error.get("type") == "missing" else error["msg"]
        problems.append(f"{flag or where}: {message}" if len(errors) > 1 or not flag else message)
    return typer.BadParameter("; ".join(problems), param_hint=", ".join(hints))
