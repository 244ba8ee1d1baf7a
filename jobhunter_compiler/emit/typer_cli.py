"""CLI emitter: the `cli/` package, a Typer app served by `jobhunter ops` and
`jobhunter models` (or `python -m cli` from the output folder).

One module per operation (`cli/operations/<op>.py`: a command whose options are typed
from the inputs schema) and one per model (`cli/models/<model>.py`: the five record
verbs), so editing one model rewrites one module. How a field kind becomes an option is
taught here and nowhere else: `OPTION_KINDS`. The commands delegate their behaviour to
`jobhunter_runtime.cli`; the model verbs reuse the generated API's body schemas
and records (`generated_routes.models.<model>`), so a record is validated the same way
whichever door it comes through. With `api.auth: users` the data commands are handed the
app's API (`cli.settings.API`) instead of the database, and the CLI gains `login`/`logout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NamedTuple

from ..config import Config, extension_group
from ..ir import FieldIR, ModelIR, OperationIR, ProjectIR, TypeKind, TypeRef
from . import EmitSettings, OutputFile
from .emit_cache import NodeScopes, per_node, per_project
from .naming import (
    API_PACKAGE,
    API_PORT,
    database_name,
    first_party_packages,
    generated_header,
    is_backlink,
    link_target,
    module_names,
    package_init,
    source_roots,
    with_article,
)
from .python import (
    Imports,
    docstring_text,
    pascal_identifier,
    python_literal,
    snake_identifier,
    unique_names,
)
from .template_set import TemplateSet

PACKAGE = "cli"
RUNTIME = "jobhunter_runtime.cli"
NO_CHOICE = "none"
"""The choice that sends null for an optional enum: the runtime's `cli.NO_CHOICE`."""
REQUIRED_MARK = "(required)"
"""The runtime's `cli.REQUIRED_MARK`, for the options of operations."""
API_CLIENT = "jobhunter_runtime.api_client"
RESERVED_FLAGS = frozenset({"--json", "--json-file", "--help"})
LIST_COLUMNS = 4
"""Table columns of `models list` when the model names no `ui.list_fields`."""


def emit_cli(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    config, templates, emit_cache = settings.config, settings.templates, settings.cache
    header = generated_header(ir)
    first_party = (PACKAGE, *first_party_packages(ir))
    operation_modules = module_names(ir, "operation")
    model_modules = module_names(ir, "model")
    # With signed-in users, the data commands go through the API, which checks the
    # permissions; `users` and `db check` work before anyone can sign in, on the database.
    through_api = config.api.auth == "users"
    source = "API" if through_api else "DATABASE"
    files: dict[str, str] = {
        f"{PACKAGE}/__init__.py": package_init(
            ir,
            templates,
            "The command-line interface: `jobhunter ops ...` and `jobhunter models ...` in "
            "the project, or `python -m cli` from the output folder.",
        ),
        f"{PACKAGE}/__main__.py": templates.render(
            "cli/main.py.j2",
            header=header,
            source_roots=python_literal(_from_output_folder(source_roots(ir), config)),
        ),
        f"{PACKAGE}/settings.py": templates.render(
            "cli/settings.py.j2",
            header=header,
            database=python_literal(database_name(ir)),
            documents=python_literal(f"{API_PACKAGE}.models:DOCUMENT_MODELS"),
            run_lease_s=config.api.run_lease_s,
            app_name=python_literal(ir.project) if through_api else None,
            api_url=python_literal(f"http://localhost:{API_PORT}"),
        ),
        f"{PACKAGE}/database.py": templates.render("cli/database.py.j2", header=header),
        f"{PACKAGE}/operations/__init__.py": _package_docstring(
            header, "One module per operation: the command `jobhunter ops <name>` runs."
        ),
        f"{PACKAGE}/models/__init__.py": _package_docstring(
            header, "One module per model: the `jobhunter models <verb> <Name>` commands."
        ),
        f"{PACKAGE}/app.py": per_project(
            emit_cache,
            _app_module,
            templates,
            ir.project,
            [
                _OperationEntry(o.name, operation_modules[o.name], o.category, _summary(o))
                for o in ir.operations
            ],
            [
                _ModelEntry(
                    m.name, model_modules[m.name], m.tags[0] if m.tags else None, m.soft_delete
                )
                for m in ir.models
            ],
            header,
            config.cli.extensions,
            config.api.roles if config.api.auth == "users" else None,
        ),
    }
    scopes = NodeScopes.for_compile(ir, settings.cache)
    for operation in ir.operations:
        module = operation_modules[operation.name]
        files[f"{PACKAGE}/operations/{module}.py"] = per_node(
            emit_cache,
            scopes,
            operation,
            _operation_module,
            templates,
            header,
            first_party,
            source,
        )
    for model in ir.models:
        module = model_modules[model.name]
        routes = f"{API_PACKAGE}.models.{module}"  # the API names its modules alike
        # Only the targets' modules, not all: an edit elsewhere keeps this one's cache entry.
        targets = {t for item in model.fields if (t := _linked_model(item)) in model_modules}
        target_routes = tuple(
            (target, f"{API_PACKAGE}.models.{model_modules[target]}") for target in sorted(targets)
        )
        files[f"{PACKAGE}/models/{module}.py"] = per_node(
            emit_cache,
            scopes,
            model,
            _model_module,
            templates,
            routes,
            target_routes,
            config.api.default_page_size,
            header,
            first_party,
            source,
        )
    return [OutputFile(path=path, content=text.encode()) for path, text in sorted(files.items())]


def _from_output_folder(roots: list[str], config: Config) -> list[str]:
    """Project-relative folders as seen from the output folder: `src` -> `../src`."""
    up = PurePosixPath(*[".."] * len(PurePosixPath(config.output_dir).parts))
    return [(up / root).as_posix() for root in roots]


def _package_docstring(header: str, text: str) -> str:
    return f'"""{docstring_text(header)}\n\n{text}\n"""\n'


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class OptionKind:
    """How values of one field kind are typed on the command line: the Python type Typer
    converts to (`CHOICE`: one of the allowed values; None: the field takes JSON text), the
    metavar shown in help, and whether `models list` shows the field as a column when the
    model names no `ui.list_fields`. A `repeated` kind (a list) is an option given once per
    item, typed by the item's kind (JSON text when that has no type of its own)."""

    python_type: str | None
    metavar: str | None = None
    column: bool = False
    repeated: bool = False


CHOICE = "choice"


def _text(metavar: str, *, column: bool = False) -> OptionKind:
    return OptionKind("str", metavar, column=column)


_JSON_TEXT = OptionKind(None)
_REPEATED = OptionKind(None, repeated=True)

OPTION_KINDS: dict[TypeKind, OptionKind] = {
    TypeKind.STR: OptionKind("str", column=True),
    TypeKind.EMAIL: _text("EMAIL", column=True),
    TypeKind.URL: _text("URL", column=True),
    TypeKind.BYTES: OptionKind("str"),
    TypeKind.SECRET_STR: _text("SECRET"),
    TypeKind.SECRET_BYTES: _text("SECRET"),
    TypeKind.PATH: _text("PATH", column=True),
    TypeKind.IPV4_ADDRESS: _text("IPV4", column=True),
    TypeKind.IPV6_ADDRESS: _text("IPV6", column=True),
    TypeKind.IP_ADDRESS: _text("IP", column=True),
    TypeKind.INT: OptionKind("int", column=True),
    TypeKind.FLOAT: OptionKind("float", column=True),
    TypeKind.DECIMAL: _text("DECIMAL", column=True),
    TypeKind.BOOL: OptionKind("bool", column=True),
    TypeKind.DATETIME: _text("DATETIME", column=True),
    TypeKind.DATE: _text("DATE", column=True),
    TypeKind.TIME: _text("TIME"),
    TypeKind.TIMEDELTA: _text("DURATION"),
    TypeKind.UUID: _text("UUID", column=True),
    TypeKind.OBJECT_ID: _text("ID", column=True),
    TypeKind.LINK: _text("ID", column=True),
    TypeKind.LITERAL: OptionKind(CHOICE, column=True),
    TypeKind.ENUM: OptionKind(CHOICE, column=True),
    TypeKind.LIST: _REPEATED,
    TypeKind.SET: _REPEATED,
    TypeKind.TUPLE: _JSON_TEXT,
    TypeKind.DICT: _JSON_TEXT,
    TypeKind.UNION: _JSON_TEXT,
    TypeKind.SCHEMA: _JSON_TEXT,
    TypeKind.MODEL: _JSON_TEXT,
    TypeKind.ANY: _JSON_TEXT,
    TypeKind.NONE: _JSON_TEXT,
    TypeKind.UNKNOWN: _JSON_TEXT,
    TypeKind.BACKLINK: _JSON_TEXT,  # computed by Beanie: in no body, so never an option
    TypeKind.DOCUMENT_LINK: _JSON_TEXT,  # {"id": ..., "collection": ...}
}


def _is_choice(type_ref: TypeRef) -> bool:
    return OPTION_KINDS[type_ref.kind].python_type == CHOICE


@dataclass(frozen=True)
class Option:
    """One field as a command-line option: the parameter of the command function, its
    annotation (`Annotated[..., typer.Option(...)]`), and how its value reaches the body:
    the field's key, the flag, whether the value is JSON text and whether the body needs it."""

    parameter: str
    annotation: str
    key: str
    flag: str
    json: bool
    required: bool
    none: bool
    """The option's choices end with `none`, which sends null (an optional enum)."""

    def body_key(self, class_name: str) -> str:
        """The runtime's `BodyKey(key, flag[, json=True][, none=True])` for this option."""
        json = ", json=True" if self.json else ""
        none = ", none=True" if self.none else ""
        return f"{class_name}({python_literal(self.key)}, {python_literal(self.flag)}{json}{none})"


def _options(
    fields: list[FieldIR], ir: ProjectIR, imports: Imports, *, mark_required: bool
) -> list[Option]:
    parameters = unique_names(
        (f.name for f in fields), lambda name: _parameter(snake_identifier(name), imports)
    )
    flags: set[str] = set(RESERVED_FLAGS)
    options = []
    for item in fields:
        flag = _flag(item.name, flags)
        spelled, json_text = _option_type(item.type_info, ir, imports)
        none = _takes_none(item.type_info, ir)
        if none:
            spelled = spelled.removesuffix("]") + f", {python_literal(NO_CHOICE)}]"
        arguments = [python_literal(flag if spelled != "bool" else f"{flag}/--no-{flag[2:]}")]
        help_text = _help(item, ir, json_text, mark_required=mark_required, none=none)
        if help_text:
            arguments.append(f"help={python_literal(help_text)}")
        metavar = _metavar(item.type_info, json_text)
        if metavar:
            arguments.append(f"metavar={python_literal(metavar)}")
        arguments += _range(item, spelled)
        arguments.append(f"show_default={_shown_default(item)}")
        annotated = imports.name("typing", "Annotated")
        typer_module = imports.name("typer", "Option")
        option = f"{annotated}[{spelled} | None, {typer_module}({', '.join(arguments)})]"
        key = item.input_key
        options.append(
            Option(parameters[item.name], option, key, flag, json_text, item.required, none)
        )
    return options


def _parameter(name: str, imports: Imports) -> str:
    """A parameter name that shadows nothing the function body uses."""
    while name in imports.reserved:
        name += "_"
    return name


def _flag(name: str, taken: set[str]) -> str:
    flag = "--" + name.strip("_").replace("_", "-").lower()
    while flag in taken:
        flag += "-value"
    taken.add(flag)
    return flag


def _option_type(type_ref: TypeRef, ir: ProjectIR, imports: Imports) -> tuple[str, bool]:
    """(Python type of the option, whether its values are JSON text). Lists of a simple
    kind are repeated options; anything structured is JSON."""
    if OPTION_KINDS[type_ref.kind].repeated and type_ref.args:
        item_ref = type_ref.args[0]
        choices = _choices(item_ref, ir) if _is_choice(item_ref) else None
        if choices:  # Typer takes no list of choices: the schema checks each item
            return ("list[str]" if choices[0].startswith('"') else "list[int]"), False
        item, json_text = _option_type(item_ref, ir, imports)
        if not json_text and item != "bool":
            return f"list[{item}]", False
        return "list[str]", True
    kind = OPTION_KINDS[type_ref.kind]
    if kind.python_type is None:
        return "str", True
    if kind.python_type == CHOICE:
        values = _choices(type_ref, ir)
        if values is None:
            return "str", True
        return f"{imports.name('typing', 'Literal')}[{', '.join(values)}]", False
    return kind.python_type, False


def _takes_none(type_ref: TypeRef, ir: ProjectIR) -> bool:
    """An optional choice of strings offers `none` for null (unless `none` is a value)."""
    if not type_ref.nullable or not _is_choice(type_ref):
        return False
    values = _choices(type_ref, ir)
    return bool(values) and values[0].startswith('"') and python_literal(NO_CHOICE) not in values


def _choices(type_ref: TypeRef, ir: ProjectIR) -> list[str] | None:
    """The allowed values as Python literals, when they are all strings or all integers
    (Typer offers choices of one type only)."""
    values = type_ref.values
    if type_ref.kind == "enum" and not values:
        enum = ir.enum(type_ref.ref or "")
        values = [member.value for member in enum.members] if enum else []
    if values and all(isinstance(v, str) for v in values):
        return [python_literal(v) for v in values]
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return [python_literal(v) for v in values]
    return None


def _metavar(type_ref: TypeRef, json_text: bool) -> str | None:
    if json_text:
        return "JSON"
    if OPTION_KINDS[type_ref.kind].repeated and type_ref.args:
        type_ref = type_ref.args[0]
    return OPTION_KINDS[type_ref.kind].metavar


def _help(item: FieldIR, ir: ProjectIR, json_text: bool, *, mark_required: bool, none: bool) -> str:
    parts = [item.description or item.title or ""]
    if none:
        parts.append(f"{NO_CHOICE} for no value.")
    if OPTION_KINDS[item.type_info.kind].repeated:
        parts.append("Repeat for each item.")
        item_ref = item.type_info.args[0] if item.type_info.args else None
        choices = _choices(item_ref, ir) if item_ref and _is_choice(item_ref) else None
        if choices:
            parts.append(f"One of: {', '.join(c.strip(chr(34)) for c in choices)}.")
    if json_text:
        parts.append("As JSON.")
    if mark_required and item.required:
        parts.append(REQUIRED_MARK)
    return " ".join(part for part in parts if part)


def _range(item: FieldIR, spelled: str) -> list[str]:
    """Typer's own range check for `ge`/`le` on numbers (exit 2 before anything runs);
    other constraints are checked by the schema, with the same exit code."""
    if spelled not in ("int", "float"):
        return []
    arguments = []
    for constraint, argument in (("ge", "min"), ("le", "max")):
        bound = item.constraints.get(constraint)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            if spelled == "int" and not float(bound).is_integer():
                continue
            value = int(bound) if spelled == "int" else float(bound)
            arguments.append(f"{argument}={python_literal(value)}")
    return arguments


def _shown_default(item: FieldIR) -> str:
    """Help shows the schema's default; the option itself defaults to None (not given),
    so the schema, not the CLI, fills it."""
    default = item.default
    if default is None or default.kind not in ("literal", "enum"):
        return "False"
    value = default.value
    if value is None:
        return "False"
    if value == "":
        return python_literal('""')
    return python_literal(default.text if isinstance(value, dict | list) else str(value))


# --------------------------------------------------------------------------- operations


def _operation_module(
    ir: ProjectIR,
    operation: OperationIR,
    templates: TemplateSet,
    header: str,
    first_party: tuple[str, ...],
    source: str,
) -> str:
    """`source` names the setting of `cli.settings` the command runs on."""
    function = snake_identifier(operation.name)
    imports = Imports(reserved={"COMMAND", function, "json_body", "json_file", "values"})
    imports.names(RUNTIME, "OperationCommand", "run_operation_command")
    imports.names(f"{PACKAGE}.settings", source)
    schema = ir.schema(operation.inputs.schema_id) if operation.inputs.schema_id else None
    options = _options(operation.inputs.fields, ir, imports, mark_required=True) if schema else []
    if schema is not None:
        imports.names(RUNTIME, "JsonBody", "JsonFile")
    inputs = f"{schema.module}:{schema.name}" if schema else None
    body_keys = [option.body_key(imports.name(RUNTIME, "BodyKey")) for option in options]
    return templates.render(
        "cli/operation_command.py.j2",
        header=header,
        imports=imports.blocks(first_party),
        operation=operation,
        function=function,
        body_keys=body_keys,
        name=python_literal(operation.name),
        target=python_literal(f"{operation.module}:{operation.function}"),
        inputs=python_literal(inputs),
        takes_body=schema is not None,
        options=options,
        docstring=_summary(operation),
        source=source,
    )


def _summary(operation: OperationIR) -> str:
    text = operation.description or (operation.docstring or "").strip().split("\n\n")[0]
    return " ".join(text.split()) or f"Run the {operation.name} operation."


# --------------------------------------------------------------------------- models


def _body_fields(model: ModelIR) -> list[FieldIR]:
    """The fields a create or an update takes: as the API's body schemas, without the
    id and the back-links Beanie computes."""
    return [f for f in model.fields if f.name != "id" and not is_backlink(f.type_info)]


def _columns(model: ModelIR) -> list[str]:
    """The keys of the records (as the API answers them) that `models list` shows."""
    if model.ui.list_fields:
        keys = {item.name: item.output_key for item in model.fields}
        return [keys.get(name, name) for name in model.ui.list_fields]
    hidden = set(model.ui.hidden_fields)
    columns = []
    for item in _body_fields(model):
        column = OPTION_KINDS[item.type_info.kind].column or bool(link_target(item.type_info))
        if item.name not in hidden and column:
            columns.append(item.output_key)
    return columns[:LIST_COLUMNS]


def _linked_model(item: FieldIR) -> str | None:
    target = link_target(item.type_info)
    return target[0] if target else None


_LABEL_KINDS = frozenset({TypeKind.STR, TypeKind.EMAIL, TypeKind.URL})
"""Kinds a record can be named by when its model names no `ui.primary_field` (as the admin)."""


def _link_columns(
    ir: ProjectIR, model: ModelIR, columns: list[str], target_routes: dict[str, str]
) -> list[tuple[str, str, str, str]]:
    """(column, target model, its routes module, its label key) per column of links whose
    cells show the target's primary field, as the admin does, rather than ids."""
    found = []
    for item in model.fields:
        target = ir.model(_linked_model(item) or "")
        if item.output_key not in columns or target is None or target.name not in target_routes:
            continue
        hidden = set(target.ui.hidden_fields)
        label = next(
            (
                f
                for f in target.fields
                if f.name == target.ui.primary_field
                or (
                    not target.ui.primary_field
                    and f.type_info.kind in _LABEL_KINDS
                    and f.name not in hidden
                )
            ),
            None,
        )
        if label is not None:
            found.append(
                (item.output_key, target.name, target_routes[target.name], label.output_key)
            )
    return found


def _model_module(
    ir: ProjectIR,
    model: ModelIR,
    templates: TemplateSet,
    routes: str,
    target_routes: tuple[tuple[str, str], ...],
    default_limit: int,
    header: str,
    first_party: tuple[str, ...],
    source: str,
) -> str:
    """`source` names the setting of `cli.settings` the commands run on."""
    verbs = (
        "list_records",
        "get_record",
        "create_record",
        "update_record",
        "delete_record",
        "restore_record",
    )
    # A read-only field with a default is the server's to set: no option. One without a
    # default is given on create; the body schema refuses it on update.
    read_only = set(model.read_only_fields())
    fields = [f for f in _body_fields(model) if f.name not in read_only or f.required]
    # Option parameters become keyword parameters of `create` and `update` beside these.
    imports = Imports(reserved={"COMMANDS", "id", "json_body", "json_file", *verbs})
    imports.names(RUNTIME, "ModelCommands", "JsonOutput", "RecordId")
    imports.names(RUNTIME, "Filters", "Search", "Sort", "Limit", "Offset", "Yes")
    imports.names(RUNTIME, *(f"{verb.split('_')[0]}_command" for verb in verbs[:5]))
    if model.soft_delete:
        imports.names(RUNTIME, "restore_command")
    imports.names(f"{PACKAGE}.settings", source)
    options = _options(fields, ir, imports, mark_required=False)
    field_option = imports.name(RUNTIME, "FieldOption") if options else ""
    # A field's key names its parameter too, unless it is no identifier or clashes.
    field_options = []
    for option in options:
        arguments = [python_literal(option.key), option.annotation]
        if option.json:
            arguments.append("json=True")
        if option.parameter != option.key:
            arguments.append(f"parameter={python_literal(option.parameter)}")
        if option.required:
            arguments.append("required=True")
        if option.none:
            arguments.append("none=True")
        field_options.append(f"{field_option}({', '.join(arguments)})")
    columns = _columns(model)
    link_columns = []
    for column, target, target_module, label in _link_columns(
        ir, model, columns, dict(target_routes)
    ):
        link_class = imports.name(RUNTIME, "LinkColumn")
        arguments = ", ".join(map(python_literal, (column, target, target_module, label)))
        link_columns.append(f"{link_class}({arguments})")
    base = pascal_identifier(model.name)
    return templates.render(
        "cli/model_commands.py.j2",
        header=header,
        imports=imports.blocks(first_party),
        model=model,
        name=python_literal(model.name),
        routes=python_literal(routes),
        create_schema=python_literal(f"{base}Create"),
        patch_schema=python_literal(f"{base}Patch"),
        columns=[python_literal(c) for c in columns],
        link_columns=link_columns,
        default_limit=default_limit,
        options=field_options,
        source=source,
    )


# --------------------------------------------------------------------------- app


class _OperationEntry(NamedTuple):
    """What `app.py` reads of an operation."""

    name: str
    module: str
    category: str | None
    summary: str


class _ModelEntry(NamedTuple):
    """What `app.py` reads of a model."""

    name: str
    module: str
    panel: str | None
    """Its first tag: the help panel its commands are listed in."""
    soft_delete: bool


def _app_module(
    templates: TemplateSet,
    project: str,
    operation_entries: list[_OperationEntry],
    model_entries: list[_ModelEntry],
    header: str,
    extension_targets: list[str],
    roles: list[str] | None,
) -> str:
    """`roles` are the app's with `auth: users`, which adds the `users` commands and, as
    the data commands then go through the API, `login` and `logout`."""
    imports = Imports(reserved={"app", "ops", "models", "db", "users", "login", "logout"})
    imports.names(RUNTIME, "CommandGroup", "LazyCommand", "LazyGroup")
    if roles is not None:
        imports.names("jobhunter_runtime.user_commands", "users_group")
        imports.names(API_CLIENT, "sign_in_commands")
        imports.names(f"{PACKAGE}.settings", "API", "DATABASE")
    if extension_targets:
        imports.names(RUNTIME, "ExtendedGroup", "LazyApp")
    extensions = [
        _LazyRow(
            name=python_literal(extension_group(target)),
            target=python_literal(target),
            help=python_literal(f"Commands of {target} (cli.extensions)."),
            panel=None,
        )
        for target in extension_targets
    ]
    operations = [
        _LazyRow(
            name=python_literal(operation.name),
            target=python_literal(
                f"{PACKAGE}.operations.{operation.module}:{snake_identifier(operation.name)}"
            ),
            help=python_literal(operation.summary),
            panel=python_literal(operation.category) if operation.category else None,
        )
        for operation in operation_entries
    ]
    verbs = (
        ("list", "list_records", "List the records of a model.", "List {} records."),
        ("get", "get_record", "Show one record.", "Show one {}."),
        ("create", "create_record", "Create a record.", "Create {a}."),
        ("update", "update_record", "Change fields of a record.", "Change fields of {a}."),
        (
            "delete",
            "delete_record",
            "Delete a record (it asks first; --yes does not).",
            "Delete {a} (it asks first; --yes does not).",
        ),
        ("restore", "restore_record", "Restore a deleted record.", "Restore a deleted {}."),
    )
    # Spelled once per model, not once per verb: a thousand models make five thousand rows.
    models = [
        (
            model.name,
            python_literal(model.name),
            f"{PACKAGE}.models.{model.module}",
            python_literal(model.panel) if model.panel is not None else None,
            model.soft_delete,
        )
        for model in model_entries
    ]
    model_groups = []
    for verb, function, group_help, text in verbs:
        rows = [
            _LazyRow(
                literal,
                python_literal(f"{module}:{function}"),
                python_literal(text.format(name, a=with_article(name))),
                panel,
            )
            for name, literal, module, panel, soft_delete in models
            if soft_delete or verb != "restore"  # only a soft delete keeps what to restore
        ]
        if rows or verb != "restore":
            model_groups.append((python_literal(verb), python_literal(group_help), rows))
    return templates.render(
        "cli/app.py.j2",
        header=header,
        imports=imports.blocks(("jobhunter_compiler",)),
        project=project,
        help=python_literal(_app_help(project, through_api=roles is not None)),
        operations=operations,
        model_groups=model_groups,
        extensions=extensions,
        roles=python_literal(roles) if roles is not None else None,
        through_api=roles is not None,
    )


def _app_help(project: str, *, through_api: bool) -> str:
    """The CLI's help, which says where its data commands go."""
    if through_api:
        return f"Operations and records of {project}, through its API (sign in with `login`)."
    return f"Operations and records of {project}, straight from its database."


class _LazyRow(NamedTuple):
    """One `LazyCommand(...)` line, every part spelled as Python already."""

    name: str
    target: str
    help: str
    panel: str | None
