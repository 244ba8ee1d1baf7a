"""Both passes of the resolve stage, and the memo that lets an edit re-resolve only the
files it touched (see the package docstring)."""

from __future__ import annotations

import hashlib
import keyword
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter

from ..config import Config
from ..diagnostics import Diagnostic, did_you_mean
from ..ir import (
    DefaultValue,
    EdgeIR,
    EnumIR,
    FieldIR,
    IndexIR,
    ModelIR,
    NodeDigests,
    OperationIO,
    OperationIR,
    ProjectIR,
    SchemaIR,
    SourceRef,
    TypeRef,
    node_label,
)
from ..scan.scanner import ScannedFile, ScanResult
from ..scan.summary import ClassSummary, Expr, FunctionSummary
from .aliases import class_config, with_aliases
from .context import ClassKind, Context, NotLiteral, Trace
from .decorator_calls import DecoratorUse, check_name, dict_value, find_decorator, read_arguments
from .enums import build_enum
from .fields import check_json_names, class_fields, ensure_schema, qualified_bases
from .memo import NodeRecord, ResolveMemo, UnitRecord, memo_key
from .symbols import ClassTarget, SymbolTable

T = TypeVar("T")

_INDEX_CONSTANTS = {
    "pymongo.ASCENDING": 1,
    "pymongo.DESCENDING": -1,
    "pymongo.TEXT": "text",
    "pymongo.HASHED": "hashed",
    "pymongo.GEO2D": "2d",
    "pymongo.GEOSPHERE": "2dsphere",
}
_KIND_NAMES = {
    ClassKind.MODEL: "a pydantic BaseModel",
    ClassKind.ENUM: "an Enum",
    ClassKind.OTHER: "a plain class",
}
_UI_FIELD_LISTS = (
    "list_fields",
    "searchable_fields",
    "sortable_fields",
    "hidden_fields",
    "readonly_fields",
)


class Resolution(BaseModel):
    """What `build_ir` gives the pipeline."""

    ir: ProjectIR
    diagnostics: list[Diagnostic]
    files_resolved: list[str]
    """Discovered files resolved in this call; the others' nodes came from the memo."""
    digests: NodeDigests
    """Of every node of `ir`, as resolved (see `NodeDigests`)."""


RESOLVE_STACK_BYTES = 256 * 1024 * 1024
RESOLVE_RECURSION_LIMIT = 20_000
"""Resolving a schema nested in a schema costs about ten frames per level: the default
limit (1,000) stopped at ~90 levels; this one, on a stack of its own, at ~1,900."""


class NestingTooDeep(Exception):
    """Resolving a file's declarations recursed past `RESOLVE_RECURSION_LIMIT`."""

    def __init__(self, path: str, line: int) -> None:
        super().__init__(f"{path}:{line}")
        self.path = path
        self.line = line


def build_ir(
    scan: ScanResult, config: Config, project: str, memo: ResolveMemo | None = None
) -> Resolution:
    """The IR of the scanned files. With a `memo` (see memo.py), files whose resolution
    read nothing that changed are taken from it instead, and the memo is brought up to
    date. Raises NestingTooDeep (the memo is then half updated: do not save it)."""
    return _on_deep_stack(lambda: _build_ir(scan, config, project, memo))


def _on_deep_stack(function: Callable[[], T]) -> T:
    """`function()` on a thread with a large stack and a raised recursion limit."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    previous_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(RESOLVE_RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=run, name="jobhunter-resolve", daemon=True)
        previous_size = threading.stack_size(RESOLVE_STACK_BYTES)
        try:
            thread.start()
        finally:
            threading.stack_size(previous_size)  # for threads started after this one
        thread.join()
    finally:
        sys.setrecursionlimit(previous_limit)
    if failure:
        raise failure[0]
    return outcome[0]


def _build_ir(
    scan: ScanResult, config: Config, project: str, memo: ResolveMemo | None
) -> Resolution:
    memo = memo if memo is not None else ResolveMemo()
    ctx = Context(SymbolTable(scan.files), build_enum, ensure_schema)
    digests = {file.source.module: file.digest for file in scan.files}
    files = [f for f in scan.files if f.source.discovered and f.header.syntax_error is None]

    # Pass 1: what every file declares, so that model names are known before any field
    # type refers to one (`Link["Job"]` may point at a later file).
    kept: dict[str, UnitRecord] = {}
    live: dict[str, _Unit] = {}
    for file in files:
        record = memo.units.get(file.source.path)
        if record is not None and memo.current(record.declared_reads, digests):
            kept[file.source.path] = record
        else:
            live[file.source.path] = _declare(ctx, file, config)
    for file in files:
        path = file.source.path
        declared = kept[path].declared if path in kept else live[path].declared
        ctx.model_names.update(declared)
    names = _names_digest(ctx.model_names)

    # Pass 2: models, operations and everything they reference (schemas, enums).
    for file in files:
        path = file.source.path
        if path in kept and memo.reusable(kept[path], digests, names):
            continue
        kept.pop(path, None)
        unit = live[path] if path in live else _declare(ctx, file, config)
        live[path] = unit
        try:
            _build(ctx, unit)
        except RecursionError:
            uses = [use for _, use in [*unit.models, *unit.operations]]
            raise NestingTooDeep(path, min(use.expr.line for use in uses)) from None
        memo.units[path] = _record(unit, digests, names)

    for node_id, schema in ctx.schemas.items():
        memo.schemas[node_id] = _node_record(schema, ctx.schema_traces[node_id], digests, names)
    for node_id, enum in ctx.enums.items():
        memo.enums[node_id] = _node_record(enum, ctx.enum_traces[node_id], digests, names)
    memo.prune({file.source.path for file in files})
    return _assemble(project, ctx, [*live.values()], [*kept.values()], memo)


@dataclass
class _Unit:
    """One discovered file being resolved in this compile."""

    file: ScannedFile
    trace: Trace = field(default_factory=Trace)
    models: list[tuple[ClassTarget, DecoratorUse]] = field(default_factory=list)
    operations: list[tuple[FunctionSummary, DecoratorUse]] = field(default_factory=list)
    declared_reads: set[str] = field(default_factory=set)
    model_irs: list[ModelIR] = field(default_factory=list)
    operation_irs: list[OperationIR] = field(default_factory=list)
    inherits: list[tuple[str, str]] = field(default_factory=list)

    @property
    def declared(self) -> list[tuple[str, str]]:
        return [(cls.id, use.values.get("name", cls.summary.name)) for cls, use in self.models]


def _declare(ctx: Context, file: ScannedFile, config: Config) -> _Unit:
    unit = _Unit(file)
    module = file.source.module
    with ctx.tracing(unit.trace):
        unit.trace.modules.add(module)
        for cls in file.summary.classes:
            use = _decorator(ctx, module, cls.decorators, config, cls)
            if use is not None and use.kind == "datamodel":
                unit.models.append((ClassTarget(module, cls), use))
        for function in file.summary.functions:
            use = _decorator(ctx, module, function.decorators, config, function)
            if use is not None and use.kind == "operation":
                unit.operations.append((function, use))
        uses = [use for _, use in [*unit.models, *unit.operations]]
        if uses and not _importable(module):
            message = f"{file.source.path} cannot be imported: '{module}' is not a module name"
            ctx.report("JH013", message, module, min(uses, key=lambda u: u.expr.line).expr)
    unit.declared_reads = set(unit.trace.modules)
    return unit


def _importable(module: str) -> bool:
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in module.split("."))


def _build(ctx: Context, unit: _Unit) -> None:
    module = unit.file.source.module
    with ctx.tracing(unit.trace):
        unit.model_irs = [_model(ctx, cls, use) for cls, use in unit.models]
        unit.operation_irs = [_operation(ctx, module, f, use) for f, use in unit.operations]
        for cls, _ in unit.models:
            for base in ctx.base_targets(cls):
                base_model = ctx.model_name(base.id) if isinstance(base, ClassTarget) else None
                if base_model is not None:
                    unit.inherits.append((ctx.model_names[cls.id], base_model))


def _names_digest(model_names: dict[str, str]) -> str:
    return memo_key(*(f"{class_id}={name}" for class_id, name in sorted(model_names.items())))


def _reads(modules: set[str], digests: dict[str, str]) -> dict[str, str]:
    return {module: digests[module] for module in sorted(modules) if module in digests}


def _record(unit: _Unit, digests: dict[str, str], names: str) -> UnitRecord:
    trace = unit.trace
    return UnitRecord(
        declared_reads=_reads(unit.declared_reads, digests),
        declared=unit.declared,
        reads=_reads(trace.modules, digests),
        names=names if trace.names else None,
        models=[m.model_dump_json(exclude_defaults=True).encode() for m in unit.model_irs],
        operations=[o.model_dump_json(exclude_defaults=True).encode() for o in unit.operation_irs],
        schemas=sorted(trace.schemas),
        enums=sorted(trace.enums),
        diagnostics=[d.model_dump_json().encode() for d in trace.diagnostics.values()],
        inherits=unit.inherits,
    )


def _node_record(
    node: SchemaIR | EnumIR, trace: Trace, digests: dict[str, str], names: str
) -> NodeRecord:
    return NodeRecord(
        json=node.model_dump_json(exclude_defaults=True).encode(),
        reads=_reads(trace.modules, digests),
        names=names if trace.names else None,
    )


def _assemble(
    project: str, ctx: Context, live: list[_Unit], kept: list[UnitRecord], memo: ResolveMemo
) -> Resolution:
    """The IR from this compile's units and the memo's, each kind of node validated from
    the memo in one go, and every node's digest from the JSON the memo keeps of it."""
    schemas: dict[str, SchemaIR] = dict(ctx.schemas)
    enums: dict[str, EnumIR] = dict(ctx.enums)
    sources: list[tuple[list[Any], list[bytes]]] = [
        ([*ctx.schemas.values()], [memo.schemas[k].json for k in ctx.schemas]),
        ([*ctx.enums.values()], [memo.enums[k].json for k in ctx.enums]),
    ]
    for unit in live:
        record = memo.units[unit.file.source.path]
        sources.append((unit.model_irs, record.models))
        sources.append((unit.operation_irs, record.operations))
    wanted_schemas = [
        memo.schemas[s].json for s in sorted(_reached(kept, "schemas") - ctx.schemas.keys())
    ]
    wanted_enums = [memo.enums[e].json for e in sorted(_reached(kept, "enums") - ctx.enums.keys())]
    kept_models = [m for u in kept for m in u.models]
    kept_operations = [o for u in kept for o in u.operations]
    kept_schema_irs = _load(_SCHEMAS, wanted_schemas)
    kept_enum_irs = _load(_ENUMS, wanted_enums)
    kept_model_irs = _load(_MODELS, kept_models)
    kept_operation_irs = _load(_OPERATIONS, kept_operations)
    sources += [
        (kept_schema_irs, wanted_schemas),
        (kept_enum_irs, wanted_enums),
        (kept_model_irs, kept_models),
        (kept_operation_irs, kept_operations),
    ]
    schemas.update((schema.id, schema) for schema in kept_schema_irs)
    enums.update((enum.id, enum) for enum in kept_enum_irs)
    models = [m for u in live for m in u.model_irs] + kept_model_irs
    operations = [o for u in live for o in u.operation_irs] + kept_operation_irs
    diagnostics = {
        d.model_dump_json(): d
        for d in [
            *(d for u in live for d in u.trace.diagnostics.values()),
            *_load(_DIAGNOSTICS, [d for u in kept for d in u.diagnostics]),
        ]
    }
    inherits = [pair for u in live for pair in u.inherits]
    inherits += [pair for u in kept for pair in u.inherits]
    ir = ProjectIR(
        project=project,
        models=sorted(models, key=lambda m: (m.name, m.module)),
        operations=sorted(operations, key=lambda o: (o.name, o.module)),
        schemas=[schemas[k] for k in sorted(schemas)],
        enums=[enums[k] for k in sorted(enums)],
        edges=_edges(models, operations, inherits),
    )
    digests = {
        node_label(node): hashlib.sha256(data).hexdigest()
        for nodes, items in sources
        for node, data in zip(nodes, items, strict=True)
    }
    return Resolution(
        ir=ir,
        diagnostics=[*diagnostics.values()],
        files_resolved=sorted(unit.file.source.path for unit in live),
        digests=digests,
    )


def _reached(kept: list[UnitRecord], kind: Literal["schemas", "enums"]) -> set[str]:
    return {node_id for unit in kept for node_id in getattr(unit, kind)}


_MODELS = TypeAdapter(list[ModelIR])
_OPERATIONS = TypeAdapter(list[OperationIR])
_SCHEMAS = TypeAdapter(list[SchemaIR])
_ENUMS = TypeAdapter(list[EnumIR])
_DIAGNOSTICS = TypeAdapter(list[Diagnostic])


def _load(adapter: TypeAdapter[list[T]], items: list[bytes]) -> list[T]:
    """Validate many JSON documents in one call into pydantic-core."""
    if not items:
        return []
    return adapter.validate_json(b"[" + b",".join(items) + b"]")


def _decorator(
    ctx: Context,
    module: str,
    decorators: list[Expr],
    config: Config,
    node: ClassSummary | FunctionSummary,
) -> DecoratorUse | None:
    use = find_decorator(ctx, module, decorators, config.decorator_modules)
    if use is None:
        return None
    expected = "datamodel" if isinstance(node, ClassSummary) else "operation"
    if use.kind != expected:
        what = "class" if expected == "datamodel" else "function"
        ctx.report("JH105", f"@{use.kind} cannot decorate {what} '{node.name}'", module, use.expr)
        return None
    read_arguments(ctx, module, use)
    return use


# -- models -----------------------------------------------------------------------------


def _model(ctx: Context, cls: ClassTarget, use: DecoratorUse) -> ModelIR:
    summary = cls.summary
    kind = ctx.class_kind(cls)
    is_document = kind in (ClassKind.DOCUMENT, ClassKind.UNKNOWN)
    if UNION_DOC_BASE in ctx.external_bases(cls):
        is_document = False
        ctx.report(
            "JH105",
            f"@datamodel class '{summary.name}' is a UnionDoc, which holds no records of its "
            "own: decorate the Documents whose Settings.union_doc names it",
            cls.module,
            (summary.line, summary.col),
        )
    elif not is_document:
        ctx.report(
            "JH105",
            f"@datamodel class '{summary.name}' is not a beanie Document "
            f"(it is {_KIND_NAMES[kind]})",
            cls.module,
            (summary.line, summary.col),
        )
    if "name" not in use.arguments:
        check_name(ctx, cls.module, "datamodel", summary.name, (summary.line, summary.col))
    # Not a Document: its attributes are not fields, and saying so for each would bury
    # the one error that matters.
    config = class_config(ctx, cls)
    fields = with_aliases(class_fields(ctx, cls), config) if is_document else []
    soft_delete = is_document and SOFT_DELETE_BASE in ctx.external_bases(cls)
    if soft_delete and not any(f.name == DELETED_AT for f in fields):
        where = _source(ctx, cls.module, summary.line, summary.col)
        fields = [_deleted_at(where), *fields]
    check_json_names(ctx, cls, fields, reserved=("id", "_id"))
    if (
        is_document
        and config.alias_generator is not None
        and not any(f.name == "id" and f.alias == "_id" for f in fields)
    ):
        message = (
            f"the alias generator of {summary.name} renames Beanie's `id` (stored as `_id`), "
            "so records lose their ids when read back"
        )
        ctx.report("JH214", message, cls.module, (summary.line, summary.col))
    values = use.values
    model = ModelIR(
        name=ctx.model_names[cls.id],
        class_name=summary.name,
        module=cls.module,
        source=_source(ctx, cls.module, summary.line, summary.col),
        description=values.get("description"),
        docstring=ctx.text(cls.module, (summary.line, summary.col), summary.docstring),
        tags=values.get("tags", []),
        relations=values.get("relations", []),
        permissions=values.get("permissions", {}),
        collection=summary.name,
        soft_delete=soft_delete,
        populate_by_name=config.populate_by_name is not False,  # Beanie's Document sets it
        bases=qualified_bases(ctx, cls),
        fields=fields,
    )
    if "ui" in values:
        model.ui = values["ui"]
        _check_ui_fields(ctx, cls.module, use, model)
    if is_document:
        _check_collection_class(ctx, cls)
    model.collection = _collection_name(ctx, cls)
    settings_owner = _settings_owner(ctx, cls)
    if settings_owner is not None and settings_owner.summary.settings is not None:
        settings = settings_owner.summary.settings
        model.indexes = _indexes(ctx, settings_owner.module, settings.indexes)
        if settings.union_doc is not None:
            _join_union(ctx, cls, settings_owner, model)
    lineage = _hierarchy(ctx, cls)
    if lineage:
        model.collection = _collection_name(ctx, lineage[0])
        model.class_id = ".".join(member.summary.name for member in lineage)
        model.init_with = [member.id for member in lineage[:-1]]
    return model


def _collection_name(ctx: Context, cls: ClassTarget) -> str:
    """`Settings.name` (its own or a base's), else the class name, as Beanie names it."""
    owner = _settings_owner(ctx, cls)
    settings = owner.summary.settings if owner is not None else None
    if owner is None or settings is None or settings.name is None:
        return cls.summary.name
    collection = _literal_or_report(ctx, owner.module, settings.name, "Settings.name")
    if not isinstance(collection, str):
        return cls.summary.name
    _check_collection(ctx, owner.module, settings.name, collection)
    return collection


def _hierarchy(ctx: Context, cls: ClassTarget, depth: int = 0) -> list[ClassTarget]:
    """The classes from a `Settings.is_root = True` Document down to `cls`, which share
    the root's collection; empty when `cls` is in no such hierarchy."""
    settings = cls.summary.settings
    if settings is not None and ctx.literal_or_none(cls.module, settings.is_root) is True:
        return [cls]
    if depth > 32:
        return []
    for base in ctx.base_targets(cls):
        if isinstance(base, ClassTarget):
            lineage = _hierarchy(ctx, base, depth + 1)
            if lineage:
                return [*lineage, cls]
    return []


def _join_union(ctx: Context, cls: ClassTarget, owner: ClassTarget, model: ModelIR) -> None:
    """A `Settings.union_doc` member: its records live in the UnionDoc's collection, told
    apart by its own `Settings.name` (the class name unless set), as Beanie registers it."""
    settings = owner.summary.settings
    assert settings is not None and settings.union_doc is not None
    union = ctx.resolve_expr(owner.module, settings.union_doc)
    if not isinstance(union, ClassTarget) or UNION_DOC_BASE not in ctx.external_bases(union):
        message = f"Settings.union_doc of {cls.summary.name} must name a UnionDoc class"
        ctx.report("JH104", message, owner.module, settings.union_doc)
        return
    model.collection = _collection_name(ctx, union)
    model.init_with = [union.id]
    alias = ctx.literal_or_none(owner.module, settings.name)
    model.class_id = alias if isinstance(alias, str) else cls.summary.name


SOFT_DELETE_BASE = "beanie.DocumentWithSoftDelete"
UNION_DOC_BASE = "beanie.UnionDoc"
DELETED_AT = "deleted_at"


def _deleted_at(where: SourceRef) -> FieldIR:
    """The field `DocumentWithSoftDelete` declares, which a soft delete sets."""
    return FieldIR(
        name=DELETED_AT,
        type="datetime | None",
        type_info=TypeRef(kind="datetime", nullable=True),
        required=False,
        default=DefaultValue(kind="literal", value=None, text="None"),
        source=where,
        inherited_from=SOFT_DELETE_BASE,
    )


TASK_RUN_COLLECTION = "task_runs"
"""Where the runtime keeps TaskRun records (`jobhunter_runtime.taskrun.TaskRun`)."""
USER_COLLECTION = "jobhunter_users"
"""Where `auth: users` keeps the app's users (`jobhunter_runtime.users.AppUser`)."""
MAX_COLLECTION_BYTES = 200
"""MongoDB caps `<database>.<collection>` at 255 bytes; the database is named at run time."""


def _check_collection(ctx: Context, module: str, where: Expr, name: str) -> None:
    """MongoDB's rules for collection names, checked before the generated API meets them."""
    problem = None
    if not name:
        problem = "is empty"
    elif "\x00" in name:
        problem = "holds a NUL character"
    elif "$" in name:
        problem = "holds '$'"
    elif name.startswith("system."):
        problem = "starts with 'system.', which MongoDB reserves"
    elif len(name.encode()) > MAX_COLLECTION_BYTES:
        problem = f"is {len(name.encode())} bytes long"
    elif name == TASK_RUN_COLLECTION:
        problem = "is where the TaskRun records are kept"
    elif name == USER_COLLECTION:
        problem = "is where the app's users are kept"
    if problem is not None:
        ctx.report("JH208", f"collection name {name!r} {problem}", module, where)


def _check_collection_class(ctx: Context, cls: ClassTarget, depth: int = 0) -> None:
    """Beanie 2 refuses a Document that has a `Collection` attribute, its own or a base's."""
    if depth > 32:
        return
    if cls.summary.collection_class is not None:
        message = f"{cls.summary.name} declares `class Collection`, Beanie 1's `class Settings`"
        ctx.report("JH212", message, cls.module, cls.summary.collection_class)
        return
    for base in ctx.base_targets(cls):
        if isinstance(base, ClassTarget):
            _check_collection_class(ctx, base, depth + 1)


def _settings_owner(ctx: Context, cls: ClassTarget, depth: int = 0) -> ClassTarget | None:
    """The class whose `Settings` applies: the model's own, else the nearest base's (plain
    attribute inheritance, as Beanie reads it)."""
    if cls.summary.settings is not None or depth > 32:
        return cls
    for base in ctx.base_targets(cls):
        if isinstance(base, ClassTarget):
            owner = _settings_owner(ctx, base, depth + 1)
            if owner is not None and owner.summary.settings is not None:
                return owner
    return None


def _check_ui_fields(ctx: Context, module: str, use: DecoratorUse, model: ModelIR) -> None:
    names = {f.name for f in model.fields}
    ui_expr = use.arguments["ui"]
    ui = model.ui
    referenced: list[tuple[str, str]] = [
        (key, name) for key in _UI_FIELD_LISTS for name in getattr(ui, key)
    ]
    if ui.primary_field is not None:
        referenced.append(("primary_field", ui.primary_field))
    referenced += [("widgets", name) for name in ui.widgets]
    referenced += [("on_delete", name) for name in ui.on_delete]
    referenced += [
        ("detail_sections", name) for section in ui.detail_sections for name in section.fields
    ]
    for key, name in referenced:
        if name not in names:
            where = _string_in(dict_value(ui_expr, key), name)
            ctx.report(
                "JH204",
                f"ui.{key} names '{name}', which is not a field of {model.name}",
                module,
                where,
                did_you_mean(name, names),
            )
    required = {f.name for f in model.fields if f.required}
    for name in ui.readonly_fields:
        if name in required:
            ctx.report(
                "JH211",
                f"ui.readonly_fields names '{name}', which has no default: a create must "
                "give it, so the API and CLI take it on create only (written once)",
                module,
                _string_in(dict_value(ui_expr, "readonly_fields"), name),
            )
    _check_on_delete(ctx, module, dict_value(ui_expr, "on_delete"), model)


def _check_on_delete(ctx: Context, module: str, expr: Expr, model: ModelIR) -> None:
    """`ui.on_delete` names links to a model; `set_null` only links that can be cleared."""
    fields = {f.name: f for f in model.fields}
    for name, rule in model.ui.on_delete.items():
        item = fields.get(name)
        if item is None:
            continue  # JH204 said so
        type_ref = item.type_info
        many = type_ref.kind == "list" and bool(type_ref.args)
        target = type_ref.args[0] if many else type_ref
        if target.kind != "link":
            ctx.report(
                "JH220",
                f"ui.on_delete names '{name}', which is no link to a model ({item.type})",
                module,
                _string_in(expr, name),
            )
        elif rule == "set_null" and not many and not type_ref.nullable:
            ctx.report(
                "JH221",
                f"ui.on_delete sets '{name}' to set_null, but {model.name}.{name} is a "
                "required link",
                module,
                _string_in(expr, name),
            )


def _string_in(expr: Expr, value: str) -> Expr:
    """The string constant `value` inside `expr`, for a precise caret; else `expr`."""
    return _find_string(expr, value) or expr


def _find_string(expr: Expr, value: str) -> Expr | None:
    if expr.kind == "const" and expr.value == value:
        return expr
    for child in (*expr.items, *expr.values):
        found = _find_string(child, value)
        if found is not None:
            return found
    return None


def _indexes(ctx: Context, module: str, expr: Expr | None) -> list[IndexIR]:
    if expr is None:
        return []
    if expr.kind not in ("list", "tuple"):
        return [IndexIR(keys=[], text=expr.to_source())]
    return [_index(ctx, module, item) for item in expr.items]


def _index(ctx: Context, module: str, expr: Expr) -> IndexIR:
    """Beanie accepts a field name, a list of (field, direction) pairs, or an IndexModel."""
    text = expr.to_source()
    name: Any = None
    unique: Any = False
    keys_expr = expr
    if (
        expr.kind == "call"
        and ctx.symbols.qualname(module, expr.name or "") == "pymongo.IndexModel"
    ):
        keys_expr = expr.items[0] if expr.items else expr.keyword("keys") or expr
        name = ctx.literal_or_none(module, expr.keyword("name"))
        unique = ctx.literal_or_none(module, expr.keyword("unique")) is True
    keys = _index_keys(ctx, module, keys_expr)
    return IndexIR(
        keys=keys or [],
        name=name if isinstance(name, str) else None,
        unique=bool(unique),
        text=text,
    )


def _index_keys(ctx: Context, module: str, expr: Expr) -> list[tuple[str, Any]] | None:
    if expr.kind == "const" and isinstance(expr.value, str):
        return [(ctx.text(module, expr, expr.value), 1)]
    if expr.kind == "tuple" and len(expr.items) == 2 and expr.items[0].kind == "const":
        field, direction = expr.items
        if isinstance(field.value, str):
            return [(ctx.text(module, field, field.value), _direction(ctx, module, direction))]
    if expr.kind in ("list", "tuple"):
        keys = [_index_keys(ctx, module, item) for item in expr.items]
        if all(k is not None for k in keys):
            return [pair for k in keys if k for pair in k]
    return None


def _direction(ctx: Context, module: str, expr: Expr) -> Any:
    if expr.kind == "name" and expr.name:
        qualname = ctx.symbols.qualname(module, expr.name)
        if qualname in _INDEX_CONSTANTS:
            return _INDEX_CONSTANTS[qualname]
    return ctx.literal_or_none(module, expr)


# -- operations -------------------------------------------------------------------------


def _operation(
    ctx: Context, module: str, function: FunctionSummary, use: DecoratorUse
) -> OperationIR:
    values = use.values
    name = values.get("name", function.name)
    if "name" not in use.arguments:
        check_name(ctx, module, "operation", name, (function.line, function.col))
    models_in = _known_models(ctx, module, use, "models_in")
    models_out = _known_models(ctx, module, use, "models_out")
    first_parameter = next((p for p in function.parameters if p.annotation is not None), None)
    inputs = _io(
        ctx,
        module,
        use.arguments.get("inputs") or (first_parameter and first_parameter.annotation),
        "inputs",
    )
    outputs = _io(ctx, module, use.arguments.get("outputs") or function.returns, "outputs")
    timeout = values.get("timeout_s")
    return OperationIR(
        name=name,
        function=function.name,
        module=module,
        source=_source(ctx, module, function.line, function.col),
        description=values.get("description"),
        docstring=ctx.text(module, (function.line, function.col), function.docstring),
        category=values.get("category"),
        tags=values.get("tags", []),
        is_async=function.is_async,
        async_enabled=values.get("async_enabled", True),
        retries=values.get("retries", 0),
        timeout_s=float(timeout) if timeout is not None else None,
        inputs=inputs,
        outputs=outputs,
        models_in=models_in,
        models_out=models_out,
        roles=values.get("roles"),
    )


def _known_models(ctx: Context, module: str, use: DecoratorUse, key: str) -> list[str]:
    names = use.values.get(key, [])
    known = ctx.known_model_names
    for name in names:
        if name not in known:
            where = _string_in(use.arguments[key], name)
            message = f"{key} names '{name}', which is not a @datamodel model"
            ctx.report("JH302", message, module, where, did_you_mean(name, known))
    return sorted(set(names) & known)


def _io(ctx: Context, module: str, expr: Expr | None, role: str) -> OperationIO:
    """An operation's inputs/outputs class: given in the decorator, else taken from the
    first annotated parameter (inputs) or the return annotation (outputs). Outputs may be
    any type (`-> dict`, `-> None`); they just have no schema to show."""
    if expr is None or (expr.kind == "const" and expr.value is None):
        return OperationIO()
    expr = expr.unquoted()
    target = ctx.resolve_expr(module, expr) if expr.kind == "name" else None
    if isinstance(target, ClassTarget) and ctx.is_pydantic(target):
        schema = ensure_schema(ctx, target)
        return OperationIO(schema_id=schema.id, fields=schema.fields)
    if expr.kind == "name" and target is None:
        ctx.report(
            "JH303", f"{role} class `{expr.to_source()}` is not defined or imported", module, expr
        )
    elif role == "inputs":
        ctx.report(
            "JH304", f"inputs `{expr.to_source()}` is not a pydantic BaseModel", module, expr
        )
    return OperationIO()


# -- graph ------------------------------------------------------------------------------


def _edges(
    models: list[ModelIR], operations: list[OperationIR], inherits: list[tuple[str, str]]
) -> list[EdgeIR]:
    edges: set[tuple[str, str, str, str | None]] = set()
    for operation in operations:
        for name in operation.models_in:
            edges.add((f"model:{name}", f"operation:{operation.name}", "reads", None))
        for name in operation.models_out:
            edges.add((f"operation:{operation.name}", f"model:{name}", "writes", None))
    for model in models:
        for model_field in model.fields:
            for kind, target in _references(model_field.type_info):
                edges.add((f"model:{model.name}", f"model:{target}", kind, model_field.name))
    for model_name, base_name in inherits:
        edges.add((f"model:{model_name}", f"model:{base_name}", "inherits", None))
    return [
        EdgeIR(source=s, target=t, kind=k, field=f)
        for s, t, k, f in sorted(edges, key=lambda e: (e[0], e[1], e[2], e[3] or ""))
    ]


def _references(type_info: TypeRef) -> list[tuple[str, str]]:
    found = []
    if type_info.kind in ("link", "backlink") and type_info.ref:
        found.append((type_info.kind, type_info.ref))
    for arg in type_info.args:
        found.extend(_references(arg))
    return found


# -- helpers ----------------------------------------------------------------------------


def _source(ctx: Context, module: str, line: int, col: int) -> SourceRef:
    return SourceRef(path=ctx.symbols.file(module).source.path, line=line, col=col)


def _literal_or_report(ctx: Context, module: str, expr: Expr, what: str) -> Any:
    try:
        return ctx.literal(module, expr)
    except NotLiteral as exc:
        ctx.report("JH101", f"{what} is not a literal: `{exc.expr.to_source()}`", module, exc.expr)
        return None
