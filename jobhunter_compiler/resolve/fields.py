"""Pydantic classes -> `FieldIR` lists, following pydantic's own rules statically.

Inherited fields come first, in base order, and keep their position when overridden (as
in `model_fields`). `ClassVar`s, `_private` names and `model_config` are not fields. A
field is required when it has neither a default nor a default_factory: `Optional[X]`
without a default is required, as in pydantic 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir import DefaultValue, FieldIR, SchemaIR, SourceRef
from ..scan.summary import Assignment, Expr
from .aliases import class_config, with_aliases
from .context import NotLiteral, Trace
from .symbols import ClassTarget, EnumMemberTarget, External
from .types import CONSTRAINTS, INDEXED, resolve_type, type_constraints

if TYPE_CHECKING:
    from .context import Context

PYDANTIC_FIELD = "pydantic.Field"


def class_fields(ctx: Context, cls: ClassTarget) -> list[FieldIR]:
    """The fields of `cls` with the aliases each sets itself; `aliases.with_aliases` adds
    the generated ones, which depend on the class the fields end up in."""
    cached = ctx.fields.get(cls.id)
    if cached is not None:
        ctx.reuse(cached[1])
        return cached[0]
    ctx.fields[cls.id] = ([], None)  # guards inheritance cycles
    with ctx.tracing() as trace:
        trace.modules.add(cls.module)
        result = _class_fields(ctx, cls)
    ctx.fields[cls.id] = (result, trace)
    return result


def _class_fields(ctx: Context, cls: ClassTarget) -> list[FieldIR]:
    fields: dict[str, FieldIR] = {}
    for base in reversed(ctx.base_targets(cls)):
        if isinstance(base, ClassTarget) and ctx.is_pydantic(base):
            for field in class_fields(ctx, base):
                fields[field.name] = field.model_copy(
                    update={"inherited_from": field.inherited_from or base.id}
                )
    for attribute in cls.summary.attributes:
        if attribute.name.startswith("_") or attribute.name == "model_config":
            continue
        if attribute.annotation is None:
            if not ctx.is_pydantic(cls):
                continue  # a base we cannot see may make it legal; only pydantic forbids it
            ctx.report(
                "JH202",
                f"'{attribute.name}' in {cls.summary.name} is assigned but has no annotation",
                cls.module,
                (attribute.line, attribute.col),
            )
            continue
        if _is(ctx, cls.module, attribute.annotation.unquoted(), "typing.ClassVar"):
            continue
        fields[attribute.name] = _field(ctx, cls.module, attribute)
    return list(fields.values())


def ensure_schema(ctx: Context, cls: ClassTarget) -> SchemaIR:
    """Record a BaseModel class in `ctx.schemas` (once) and return it."""
    existing = ctx.schemas.get(cls.id)
    if existing is not None:
        # While the schema is being built (a nested schema referring back) it has no trace
        # yet; the reference still makes the schema part of the referrer's result.
        trace = ctx.schema_traces.get(cls.id)
        ctx.reuse(trace if trace is not None else Trace(modules={cls.module}, schemas={cls.id}))
        return existing
    file = ctx.symbols.file(cls.module)
    with ctx.tracing() as trace:
        trace.modules.add(cls.module)
        trace.schemas.add(cls.id)
        schema = SchemaIR(
            id=cls.id,
            name=cls.summary.name,
            module=cls.module,
            source=SourceRef(path=file.source.path, line=cls.summary.line, col=cls.summary.col),
            docstring=ctx.text(
                cls.module, (cls.summary.line, cls.summary.col), cls.summary.docstring
            ),
            bases=qualified_bases(ctx, cls),
            fields=[],
        )
        ctx.schemas[cls.id] = schema  # before the fields: nested schemas may refer back
        schema.fields = with_aliases(class_fields(ctx, cls), class_config(ctx, cls))
        check_json_names(ctx, cls, schema.fields)
    ctx.schema_traces[cls.id] = trace
    return schema


def check_json_names(
    ctx: Context, cls: ClassTarget, fields: list[FieldIR], reserved: tuple[str, ...] = ()
) -> None:
    """Every field's JSON name (its alias, else its name) must be its own: it keys the
    request bodies, the forms and the list filters. `reserved` names belong to the record
    itself (a Document's `id`, stored as `_id`), unless the field is that very `id`."""
    owners: dict[str, str] = {}
    for item in fields:
        json_name = item.alias or item.name
        if item.name == "id" and json_name in ("id", "_id"):
            owners[json_name] = item.name
            continue
        if json_name in reserved:
            clash = "which is the record's own"
        elif json_name in owners:
            clash = f"as does field '{owners[json_name]}'"
        else:
            owners[json_name] = item.name
            continue
        module = item.inherited_from.rpartition(".")[0] if item.inherited_from else cls.module
        message = f"field '{item.name}' has the JSON name '{json_name}', {clash}"
        ctx.report("JH209", message, module, (item.source.line, item.source.col))


def qualified_bases(ctx: Context, cls: ClassTarget) -> list[str]:
    names = []
    for expr, target in zip(cls.summary.bases, ctx.base_targets(cls), strict=True):
        if isinstance(target, ClassTarget):
            names.append(target.id)
        elif isinstance(target, External):
            names.append(target.qualname)
        else:
            names.append(expr.to_source())
    return names


def _field(ctx: Context, module: str, attribute: Assignment) -> FieldIR:
    assert attribute.annotation is not None
    annotation = attribute.annotation.unquoted()
    type_expr = annotation
    field_call: Expr | None = None
    indexed = unique = False
    markers: list[Expr] = []
    if _is(ctx, module, annotation, "typing.Annotated") and annotation.items:
        type_expr, *markers = annotation.items
    if _is(ctx, module, type_expr, INDEXED):
        markers.append(type_expr)
    for marker in markers:
        if _is(ctx, module, marker, PYDANTIC_FIELD):
            field_call = marker
        elif _is(ctx, module, marker, INDEXED):
            indexed = True
            unique = ctx.literal_or_none(module, marker.keyword("unique")) is True

    # The default is the assigned value, or the Field(...) call's own default when the
    # Field is the assigned value (or the only place left: `Annotated[int, Field(0)]`).
    value = attribute.value
    default_expr: Expr | None = value
    factory: Expr | None = None
    if value is not None and _is(ctx, module, value, PYDANTIC_FIELD):
        field_call = value
    if field_call is not None and (value is None or value is field_call):
        default_expr = field_call.items[0] if field_call.items else field_call.keyword("default")
    if field_call is not None:
        factory = field_call.keyword("default_factory")
    if default_expr is not None and default_expr.kind == "ellipsis":
        default_expr = None

    constraints = type_constraints(ctx, module, annotation)
    for keyword in field_call.keywords if field_call is not None else []:
        if keyword.name in CONSTRAINTS:
            scalar = (str, int, float, bool)
            constraint = _keyword_of_type(ctx, module, field_call, keyword.name, scalar)
            if constraint is not None:
                constraints[keyword.name] = constraint
    examples = _keyword_of_type(ctx, module, field_call, "examples", (list, tuple))
    alias = _keyword_of_type(ctx, module, field_call, "alias", str)
    validation_expr = field_call.keyword("validation_alias") if field_call is not None else None
    validation_paths = _alias_paths(ctx, module, validation_expr)
    validation_alias = (
        None
        if validation_paths
        else _keyword_of_type(ctx, module, field_call, "validation_alias", str)
    )
    serialization_alias = _keyword_of_type(ctx, module, field_call, "serialization_alias", str)
    extra = _keyword_of_type(ctx, module, field_call, "json_schema_extra", dict)
    links_to = extra.get("links_to") if isinstance(extra, dict) else None
    return FieldIR(
        name=attribute.name,
        alias=alias,
        validation_alias=validation_alias if validation_alias != alias else None,
        validation_paths=validation_paths,
        serialization_alias=serialization_alias if serialization_alias != alias else None,
        type=annotation.to_source(),
        type_info=resolve_type(ctx, module, type_expr),
        required=default_expr is None and factory is None,
        default=_default(ctx, module, default_expr, factory),
        description=_keyword_of_type(ctx, module, field_call, "description", str),
        title=_keyword_of_type(ctx, module, field_call, "title", str),
        constraints=constraints,
        examples=list(examples) if isinstance(examples, list | tuple) else [],
        indexed=indexed,
        unique=unique,
        links_to=links_to if isinstance(links_to, str) else None,
        source=SourceRef(
            path=ctx.symbols.file(module).source.path, line=attribute.line, col=attribute.col
        ),
    )


def _default(
    ctx: Context, module: str, expr: Expr | None, factory: Expr | None
) -> DefaultValue | None:
    if factory is not None:
        return DefaultValue(kind="factory", text=factory.to_source())
    if expr is None:
        return None
    if expr.kind == "name" and expr.name:
        target = ctx.symbols.resolve(module, expr.name)
        if isinstance(target, EnumMemberTarget):
            return DefaultValue(kind="enum", value=ctx.enum_member(target), text=expr.to_source())
    try:
        value = ctx.literal(module, expr)
    except NotLiteral:
        return DefaultValue(kind="expression", text=expr.to_source())
    return DefaultValue(kind="literal", value=value, text=expr.to_source())


ALIAS_CHOICES = "pydantic.AliasChoices"
ALIAS_PATH = "pydantic.AliasPath"


def _alias_paths(ctx: Context, module: str, expr: Expr | None) -> list[list[str | int]]:
    """The paths of an `AliasChoices(...)` or `AliasPath(...)` validation alias, as
    pydantic's `convert_to_aliases()` lists them; none for a string (or nothing)."""
    if expr is None or expr.kind != "call":
        return []
    if not _is(ctx, module, expr, ALIAS_CHOICES) and not _is(ctx, module, expr, ALIAS_PATH):
        return []
    paths = []
    for choice in expr.items if _is(ctx, module, expr, ALIAS_CHOICES) else [expr]:
        if choice.kind == "call" and _is(ctx, module, choice, ALIAS_PATH):
            path = _alias_path(ctx, module, choice)
        else:
            key = ctx.literal_or_none(module, choice)
            path = [key] if isinstance(key, str) else None
        if not path:
            message = f"cannot read the validation alias `{choice.to_source()}` without running it"
            ctx.report("JH213", message, module, choice)
            return []
        paths.append(path)
    return paths


def _alias_path(ctx: Context, module: str, call: Expr) -> list[str | int] | None:
    """`AliasPath("names", 0)`: its literal keys and indexes, the first a key."""
    steps = [ctx.literal_or_none(module, item) for item in call.items]
    valid = all(
        isinstance(s, str) or (isinstance(s, int) and not isinstance(s, bool)) for s in steps
    )
    return steps if steps and valid and isinstance(steps[0], str) else None


def _keyword_of_type(
    ctx: Context, module: str, call: Expr | None, name: str, expected: type | tuple[type, ...]
) -> Any:
    """A literal keyword argument of `Field(...)` of the expected type; a value of another
    type is reported (pydantic would reject it at import) and ignored."""
    value = ctx.literal_or_none(module, call.keyword(name) if call is not None else None)
    if value is None or isinstance(value, expected):
        return value
    assert call is not None
    where = call.keyword(name)
    ctx.report("JH104", f"Field({name}=...) cannot be {value!r}", module, where or call)
    return None


def _is(ctx: Context, module: str, expr: Expr, qualname: str) -> bool:
    """Whether `expr` (a name, a call or a subscript) is headed by `qualname`."""
    if expr.kind not in ("name", "call", "subscript") or not expr.name:
        return False
    return ctx.symbols.qualname(module, expr.name) == qualname
