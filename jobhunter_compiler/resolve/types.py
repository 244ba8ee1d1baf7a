"""Annotations -> `TypeRef`. Every type the compiler understands is taught here, once.

Names are resolved to canonical qualified names first (`from typing import List as L`
still means `typing.List`), then looked up in `SPELLINGS`. User classes become enum,
schema or model references; module-level aliases (`Priority = Literal["low", "high"]`)
are expanded where they are used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..ir import TypeKind, TypeRef
from ..scan.summary import Expr
from .symbols import ClassTarget, External, ValueTarget

if TYPE_CHECKING:
    from .context import Context

Form = Literal["scalar", "container", "reference", "syntax"]


@dataclass(frozen=True)
class Spelling:
    """How annotations spell one kind. `names` are the qualified names that mean it: a
    `scalar` name alone, a `container` name subscripted by its item types, a `reference`
    name subscripted by a @datamodel class. A `syntax` kind has no name of its own: `how`
    says what in an annotation gives it."""

    form: Form
    names: tuple[str, ...] = ()
    how: str = ""


def _scalar(*names: str) -> Spelling:
    return Spelling("scalar", names)


def _container(*names: str) -> Spelling:
    return Spelling("container", names)


def _syntax(how: str) -> Spelling:
    return Spelling("syntax", how=how)


SPELLINGS: dict[TypeKind, Spelling] = {
    TypeKind.STR: _scalar("builtins.str", "pydantic.StrictStr"),
    TypeKind.INT: _scalar(
        "builtins.int",
        "pydantic.StrictInt",
        "pydantic.PositiveInt",
        "pydantic.NegativeInt",
        "pydantic.NonNegativeInt",
        "pydantic.NonPositiveInt",
    ),
    TypeKind.FLOAT: _scalar(
        "builtins.float",
        "pydantic.StrictFloat",
        "pydantic.PositiveFloat",
        "pydantic.NegativeFloat",
        "pydantic.NonNegativeFloat",
        "pydantic.NonPositiveFloat",
    ),
    TypeKind.BOOL: _scalar("builtins.bool", "pydantic.StrictBool"),
    TypeKind.DECIMAL: _scalar("decimal.Decimal", "beanie.DecimalAnnotation"),
    TypeKind.DATETIME: _scalar(
        "datetime.datetime",
        "pydantic.AwareDatetime",
        "pydantic.NaiveDatetime",
        "pydantic.PastDatetime",
        "pydantic.FutureDatetime",
    ),
    TypeKind.DATE: _scalar("datetime.date", "pydantic.PastDate", "pydantic.FutureDate"),
    TypeKind.TIME: _scalar("datetime.time"),
    TypeKind.TIMEDELTA: _scalar("datetime.timedelta"),
    TypeKind.UUID: _scalar(
        "uuid.UUID", "pydantic.UUID1", "pydantic.UUID3", "pydantic.UUID4", "pydantic.UUID5"
    ),
    TypeKind.OBJECT_ID: _scalar("beanie.PydanticObjectId", "bson.ObjectId"),
    TypeKind.BYTES: _scalar("builtins.bytes", "beanie.BsonBinary"),
    TypeKind.SECRET_STR: _scalar("pydantic.SecretStr"),
    TypeKind.SECRET_BYTES: _scalar("pydantic.SecretBytes"),
    TypeKind.PATH: _scalar("pathlib.Path", "pathlib.PurePath", "pathlib.PurePosixPath"),
    TypeKind.IPV4_ADDRESS: _scalar("ipaddress.IPv4Address"),
    TypeKind.IPV6_ADDRESS: _scalar("ipaddress.IPv6Address"),
    TypeKind.IP_ADDRESS: _scalar("pydantic.IPvAnyAddress"),
    TypeKind.EMAIL: _scalar("pydantic.EmailStr", "pydantic.NameEmail"),
    TypeKind.URL: _scalar("pydantic.AnyUrl", "pydantic.AnyHttpUrl", "pydantic.HttpUrl"),
    TypeKind.ANY: _scalar("builtins.object", "typing.Any", "pydantic.Json"),
    TypeKind.NONE: _syntax("`None`, alone or as a member of a union"),
    TypeKind.LIST: _container(
        "builtins.list",
        "typing.List",
        "typing.Sequence",
        "typing.MutableSequence",
        "typing.Iterable",
        "collections.abc.Sequence",
        "collections.abc.MutableSequence",
        "collections.abc.Iterable",
    ),
    TypeKind.SET: _container(
        "builtins.set",
        "builtins.frozenset",
        "typing.Set",
        "typing.FrozenSet",
        "typing.AbstractSet",
        "collections.abc.Set",
    ),
    TypeKind.TUPLE: _container("builtins.tuple", "typing.Tuple"),
    TypeKind.DICT: _container(
        "builtins.dict",
        "typing.Dict",
        "typing.Mapping",
        "typing.MutableMapping",
        "collections.abc.Mapping",
        "collections.abc.MutableMapping",
    ),
    TypeKind.UNION: _syntax("`X | Y`, `typing.Union[...]` or `typing.Optional[X]`"),
    TypeKind.LITERAL: _syntax("`typing.Literal[...]` of scalar literals"),
    TypeKind.ENUM: _syntax("a user class that subclasses `enum.Enum`"),
    TypeKind.SCHEMA: _syntax("a user class that subclasses pydantic's `BaseModel`"),
    TypeKind.MODEL: _syntax("a @datamodel class, embedded by value"),
    TypeKind.LINK: Spelling("reference", ("beanie.Link",)),
    TypeKind.BACKLINK: Spelling("reference", ("beanie.BackLink",)),
    TypeKind.DOCUMENT_LINK: _syntax("`beanie.Link[beanie.Document]`: a link to any document"),
    TypeKind.UNKNOWN: _syntax("any other annotation, reported as JH205"),
}
"""Every kind, with the names that spell it: the one table of types the resolver knows."""
_KIND_OF_NAME = {name: kind for kind, spelling in SPELLINGS.items() for name in spelling.names}
REFINED_TYPES = frozenset(
    {
        "pydantic.UUID1", "pydantic.UUID3", "pydantic.UUID4", "pydantic.UUID5",
        "pydantic.AnyHttpUrl", "pydantic.HttpUrl", "pydantic.NameEmail",
        "pydantic.AwareDatetime", "pydantic.NaiveDatetime", "pydantic.PastDatetime",
        "pydantic.FutureDatetime", "pydantic.PastDate", "pydantic.FutureDate",
        "pathlib.PurePath", "pathlib.PurePosixPath", "beanie.DecimalAnnotation",
    }
)  # fmt: skip
"""Names of `SPELLINGS` that validate unlike their kind's plain type (a UUID of one
version, an http(s) URL, `Name <address>`, Decimal128 read back): kept as the TypeRef's
`type_name`. The other names are the plain type under another name (`bson.ObjectId`), or
the plain type with limits, which `NAMED_CONSTRAINTS` reads as field constraints."""
NAMED_CONSTRAINTS: dict[str, dict[str, Any]] = {
    "pydantic.StrictStr": {"strict": True},
    "pydantic.StrictInt": {"strict": True},
    "pydantic.StrictFloat": {"strict": True},
    "pydantic.StrictBool": {"strict": True},
    "pydantic.PositiveInt": {"gt": 0},
    "pydantic.NegativeInt": {"lt": 0},
    "pydantic.NonNegativeInt": {"ge": 0},
    "pydantic.NonPositiveInt": {"le": 0},
    "pydantic.PositiveFloat": {"gt": 0},
    "pydantic.NegativeFloat": {"lt": 0},
    "pydantic.NonNegativeFloat": {"ge": 0},
    "pydantic.NonPositiveFloat": {"le": 0},
}
"""pydantic's names for a plain type with limits (`PositiveInt` is `Annotated[int, Gt(0)]`):
the limits they put on the value, as pydantic reads them into the field's metadata."""
WRAPPERS = {"typing.Annotated", "typing.Required", "typing.NotRequired", "typing.Final"}
INDEXED = "beanie.Indexed"
DOCUMENT = "beanie.Document"
CONSTRAINED_TYPES: dict[str, TypeKind] = {
    "pydantic.constr": TypeKind.STR,
    "pydantic.conint": TypeKind.INT,
    "pydantic.confloat": TypeKind.FLOAT,
    "pydantic.condecimal": TypeKind.DECIMAL,
    "pydantic.conbytes": TypeKind.BYTES,
    "pydantic.condate": TypeKind.DATE,
    "pydantic.conlist": TypeKind.LIST,
    "pydantic.conset": TypeKind.SET,
    "pydantic.confrozenset": TypeKind.SET,
}
"""pydantic's constrained-type functions (`constr(max_length=5)`): the kind of the type each
returns; the containers take their item type first. Their limits are field constraints
(`type_constraints`)."""
LENGTH_FLOORED = frozenset(
    {"pydantic.conbytes", "pydantic.conlist", "pydantic.conset", "pydantic.confrozenset"}
)
CONSTRAINTS = frozenset(
    {
        "gt", "ge", "lt", "le", "multiple_of", "min_length", "max_length", "pattern",
        "max_digits", "decimal_places", "strict", "frozen", "allow_inf_nan",
    }
)  # fmt: skip
"""The keywords of `Field(...)`, `StringConstraints(...)` and the constrained-type functions
kept as field constraints."""
CONSTRAINT_MARKERS = frozenset({"pydantic.Field", "pydantic.StringConstraints"})
ANNOTATED_TYPES_MARKERS = {
    "annotated_types.Gt": "gt",
    "annotated_types.Ge": "ge",
    "annotated_types.Lt": "lt",
    "annotated_types.Le": "le",
    "annotated_types.MultipleOf": "multiple_of",
    "annotated_types.MinLen": "min_length",
    "annotated_types.MaxLen": "max_length",
}
"""`Annotated[int, Ge(0)]`: annotated-types markers with their one positional limit."""
KNOWN_LIBRARIES = frozenset(
    {"pydantic", "pydantic_core", "beanie", "bson", "pymongo", "annotated_types"}
)
"""Packages whose types the compiler knows (with the standard library): a type of theirs
it does not handle is unsupported, not unreadable."""


def resolve_type(
    ctx: Context, module: str, expr: Expr, expanding: frozenset[str] = frozenset()
) -> TypeRef:
    """`expanding` holds the aliases being expanded: a recursive alias (`JsonValue =
    list["JsonValue"] | ...`) is valid Python and stops, as `any`, where it recurs."""
    if expr.kind == "const" and expr.value is None:
        return TypeRef(kind=TypeKind.NONE)
    if expr.kind == "forward" and expr.items:  # `"Job"`: the type the string spells
        return resolve_type(ctx, module, expr.items[0], expanding)
    if expr.kind == "union":
        return _union([resolve_type(ctx, module, item, expanding) for item in expr.items])
    if expr.kind == "call":
        callee = ctx.symbols.qualname(module, expr.name or "")
        if callee == INDEXED and expr.items:
            return resolve_type(ctx, module, expr.items[0], expanding)
        if callee in CONSTRAINED_TYPES:
            return _constrained(ctx, module, expr, CONSTRAINED_TYPES[callee], expanding)
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
            return TypeRef(kind=TypeKind.ANY)
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

    def items() -> list[TypeRef]:
        return [
            _item(ctx, module, item, expanding) for item in expr.items if item.kind != "ellipsis"
        ]

    kind = _KIND_OF_NAME.get(qualname)
    form = SPELLINGS[kind].form if kind is not None else None
    if kind is not None and form == "scalar":
        return TypeRef(kind=kind, type_name=qualname if qualname in REFINED_TYPES else None)
    if kind is not None and form == "container":
        return TypeRef(kind=kind, args=items())
    if kind is not None and form == "reference" and len(expr.items) == 1:
        return _reference(ctx, module, expr.items[0], kind, qualname)
    if qualname == "typing.Optional" and len(expr.items) == 1:
        return _union([*args(), TypeRef(kind=TypeKind.NONE)])
    if qualname == "typing.Union":
        return _union(args())
    if qualname == "typing.Literal":
        return _literal(ctx, module, expr)
    if qualname in WRAPPERS and expr.items:
        return resolve_type(ctx, module, expr.items[0], expanding)
    package = qualname.partition(".")[0]
    if package in KNOWN_LIBRARIES or package in sys.stdlib_module_names:
        why = f"{qualname} is not supported as a field type yet"
        hint = "the field is treated as opaque JSON; use a supported type to get its own kind"
        return _unknown(ctx, module, expr, why, hint)
    return _unknown(ctx, module, expr, f"'{qualname}' is not a type the compiler knows")


def _constrained(
    ctx: Context, module: str, expr: Expr, kind: TypeKind, expanding: frozenset[str]
) -> TypeRef:
    if SPELLINGS[kind].form != "container":
        return TypeRef(kind=kind)
    item = expr.items[0] if expr.items else expr.keyword("item_type")
    if item is None:
        return _unknown(ctx, module, expr, "the item type is missing")
    return TypeRef(kind=kind, args=[_item(ctx, module, item, expanding)])


def _item(ctx: Context, module: str, expr: Expr, expanding: frozenset[str]) -> TypeRef:
    """An item type of a container, with the limits it puts on each item."""
    item = resolve_type(ctx, module, expr, expanding)
    limits = type_constraints(ctx, module, expr, expanding)
    return item.model_copy(update={"constraints": limits}) if limits else item


def type_constraints(
    ctx: Context, module: str, expr: Expr, expanding: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The limits a type expression puts on the field's value, as pydantic reads them:
    `constr(max_length=5)`, `Annotated[str, StringConstraints(...), Field(ge=0), Ge(0)]`,
    through `Optional`/`| None` and module-level aliases. Later markers win. Limits on the
    items of a container (`list[constr(...)]`) are not the field's: the item's TypeRef
    holds them."""
    expr = expr.unquoted()
    if expr.kind == "union":
        members = [m for m in expr.items if not (m.kind == "const" and m.value is None)]
        return type_constraints(ctx, module, members[0], expanding) if len(members) == 1 else {}
    if expr.kind not in ("name", "subscript", "call") or not expr.name:
        return {}
    target = ctx.symbols.resolve(module, expr.name)
    if isinstance(target, ValueTarget) and target.assignment.value is not None:
        alias = f"{target.module}.{target.assignment.name}"
        if alias in expanding or expr.kind != "name":
            return {}
        return type_constraints(ctx, target.module, target.assignment.value, expanding | {alias})
    qualname = ctx.symbols.qualname(module, expr.name)
    if expr.kind == "call":
        if qualname not in CONSTRAINED_TYPES:
            return {}
        found = _call_constraints(ctx, module, expr)
        # These wrap their limits in `Len(min_length or 0, max_length)`: 0 when not given.
        return {"min_length": 0, **found} if qualname in LENGTH_FLOORED else found
    if qualname in NAMED_CONSTRAINTS:
        return dict(NAMED_CONSTRAINTS[qualname])
    if expr.kind != "subscript" or not expr.items:
        return {}
    if qualname == "typing.Optional":
        return type_constraints(ctx, module, expr.items[0], expanding)
    if qualname == "typing.Union":
        members = [m for m in expr.items if not (m.kind == "const" and m.value is None)]
        return type_constraints(ctx, module, members[0], expanding) if len(members) == 1 else {}
    if qualname not in WRAPPERS:
        return {}
    found = type_constraints(ctx, module, expr.items[0], expanding)
    for marker in expr.items[1:] if qualname == "typing.Annotated" else ():
        callee = ctx.symbols.qualname(module, marker.name or "") if marker.kind == "call" else ""
        if callee in CONSTRAINT_MARKERS:
            found.update(_call_constraints(ctx, module, marker))
        elif callee in ANNOTATED_TYPES_MARKERS and len(marker.items) == 1:
            value = ctx.literal_or_none(module, marker.items[0])
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[ANNOTATED_TYPES_MARKERS[callee]] = value
    return found


def _call_constraints(ctx: Context, module: str, call: Expr) -> dict[str, Any]:
    """The literal scalar constraint keywords of a call; a computed one is not known."""
    found = {}
    for keyword in call.keywords:
        if keyword.name in CONSTRAINTS:
            value = ctx.literal_or_none(module, keyword.value)
            if isinstance(value, str | int | float | bool):
                found[keyword.name] = value
    return found


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
    literal = TypeRef(kind=TypeKind.LITERAL, values=[v for v in values if v is not None])
    if None in values:
        literal.nullable = True
    return literal


def _user_class(ctx: Context, module: str, expr: Expr, cls: ClassTarget) -> TypeRef:
    enum = ctx.enum_of(cls)
    if enum is not None:
        return TypeRef(kind=TypeKind.ENUM, ref=enum.id, values=[m.value for m in enum.members])
    model = ctx.model_name(cls.id)
    if model is not None:
        return TypeRef(kind=TypeKind.MODEL, ref=model)
    if ctx.is_pydantic(cls):
        ctx.build_schema(ctx, cls)
        return TypeRef(kind=TypeKind.SCHEMA, ref=cls.id)
    why = f"'{cls.summary.name}' is not a pydantic model or Enum"
    hint = (
        "the field is treated as opaque JSON, which the model's own validation checks; make it "
        "a BaseModel, an Enum or a supported type to get a kind of its own"
    )
    return _unknown(ctx, module, expr, why, hint)


def _reference(ctx: Context, module: str, expr: Expr, kind: TypeKind, qualname: str) -> TypeRef:
    target = ctx.resolve_expr(module, expr)
    model = ctx.model_name(target.id) if isinstance(target, ClassTarget) else None
    if model is not None:
        return TypeRef(kind=kind, ref=model)
    if kind == TypeKind.LINK and isinstance(target, External) and target.qualname == DOCUMENT:
        return TypeRef(kind=TypeKind.DOCUMENT_LINK)
    ctx.report(
        "JH206",
        f"{qualname.rpartition('.')[2]}[{expr.to_source()}] does not name a @datamodel class",
        module,
        expr,
    )
    return TypeRef(kind=kind)


def _union(members: list[TypeRef]) -> TypeRef:
    """Flatten, drop `None` into `nullable`, and collapse a single remaining member."""
    flat: list[TypeRef] = []
    nullable = False
    for member in members:
        if member.kind == TypeKind.NONE:
            nullable = True
            continue
        nullable = nullable or member.nullable
        for part in member.args if member.kind == TypeKind.UNION else [member]:
            plain = part.model_copy(update={"nullable": False})
            if plain not in flat:
                flat.append(plain)
    if not flat:
        return TypeRef(kind=TypeKind.NONE)
    if len(flat) == 1:
        return flat[0].model_copy(update={"nullable": nullable})
    return TypeRef(kind=TypeKind.UNION, args=flat, nullable=nullable)


def _unknown(ctx: Context, module: str, expr: Expr, why: str, hint: str | None = None) -> TypeRef:
    ctx.report("JH205", f"cannot resolve type `{expr.to_source()}`: {why}", module, expr, hint)
    return TypeRef(kind=TypeKind.UNKNOWN)
