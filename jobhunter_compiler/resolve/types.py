"""Annotations -> `TypeRef`. Every type the compiler understands is taught here, once.

Names are resolved to canonical qualified names first (`from typing import List as L`
still means `typing.List`), then looked up in the tables below. User classes become enum,
schema or model references; module-level aliases (`Priority = Literal["low", "high"]`)
are expanded where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ir import TypeKind, TypeRef
from ..scan.summary import Expr
from .symbols import ClassTarget, External, ValueTarget

if TYPE_CHECKING:
    from .context import Context

SCALARS: dict[str, TypeKind] = {
    "builtins.str": "str",
    "builtins.int": "int",
    "builtins.float": "float",
    "builtins.bool": "bool",
    "builtins.bytes": "bytes",
    "builtins.object": "any",
    "typing.Any": "any",
    "datetime.datetime": "datetime",
    "datetime.date": "date",
    "datetime.time": "time",
    "datetime.timedelta": "timedelta",
    "decimal.Decimal": "decimal",
    "uuid.UUID": "uuid",
    "beanie.PydanticObjectId": "object_id",
    "bson.ObjectId": "object_id",
    "pydantic.EmailStr": "email",
    "pydantic.NameEmail": "email",
    "pydantic.AnyUrl": "url",
    "pydantic.AnyHttpUrl": "url",
    "pydantic.HttpUrl": "url",
    "pydantic.StrictStr": "str",
    "pydantic.StrictInt": "int",
    "pydantic.StrictFloat": "float",
    "pydantic.StrictBool": "bool",
    "pydantic.PositiveInt": "int",
    "pydantic.NegativeInt": "int",
    "pydantic.NonNegativeInt": "int",
    "pydantic.NonPositiveInt": "int",
    "pydantic.PositiveFloat": "float",
    "pydantic.NegativeFloat": "float",
    "pydantic.NonNegativeFloat": "float",
    "pydantic.NonPositiveFloat": "float",
    "pydantic.Json": "any",
}
CONTAINERS: dict[str, TypeKind] = {
    "builtins.list": "list",
    "typing.List": "list",
    "typing.Sequence": "list",
    "typing.MutableSequence": "list",
    "typing.Iterable": "list",
    "collections.abc.Sequence": "list",
    "collections.abc.MutableSequence": "list",
    "collections.abc.Iterable": "list",
    "builtins.set": "set",
    "builtins.frozenset": "set",
    "typing.Set": "set",
    "typing.FrozenSet": "set",
    "typing.AbstractSet": "set",
    "collections.abc.Set": "set",
    "builtins.tuple": "tuple",
    "typing.Tuple": "tuple",
    "builtins.dict": "dict",
    "typing.Dict": "dict",
    "typing.Mapping": "dict",
    "typing.MutableMapping": "dict",
    "collections.abc.Mapping": "dict",
    "collections.abc.MutableMapping": "dict",
}
REFERENCES: dict[str, TypeKind] = {"beanie.Link": "link", "beanie.BackLink": "backlink"}
_REFERENCE_NAMES = {kind: qualname.split(".")[1] for qualname, kind in REFERENCES.items()}
WRAPPERS = {"typing.Annotated", "typing.Required", "typing.NotRequired", "typing.Final"}
INDEXED = "beanie.Indexed"


def resolve_type(
    ctx: Context, module: str, expr: Expr, expanding: frozenset[str] = frozenset()
) -> TypeRef:
    """`expanding` holds the aliases being expanded: a recursive alias (`JsonValue =
    list["JsonValue"] | ...`) is valid Python and stops, as `any`, where it recurs."""
    if expr.kind == "const" and expr.value is None:
        return TypeRef(kind="none")
    if expr.kind == "forward" and expr.items:  # `"Job"`: the type the string spells
        return resolve_type(ctx, module, expr.items[0], expanding)
    if expr.kind == "union":
        return _union([resolve_type(ctx, module, item, expanding) for item in expr.items])
    if (
        expr.kind == "call"
        and ctx.symbols.qualname(module, expr.name or "") == INDEXED
        and expr.items
    ):
        return resolve_type(ctx, module, expr.items[0], expanding)
    if expr.kind not in ("name", "subscript") or not expr.name:
        return _unknown(ctx, module, expr, "not a type expression")
    target = ctx.symbols.resolve(module, expr.name)
    if target is None:
        return _unknown(ctx, module, expr, f"'{expr.name}' is not defined or imported")
    if isinstance(target, External):
        return _external(ctx, module, expr, target.qualname, expanding)
    if isinstance(target, ValueTarget) and target.assignment.value is not None:
        alias = f"{target.module}.{target.assignment.name}"
        if alias in expanding:
            return TypeRef(kind="any")
        return resolve_type(ctx, target.module, target.assignment.value, expanding | {alias})
    if isinstance(target, ClassTarget):
        return _user_class(ctx, module, expr, target)
    return _unknown(ctx, module, expr, f"'{expr.name}' is not a type")


def _external(
    ctx: Context, module: str, expr: Expr, qualname: str, expanding: frozenset[str]
) -> TypeRef:
    def args() -> list[TypeRef]:
        return [
            resolve_type(ctx, module, item, expanding)
            for item in expr.items
            if item.kind != "ellipsis"  # tuple[int, ...]
        ]

    if qualname in SCALARS:
        return TypeRef(kind=SCALARS[qualname])
    if qualname in CONTAINERS:
        return TypeRef(kind=CONTAINERS[qualname], args=args())
    if qualname == "typing.Optional" and len(expr.items) == 1:
        return _union([*args(), TypeRef(kind="none")])
    if qualname == "typing.Union":
        return _union(args())
    if qualname == "typing.Literal":
        return _literal(ctx, module, expr)
    if qualname in WRAPPERS and expr.items:
        return resolve_type(ctx, module, expr.items[0], expanding)
    if qualname in REFERENCES and len(expr.items) == 1:
        return _reference(ctx, module, expr.items[0], REFERENCES[qualname])
    return _unknown(ctx, module, expr, f"'{qualname}' is not a type the compiler knows")


def _literal(ctx: Context, module: str, expr: Expr) -> TypeRef:
    values = []
    for item in expr.items:
        try:
            value = ctx.literal(module, item)
        except Exception:
            return _unknown(ctx, module, item, "Literal[...] values must be literals")
        if not isinstance(value, str | int | float | bool) and value is not None:
            return _unknown(ctx, module, item, "Literal[...] values must be scalars")
        values.append(value)
    literal = TypeRef(kind="literal", values=[v for v in values if v is not None])
    if None in values:
        literal.nullable = True
    return literal


def _user_class(ctx: Context, module: str, expr: Expr, cls: ClassTarget) -> TypeRef:
    enum = ctx.enum_of(cls)
    if enum is not None:
        return TypeRef(kind="enum", ref=enum.id, values=[m.value for m in enum.members])
    model = ctx.model_name(cls.id)
    if model is not None:
        return TypeRef(kind="model", ref=model)
    if ctx.is_pydantic(cls):
        ctx.build_schema(ctx, cls)
        return TypeRef(kind="schema", ref=cls.id)
    return _unknown(ctx, module, expr, f"'{cls.summary.name}' is not a pydantic model or Enum")


def _reference(ctx: Context, module: str, expr: Expr, kind: TypeKind) -> TypeRef:
    target = ctx.resolve_expr(module, expr)
    model = ctx.model_name(target.id) if isinstance(target, ClassTarget) else None
    if model is not None:
        return TypeRef(kind=kind, ref=model)
    ctx.report(
        "JH206",
        f"{_REFERENCE_NAMES[kind]}[{expr.to_source()}] does not name a @datamodel class",
        module,
        expr,
    )
    return TypeRef(kind=kind)


def _union(members: list[TypeRef]) -> TypeRef:
    """Flatten, drop `None` into `nullable`, and collapse a single remaining member."""
    flat: list[TypeRef] = []
    nullable = False
    for member in members:
        if member.kind == "none":
            nullable = True
            continue
        nullable = nullable or member.nullable
        for part in member.args if member.kind == "union" else [member]:
            plain = part.model_copy(update={"nullable": False})
            if plain not in flat:
                flat.append(plain)
    if not flat:
        return TypeRef(kind="none")
    if len(flat) == 1:
        return flat[0].model_copy(update={"nullable": nullable})
    return TypeRef(kind="union", args=flat, nullable=nullable)


def _unknown(ctx: Context, module: str, expr: Expr, why: str) -> TypeRef:
    ctx.report("JH205", f"cannot resolve type `{expr.to_source()}`: {why}", module, expr)
    return TypeRef(kind="unknown")
