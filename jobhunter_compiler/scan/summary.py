"""What the scanner keeps of one source file: plain data, no libcst objects.

A `ModuleSummary` depends only on the file's bytes (not its path or module name), which is
what lets it be cached by content hash and computed in a worker process. Names are left
unresolved here, exactly as written; `resolve/` binds them once every file is loaded, the
way griffe resolves aliases after loading.

These are slotted dataclasses rather than pydantic models, unlike the other structures
that cross a stage boundary: a 1,000-model project has ~170,000 of them, built in worker
processes, pickled back and kept in the scan cache, and pydantic's construction and
unpickling measured 3-5x slower. They are only ever built by `extract.py`, so there is
nothing to validate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

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


@dataclass(slots=True)
class Keyword:
    name: str
    value: Expr


@dataclass(slots=True)
class Expr:
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
    items: list[Expr] = field(default_factory=list)
    values: list[Expr] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
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


@dataclass(slots=True)
class ImportBinding:
    """`import a.b as c` -> local c, module a.b; `from ..x import y as z` -> local z,
    module x, name y, level 2; `from x import *` -> local `*`."""

    local: str
    module: str
    line: int
    name: str | None = None
    level: int = 0


@dataclass(slots=True)
class Assignment:
    """`name = value` or `name: annotation = value` (module level or class body)."""

    name: str
    line: int
    col: int
    annotation: Expr | None = None
    value: Expr | None = None


@dataclass(slots=True)
class SettingsSummary:
    """Beanie's inner `class Settings`: the collection name, indexes and document kind
    (an `is_root` hierarchy, a `union_doc` member) as written."""

    name: Expr | None = None
    indexes: Expr | None = None
    is_root: Expr | None = None
    union_doc: Expr | None = None


@dataclass(slots=True)
class ClassSummary:
    name: str
    line: int
    col: int
    docstring: str | None = None
    bases: list[Expr] = field(default_factory=list)
    decorators: list[Expr] = field(default_factory=list)
    attributes: list[Assignment] = field(default_factory=list)
    """Class-body assignments in source order."""
    settings: SettingsSummary | None = None
    collection_class: tuple[int, int] | None = None
    """Where an inner `class Collection:` (Beanie 1's Settings) is declared."""


@dataclass(slots=True)
class Parameter:
    name: str
    annotation: Expr | None = None


@dataclass(slots=True)
class FunctionSummary:
    name: str
    line: int
    col: int
    is_async: bool
    docstring: str | None = None
    decorators: list[Expr] = field(default_factory=list)
    parameters: list[Parameter] = field(default_factory=list)
    returns: Expr | None = None


@dataclass(slots=True)
class SyntaxProblem:
    """Why a file could not be read: JH001 (syntax) or JH003 (encoding)."""

    message: str
    line: int
    col: int
    code: str = "JH001"


@dataclass(slots=True)
class ModuleHeader:
    """The part of a summary every compile reads for every file: which project modules
    to scan next, and whether the file parsed. Cached apart from the full summary, which
    is only unpickled when name resolution reaches the file."""

    imports: list[ImportBinding]
    syntax_error: SyntaxProblem | None


@dataclass(slots=True)
class ModuleSummary:
    imports: list[ImportBinding] = field(default_factory=list)
    classes: list[ClassSummary] = field(default_factory=list)
    functions: list[FunctionSummary] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    all_names: list[str] | None = None
    syntax_error: SyntaxProblem | None = None

    @property
    def header(self) -> ModuleHeader:
        return ModuleHeader(imports=self.imports, syntax_error=self.syntax_error)
