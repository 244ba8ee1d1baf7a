"""What the scanner keeps of one source file: plain data, no libcst objects.

A `ModuleSummary` depends only on the file's bytes (not its path or module name), which is
what lets it be cached by content hash and computed in a worker process. Names are left
unresolved here, exactly as written; `resolve/` binds them once every file is loaded, the
way griffe resolves aliases after loading.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, Field

Scalar = str | int | float | bool | None

ExprKind = Literal[
    "name",
    "const",
    "forward",
    "ellipsis",
    "list",
    "tuple",
    "set",
    "dict",
    "call",
    "subscript",
    "union",
    "other",
]


class Keyword(BaseModel):
    name: str
    value: Expr


class Expr(BaseModel):
    """An expression reduced to what static analysis needs.

    name: `name` holds the dotted name (`jh.datamodel`). const: `value`. list/tuple/set:
    `items`. dict: `items` (keys) and `values`. call: `name` is the dotted callee, `items`
    the positional and `keywords` the keyword arguments. subscript: `name` is the dotted
    base, `items` the slice elements. union: `items` are the members of `A | B`.
    forward: a string inside an annotation; `value` is the string and `items` holds the
    expression it spells when it parses (`"Job"` in `Link["Job"]`).
    other: anything else, kept as source `text`.
    """

    kind: ExprKind
    line: int
    col: int
    name: str | None = None
    value: Scalar = None
    items: list[Expr] = Field(default_factory=list)
    values: list[Expr] = Field(default_factory=list)
    keywords: list[Keyword] = Field(default_factory=list)
    text: str | None = None

    def unquoted(self) -> Expr:
        """The expression a forward reference spells, or the expression itself."""
        return self.items[0] if self.kind == "forward" and self.items else self

    def keyword(self, name: str) -> Expr | None:
        return next((k.value for k in self.keywords if k.name == name), None)

    def to_source(self) -> str:
        """The expression as normalised source text (double quotes, single spaces)."""
        if self.kind == "name":
            return self.name or ""
        if self.kind in ("const", "forward"):
            return json.dumps(self.value) if isinstance(self.value, str) else repr(self.value)
        if self.kind == "ellipsis":
            return "..."
        parts = [item.to_source() for item in self.items]
        if self.kind == "list":
            return f"[{', '.join(parts)}]"
        if self.kind == "set":
            return f"{{{', '.join(parts)}}}"
        if self.kind == "tuple":
            return f"({parts[0]},)" if len(parts) == 1 else f"({', '.join(parts)})"
        if self.kind == "dict":
            pairs = (f"{k}: {v.to_source()}" for k, v in zip(parts, self.values, strict=True))
            return f"{{{', '.join(pairs)}}}"
        if self.kind == "call":
            arguments = [*parts, *(f"{k.name}={k.value.to_source()}" for k in self.keywords)]
            return f"{self.name}({', '.join(arguments)})"
        if self.kind == "subscript":
            return f"{self.name}[{', '.join(parts)}]"
        if self.kind == "union":
            return " | ".join(parts)
        return self.text or ""


class ImportBinding(BaseModel):
    """`import a.b as c` -> local c, module a.b; `from ..x import y as z` -> local z,
    module x, name y, level 2; `from x import *` -> local `*`."""

    local: str
    module: str
    name: str | None = None
    level: int = 0
    line: int


class Assignment(BaseModel):
    """`name = value` or `name: annotation = value` (module level or class body)."""

    name: str
    line: int
    col: int
    annotation: Expr | None = None
    value: Expr | None = None


class SettingsSummary(BaseModel):
    """Beanie's inner `class Settings`: the collection name and indexes as written."""

    name: Expr | None = None
    indexes: Expr | None = None


class ClassSummary(BaseModel):
    name: str
    line: int
    col: int
    docstring: str | None = None
    bases: list[Expr] = Field(default_factory=list)
    decorators: list[Expr] = Field(default_factory=list)
    attributes: list[Assignment] = Field(
        default_factory=list, description="Class-body assignments in source order."
    )
    settings: SettingsSummary | None = None


class Parameter(BaseModel):
    name: str
    annotation: Expr | None = None


class FunctionSummary(BaseModel):
    name: str
    line: int
    col: int
    is_async: bool
    docstring: str | None = None
    decorators: list[Expr] = Field(default_factory=list)
    parameters: list[Parameter] = Field(default_factory=list)
    returns: Expr | None = None


class SyntaxProblem(BaseModel):
    """Why a file could not be read: JH001 (syntax) or JH003 (encoding)."""

    code: str = "JH001"
    message: str
    line: int
    col: int


class ModuleSummary(BaseModel):
    imports: list[ImportBinding] = Field(default_factory=list)
    classes: list[ClassSummary] = Field(default_factory=list)
    functions: list[FunctionSummary] = Field(default_factory=list)
    assignments: list[Assignment] = Field(default_factory=list)
    all_names: list[str] | None = None
    syntax_error: SyntaxProblem | None = None


Keyword.model_rebuild()
