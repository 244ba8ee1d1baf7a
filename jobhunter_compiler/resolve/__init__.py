"""Stage 2: file summaries -> the metadata graph (`ProjectIR`).

Works in two passes. First every decorated class and function in the discovered files is
found and its decorator read, so model names are known before any field type refers to
one (`Link["Job"]` may point at a later file). Then models, operations and everything they
reference (schemas, enums) are built. Problems local to one declaration are reported here,
where the expression and its position are at hand; cross-declaration checks live in
`checks.py`.
"""

from __future__ import annotations

from typing import Any

from ..config import Config
from ..diagnostics import Diagnostic, did_you_mean
from ..ir import EdgeIR, IndexIR, ModelIR, OperationIO, OperationIR, ProjectIR, SourceRef, TypeRef
from ..scan import ScanResult
from ..scan.summary import ClassSummary, Expr, FunctionSummary
from .context import ClassKind, Context, NotLiteral
from .decorators import DecoratorUse, check_name, dict_value, find_decorator, read_arguments
from .fields import class_fields, ensure_schema, qualified_bases
from .symbols import ClassTarget, SymbolTable

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


def build_ir(scan: ScanResult, config: Config, project: str) -> tuple[ProjectIR, list[Diagnostic]]:
    ctx = Context(SymbolTable(scan.files))
    models: list[tuple[ClassTarget, DecoratorUse]] = []
    operations: list[tuple[str, FunctionSummary, DecoratorUse]] = []
    for file in scan.files:
        if not file.source.discovered or file.summary.syntax_error is not None:
            continue
        module = file.source.module
        for cls in file.summary.classes:
            use = _decorator(ctx, module, cls.decorators, config, cls)
            if use is not None and use.kind == "datamodel":
                models.append((ClassTarget(module, cls), use))
        for function in file.summary.functions:
            use = _decorator(ctx, module, function.decorators, config, function)
            if use is not None and use.kind == "operation":
                operations.append((module, function, use))

    for cls, use in models:
        ctx.model_names[cls.id] = use.values.get("name", cls.summary.name)
    model_irs = [_model(ctx, cls, use) for cls, use in models]
    operation_irs = [_operation(ctx, module, function, use) for module, function, use in operations]
    ir = ProjectIR(
        project=project,
        models=sorted(model_irs, key=lambda m: (m.name, m.module)),
        operations=sorted(operation_irs, key=lambda o: (o.name, o.module)),
        schemas=sorted(ctx.schemas.values(), key=lambda s: s.id),
        enums=sorted(ctx.enums.values(), key=lambda e: e.id),
        edges=_edges(model_irs, operation_irs, models, ctx),
    )
    return ir, ctx.diagnostics


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
    if not is_document:
        ctx.report(
            "JH105",
            f"@datamodel class '{summary.name}' is not a beanie Document "
            f"(it is {_KIND_NAMES[kind]})",
            cls.module,
            (summary.line, summary.col),
        )
    # Not a Document: its attributes are not fields, and saying so for each would bury
    # the one error that matters.
    fields = class_fields(ctx, cls) if is_document else []
    values = use.values
    model = ModelIR(
        name=ctx.model_names[cls.id],
        class_name=summary.name,
        module=cls.module,
        source=_source(ctx, cls.module, summary.line, summary.col),
        description=values.get("description"),
        docstring=summary.docstring,
        tags=values.get("tags", []),
        relations=values.get("relations", []),
        collection=summary.name,
        bases=qualified_bases(ctx, cls),
        fields=fields,
    )
    if "ui" in values:
        model.ui = values["ui"]
        _check_ui_fields(ctx, cls.module, use, model)
    settings_owner = _settings_owner(ctx, cls)
    if settings_owner is not None and settings_owner.summary.settings is not None:
        settings = settings_owner.summary.settings
        if settings.name is not None:
            collection = _literal_or_report(
                ctx, settings_owner.module, settings.name, "Settings.name"
            )
            if isinstance(collection, str):
                model.collection = collection
        model.indexes = _indexes(ctx, settings_owner.module, settings.indexes)
    return model


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
        return [(expr.value, 1)]
    if expr.kind == "tuple" and len(expr.items) == 2 and expr.items[0].kind == "const":
        field, direction = expr.items
        if isinstance(field.value, str):
            return [(field.value, _direction(ctx, module, direction))]
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
        docstring=function.docstring,
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
    models: list[ModelIR],
    operations: list[OperationIR],
    decorated: list[tuple[ClassTarget, DecoratorUse]],
    ctx: Context,
) -> list[EdgeIR]:
    edges: set[tuple[str, str, str, str | None]] = set()
    for operation in operations:
        for name in operation.models_in:
            edges.add((f"model:{name}", f"operation:{operation.name}", "reads", None))
        for name in operation.models_out:
            edges.add((f"operation:{operation.name}", f"model:{name}", "writes", None))
    for model in models:
        for field in model.fields:
            for kind, target in _references(field.type_info):
                edges.add((f"model:{model.name}", f"model:{target}", kind, field.name))
    for cls, _ in decorated:
        for base in ctx.base_targets(cls):
            if isinstance(base, ClassTarget) and base.id in ctx.model_names:
                edges.add(
                    (
                        f"model:{ctx.model_names[cls.id]}",
                        f"model:{ctx.model_names[base.id]}",
                        "inherits",
                        None,
                    )
                )
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
