"""State shared while building the IR: symbols, what each class is, collected schemas and
enums, and the diagnostics found on the way.

Values and class kinds are computed from source alone: a decorator argument is accepted
when it is a literal or a name bound (possibly through imports) to a module-level literal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from ..diagnostics import Diagnostic, diagnostic
from ..ir import EnumIR, FieldIR, SchemaIR
from ..scan.summary import Expr
from .symbols import ClassTarget, EnumMemberTarget, External, SymbolTable, Target, ValueTarget

T = TypeVar("T")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ClassKind(StrEnum):
    DOCUMENT = "document"
    MODEL = "model"  # a pydantic BaseModel that is not a Document
    ENUM = "enum"
    OTHER = "other"
    UNKNOWN = "unknown"  # derives from something outside the project we do not know


_EXTERNAL_KINDS = {
    "beanie.Document": ClassKind.DOCUMENT,
    "beanie.DocumentWithSoftDelete": ClassKind.DOCUMENT,
    "beanie.View": ClassKind.DOCUMENT,
    "pydantic.BaseModel": ClassKind.MODEL,
    "pydantic.RootModel": ClassKind.MODEL,
    "enum.Enum": ClassKind.ENUM,
    "enum.IntEnum": ClassKind.ENUM,
    "enum.StrEnum": ClassKind.ENUM,
    "enum.Flag": ClassKind.ENUM,
    "enum.IntFlag": ClassKind.ENUM,
    "builtins.object": ClassKind.OTHER,
    "typing.Generic": ClassKind.OTHER,
    "abc.ABC": ClassKind.OTHER,
}
# Plain-type mixins (`class Status(str, Enum)`) decide nothing on their own.
_MIXINS = {"builtins.str", "builtins.int", "builtins.float", "builtins.bytes"}
_PRECEDENCE = [
    ClassKind.DOCUMENT,
    ClassKind.MODEL,
    ClassKind.ENUM,
    ClassKind.UNKNOWN,
    ClassKind.OTHER,
]


class NotLiteral(Exception):
    """Raised by `literal()` with the sub-expression that is not a literal."""

    def __init__(self, expr: Expr) -> None:
        super().__init__(expr.to_source())
        self.expr = expr


@dataclass
class Trace:
    """What one computation read and produced, so that its result can be reused while what
    it read is unchanged: the modules whose contents it read, whether it read the table of
    model names, and the diagnostics it reported and the schemas and enums it reached,
    directly or through results computed once and shared (a base class's fields)."""

    modules: set[str] = field(default_factory=set)
    names: bool = False
    diagnostics: dict[int, Diagnostic] = field(default_factory=dict)
    """By identity: a shared result's diagnostics reach a trace once however often it is
    reused."""
    schemas: set[str] = field(default_factory=set)
    enums: set[str] = field(default_factory=set)

    def absorb(self, other: Trace) -> None:
        self.modules |= other.modules
        self.names = self.names or other.names
        self.diagnostics.update(other.diagnostics)
        self.schemas |= other.schemas
        self.enums |= other.enums


EnumBuilder = Callable[["Context", ClassTarget], tuple[EnumIR, dict[str, Any]]]
SchemaBuilder = Callable[["Context", ClassTarget], SchemaIR]


class Context:
    def __init__(
        self, symbols: SymbolTable, build_enum: EnumBuilder, build_schema: SchemaBuilder
    ) -> None:
        self.symbols = symbols
        self._build_enum = build_enum
        self.build_schema = build_schema
        """Builds (once) the SchemaIR of a nested pydantic class a field type names. Given
        by the resolver, which knows the field rules, so that types and fields do not
        import each other."""
        symbols.on_read = self._read
        self.schemas: dict[str, SchemaIR] = {}
        self.schema_traces: dict[str, Trace] = {}
        self.enums: dict[str, EnumIR] = {}
        self.enum_traces: dict[str, Trace] = {}
        self.model_names: dict[str, str] = {}
        """Class id -> model name, for every @datamodel class; read it through
        `model_name` and `known_model_names`, which record the dependency."""
        self.fields: dict[str, tuple[list[FieldIR], Trace | None]] = {}
        """Class id -> its fields, computed once per class (None: being computed)."""
        self._kinds: dict[str, tuple[ClassKind, Trace | None]] = {}
        self._enum_values: dict[str, dict[str, Any]] = {}
        self._traces: list[Trace] = []
        self._known_names: frozenset[str] | None = None

    # -- dependency tracking ----------------------------------------------------------

    @contextmanager
    def tracing(self, trace: Trace | None = None) -> Iterator[Trace]:
        """Record into `trace` (a new one by default) what the block reads and reports;
        the enclosing trace, if any, gets it all too."""
        trace = Trace() if trace is None else trace
        self._traces.append(trace)
        try:
            yield trace
        finally:
            self._traces.pop()
            self.reuse(trace)

    def reuse(self, trace: Trace | None) -> None:
        """A result computed under `trace` is used: whoever uses it depends on it too."""
        if trace is not None and self._traces:
            self._traces[-1].absorb(trace)

    def _read(self, modules: frozenset[str]) -> None:
        if self._traces:
            self._traces[-1].modules |= modules

    def model_name(self, class_id: str) -> str | None:
        """The model name of a @datamodel class, None for any other class."""
        if self._traces:
            self._traces[-1].names = True
        return self.model_names.get(class_id)

    @property
    def known_model_names(self) -> frozenset[str]:
        """Every model name; read only once all decorators have been read."""
        if self._traces:
            self._traces[-1].names = True
        if self._known_names is None:
            self._known_names = frozenset(self.model_names.values())
        return self._known_names

    def report(
        self,
        code: str,
        message: str,
        module: str,
        where: Expr | tuple[int, int],
        hint: str | None = None,
    ) -> None:
        line, col = (where.line, where.col) if isinstance(where, Expr) else where
        path = self.symbols.file(module).source.path
        reported = diagnostic(code, message, path, line, col, hint)
        assert self._traces, "every diagnostic belongs to the unit whose resolution found it"
        self._traces[-1].diagnostics[id(reported)] = reported

    # -- classes ----------------------------------------------------------------------

    def base_targets(self, cls: ClassTarget) -> list[Target | None]:
        return [self.resolve_expr(cls.module, base) for base in cls.summary.bases]

    def resolve_expr(self, module: str, expr: Expr) -> Target | None:
        """What a name, `a.b`, or the head of `Generic[T]` refers to."""
        if expr.kind == "forward" and expr.items:
            return self.resolve_expr(module, expr.items[0])
        if expr.kind in ("name", "subscript") and expr.name:
            return self.symbols.resolve(module, expr.name)
        return None

    def class_kind(self, cls: ClassTarget) -> ClassKind:
        known = self._kinds.get(cls.id)
        if known is not None:
            self.reuse(known[1])
            return known[0]
        self._kinds[cls.id] = (ClassKind.OTHER, None)  # guards inheritance cycles
        kinds = set()
        with self.tracing() as trace:
            trace.modules.add(cls.module)
            for target in self.base_targets(cls):
                if isinstance(target, ClassTarget):
                    kinds.add(self.class_kind(target))
                elif isinstance(target, External):
                    if target.qualname not in _MIXINS:
                        kinds.add(_EXTERNAL_KINDS.get(target.qualname, ClassKind.UNKNOWN))
                else:
                    kinds.add(ClassKind.UNKNOWN)
        kind = next((k for k in _PRECEDENCE if k in kinds), ClassKind.OTHER)
        self._kinds[cls.id] = (kind, trace)
        return kind

    def is_pydantic(self, cls: ClassTarget) -> bool:
        return self.class_kind(cls) in (ClassKind.DOCUMENT, ClassKind.MODEL)

    def external_bases(self, cls: ClassTarget) -> set[str]:
        """Canonical names of external classes anywhere in `cls`'s ancestry."""
        names: set[str] = set()
        for target in self.base_targets(cls):
            if isinstance(target, External):
                names.add(target.qualname)
            elif isinstance(target, ClassTarget) and target.id != cls.id:
                names |= self.external_bases(target)
        return names

    # -- values -----------------------------------------------------------------------

    def text(self, module: str, where: Expr | tuple[int, int], value: T) -> T:
        """A string read from source, as the IR may hold it. A lone surrogate (`"\\ud800"`)
        is a valid Python string that no UTF-8 file can hold: it is reported (JH011) and
        replaced by U+FFFD, so the node still serialises on the way to that error."""
        if not isinstance(value, str) or value.isascii():
            return value
        match = _SURROGATE.search(value)
        if match is None:
            return value
        message = f"this string holds a lone surrogate {match[0]!r}, which UTF-8 cannot encode"
        self.report("JH011", message, module, where)
        return _SURROGATE.sub("\ufffd", value)  # type: ignore[return-value]

    def literal_or_none(self, module: str, expr: Expr | None) -> Any:
        """`literal()` where a missing or computed value simply means "not given"."""
        if expr is None:
            return None
        try:
            return self.literal(module, expr)
        except NotLiteral:
            return None

    def literal(self, module: str, expr: Expr, depth: int = 0) -> Any:
        """The Python value of a literal expression, following names to module-level
        literals (also across imports) and enum members to their values."""
        if depth > 32:
            raise NotLiteral(expr)
        if expr.kind in ("const", "forward"):
            return self.text(module, expr, expr.value)
        if expr.kind in ("list", "tuple", "set"):
            items = [self.literal(module, item, depth + 1) for item in expr.items]
            return tuple(items) if expr.kind == "tuple" else items
        if expr.kind == "dict":
            keys = [self.literal(module, key, depth + 1) for key in expr.items]
            values = [self.literal(module, value, depth + 1) for value in expr.values]
            if not all(isinstance(k, str | int | float | bool) or k is None for k in keys):
                raise NotLiteral(expr)
            return dict(zip(keys, values, strict=True))
        if expr.kind == "name" and expr.name:
            target = self.symbols.resolve(module, expr.name)
            if isinstance(target, ValueTarget) and target.assignment.value is not None:
                return self.literal(target.module, target.assignment.value, depth + 1)
            if isinstance(target, EnumMemberTarget):
                member = self.enum_member(target)
                if member is not None:
                    return member
        raise NotLiteral(expr)

    def enum_member(self, target: EnumMemberTarget) -> Any:
        if self.enum_of(target.enum) is None:
            return None
        return self._enum_values[target.enum.id].get(target.member)

    def enum_of(self, cls: ClassTarget) -> EnumIR | None:
        """The EnumIR of an Enum class (built once, recorded in `self.enums`)."""
        if self.class_kind(cls) is not ClassKind.ENUM:
            return None
        if cls.id in self.enums:
            self.reuse(self.enum_traces.get(cls.id))
        else:
            with self.tracing() as trace:
                trace.modules.add(cls.module)
                trace.enums.add(cls.id)
                self.enums[cls.id], self._enum_values[cls.id] = self._build_enum(self, cls)
            self.enum_traces[cls.id] = trace
        return self.enums[cls.id]
