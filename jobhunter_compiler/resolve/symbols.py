"""Name resolution across the scanned modules: our own small import table.

libcst's `QualifiedNameProvider` was measured ~7x slower than parsing itself, and it stops
at the file boundary anyway. Here each module gets a table of what its top-level names
are bound to (a class, function or assignment of its own, or an import), and a dotted name
is followed through imports, re-exports, star imports and submodules until it lands on a
definition in the project or leaves it (`External`, e.g. `beanie.Document`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from ..scan.scanner import ScannedFile, absolute_module
from ..scan.summary import Assignment, ClassSummary, FunctionSummary, ImportBinding

_BUILTINS = frozenset(dir(builtins))
_MAX_DEPTH = 64  # import chains deeper than this are cycles


@dataclass(frozen=True)
class ClassTarget:
    module: str
    summary: ClassSummary

    @property
    def id(self) -> str:
        return f"{self.module}.{self.summary.name}"


@dataclass(frozen=True)
class FunctionTarget:
    module: str
    summary: FunctionSummary


@dataclass(frozen=True)
class ValueTarget:
    """A module-level assignment: a constant or a type alias."""

    module: str
    assignment: Assignment


@dataclass(frozen=True)
class ModuleTarget:
    module: str


@dataclass(frozen=True)
class EnumMemberTarget:
    enum: ClassTarget
    member: str


@dataclass(frozen=True)
class External:
    """A name from outside the project, canonicalised (`beanie.odm.fields.Link` ->
    `beanie.Link`) so callers compare against one spelling."""

    qualname: str


Target = ClassTarget | FunctionTarget | ValueTarget | ModuleTarget | EnumMemberTarget | External

# Libraries whose public names we recognise by their last component, wherever inside the
# package they are defined or re-exported from.
_FLATTENED_ROOTS = (
    "beanie",
    "pydantic",
    "pymongo",
    "jobhunter_compiler",
    "jobhunter_runtime",
    "bson",
)


def canonical(qualname: str) -> str:
    root, _, rest = qualname.partition(".")
    if root == "typing_extensions":
        return f"typing.{rest}" if rest else "typing"
    if root in _FLATTENED_ROOTS and rest:
        return f"{root}.{rest.rsplit('.', 1)[-1]}"
    return qualname


class _ModuleTable:
    def __init__(self, file: ScannedFile) -> None:
        self.file = file
        self.bindings: dict[str, object] = {}
        self.star_imports: list[ImportBinding] = []
        summary = file.summary
        entries: list[tuple[int, str, object]] = []
        for binding in summary.imports:
            if binding.local == "*":
                self.star_imports.append(binding)
            else:
                entries.append((binding.line, binding.local, binding))
        entries.extend((c.line, c.name, c) for c in summary.classes)
        entries.extend((f.line, f.name, f) for f in summary.functions)
        entries.extend((a.line, a.name, a) for a in summary.assignments)
        # Later bindings win, as at run time. A bare annotation (`x: int`) binds nothing.
        for _, name, value in sorted(entries, key=lambda e: e[0]):
            if isinstance(value, Assignment) and value.value is None:
                continue
            self.bindings[name] = value

    @cached_property
    def public_names(self) -> list[str]:
        if self.file.summary.all_names is not None:
            return self.file.summary.all_names
        return [name for name in self.bindings if not name.startswith("_")]


class SymbolTable:
    """Modules' tables are built on first use, so resolving after one edit unpickles the
    summaries of the modules it reaches and no others. Every `resolve` reports the modules
    whose contents it read to `on_read` (the resolver's dependency tracking); which modules
    exist is a fact about the file list, not about any one module, and is not reported."""

    def __init__(self, files: list[ScannedFile]) -> None:
        self._files = {f.source.module: f for f in files if f.header.syntax_error is None}
        self._tables: dict[str, _ModuleTable] = {}
        self._packages = {m.rsplit(".", n)[0] for m in self._files for n in range(m.count(".") + 1)}
        self._resolved: dict[tuple[str, str], tuple[Target | None, frozenset[str]]] = {}
        self._reading: set[str] = set()
        self.on_read: Callable[[frozenset[str]], None] = lambda modules: None

    def file(self, module: str) -> ScannedFile:
        return self._files[module]

    def _table(self, module: str) -> _ModuleTable | None:
        """The module's bindings; reading them makes the caller depend on the module."""
        if module not in self._files:
            return None
        self._reading.add(module)
        table = self._tables.get(module)
        if table is None:
            table = self._tables[module] = _ModuleTable(self._files[module])
        return table

    def resolve(self, module: str, dotted: str) -> Target | None:
        """What `dotted`, written in `module`, refers to; None if it is unbound."""
        key = (module, dotted)
        entry = self._resolved.get(key)
        if entry is None:
            self._reading = set()
            target = self._resolve(module, dotted)
            entry = self._resolved[key] = (target, frozenset(self._reading))
        self.on_read(entry[1])
        return entry[0]

    def _resolve(self, module: str, dotted: str) -> Target | None:
        head, *rest = dotted.split(".")
        target = self._lookup(module, head, 0)
        if target is None:
            if head not in _BUILTINS:
                return None
            target = External(f"builtins.{head}")
        for part in rest:
            target = self._member(target, part, 0)
            if target is None:
                return None
        return target

    def qualname(self, module: str, dotted: str) -> str | None:
        """The canonical external name `dotted` resolves to, or None if it is ours/unbound."""
        target = self.resolve(module, dotted)
        return target.qualname if isinstance(target, External) else None

    def _lookup(self, module: str, name: str, depth: int) -> Target | None:
        if depth > _MAX_DEPTH:
            return None
        table = self._table(module)
        if table is None:
            return None
        value = table.bindings.get(name)
        if value is None:
            for star in table.star_imports:
                base = absolute_module(table.file.source, star.module, star.level)
                if base is None:
                    continue
                star_table = self._table(base)
                if star_table is not None and name in star_table.public_names:
                    return self._lookup(base, name, depth + 1)
                # A star import from outside the project could bind anything; we cannot know.
            return None
        if isinstance(value, ClassSummary):
            return ClassTarget(module, value)
        if isinstance(value, FunctionSummary):
            return FunctionTarget(module, value)
        if isinstance(value, Assignment):
            return ValueTarget(module, value)
        assert isinstance(value, ImportBinding)
        return self._follow_import(table, value, depth + 1)

    def _follow_import(
        self, table: _ModuleTable, binding: ImportBinding, depth: int
    ) -> Target | None:
        base = absolute_module(table.file.source, binding.module, binding.level)
        if base is None:
            return None
        if binding.name is None:
            return self._module(base)
        if base in self._files:
            found = self._lookup(base, binding.name, depth)
            if found is not None:
                return found
        submodule = f"{base}.{binding.name}" if base else binding.name
        if submodule in self._packages:
            return ModuleTarget(submodule)
        if base in self._packages:
            return None  # our module, but it does not define the name
        return External(canonical(submodule))

    def _module(self, module: str) -> Target:
        if module in self._packages:
            return ModuleTarget(module)
        return External(canonical(module))

    def _member(self, target: Target, part: str, depth: int) -> Target | None:
        if isinstance(target, ModuleTarget):
            found = self._lookup(target.module, part, depth + 1)
            if found is not None:
                return found
            submodule = f"{target.module}.{part}"
            return ModuleTarget(submodule) if submodule in self._packages else None
        if isinstance(target, External):
            return External(canonical(f"{target.qualname}.{part}"))
        if isinstance(target, ClassTarget):
            return EnumMemberTarget(target, part)
        return None
