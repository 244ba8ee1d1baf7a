"""Enum classes -> `EnumIR`: members and their values, computed like `enum` would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..ir import EnumIR, EnumMember, SourceRef
from ..scan.summary import Expr
from .symbols import ClassTarget

if TYPE_CHECKING:
    from .context import Context


def build_enum(ctx: Context, cls: ClassTarget) -> EnumIR:
    string_auto = "enum.StrEnum" in ctx.external_bases(cls)
    members: list[EnumMember] = []
    last_int = 0
    for attribute in cls.summary.attributes:
        if attribute.value is None or attribute.name.startswith("_"):
            continue
        value = _member_value(ctx, cls.module, attribute.value)
        if value is _AUTO:
            value = attribute.name.lower() if string_auto else last_int + 1
        if isinstance(value, int) and not isinstance(value, bool):
            last_int = value
        members.append(EnumMember(name=attribute.name, value=value))
    file = ctx.symbols.file(cls.module)
    return EnumIR(
        id=cls.id,
        name=cls.summary.name,
        module=cls.module,
        source=SourceRef(path=file.source.path, line=cls.summary.line, col=cls.summary.col),
        docstring=cls.summary.docstring,
        members=members,
    )


_AUTO = object()


def _member_value(ctx: Context, module: str, expr: Expr) -> Any:
    """A constant's value, `_AUTO` for `auto()`, None for anything computed."""
    if expr.kind == "call" and ctx.symbols.qualname(module, expr.name or "") == "enum.auto":
        return _AUTO
    if expr.kind == "const":
        return expr.value
    return None
