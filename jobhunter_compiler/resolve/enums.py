"""Enum classes -> `EnumIR`: members and their values, computed like `enum` would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir import EnumIR, EnumMember, SourceRef
from ..scan.summary import Expr
from .symbols import ClassTarget

if TYPE_CHECKING:
    from .context import Context


def build_enum(ctx: Context, cls: ClassTarget) -> tuple[EnumIR, dict[str, Any]]:
    """The enum's members, and the value of every name (aliases included). As in `enum`,
    a name bound to an earlier member (`Red = RED`) or repeating a value (`UNO = 1`) is an
    alias: not a member, but `Color.Red` still means the member's value."""
    bases = ctx.external_bases(cls)
    string_auto = "enum.StrEnum" in bases
    flag_auto = bool({"enum.Flag", "enum.IntFlag"} & bases)
    members: list[EnumMember] = []
    values: dict[str, Any] = {}
    last_int = 0
    for attribute in cls.summary.attributes:
        expr = attribute.value
        if expr is None or attribute.name.startswith("_"):
            continue
        if expr.kind == "name" and expr.name in values:
            values[attribute.name] = values[expr.name]
            continue
        value = _member_value(ctx, cls.module, expr)
        if value is _AUTO:
            value = _auto_value(attribute.name, last_int, string_auto, flag_auto)
        if isinstance(value, int) and not isinstance(value, bool):
            last_int = value
        values[attribute.name] = value
        if value is None or all(m.value != value for m in members):
            members.append(EnumMember(name=attribute.name, value=value))
    file = ctx.symbols.file(cls.module)
    enum = EnumIR(
        id=cls.id,
        name=cls.summary.name,
        module=cls.module,
        source=SourceRef(path=file.source.path, line=cls.summary.line, col=cls.summary.col),
        docstring=ctx.text(cls.module, (cls.summary.line, cls.summary.col), cls.summary.docstring),
        members=members,
    )
    return enum, values


_AUTO = object()


def _auto_value(name: str, last_int: int, string_auto: bool, flag_auto: bool) -> Any:
    """What `auto()` gives, as `enum`'s `_generate_next_value_` does."""
    if string_auto:
        return name.lower()
    if flag_auto:
        return 2 ** last_int.bit_length() if last_int > 0 else 1
    return last_int + 1


def _member_value(ctx: Context, module: str, expr: Expr) -> Any:
    """A constant's value, `_AUTO` for `auto()`, None for anything computed."""
    if expr.kind == "call" and ctx.symbols.qualname(module, expr.name or "") == "enum.auto":
        return _AUTO
    if expr.kind == "const":
        return ctx.text(module, expr, expr.value)
    return None
