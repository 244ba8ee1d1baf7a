"""Python source pieces shared by the emitters of Python code (API now, CLI next): type
annotations from `TypeRef`s, literals, identifiers, and import blocks.

A field kind is taught to the Python emitters here and nowhere else: `PYTHON_KINDS` maps
each `TypeKind` to the function that spells it. Names imported from user modules go
through `Imports`, which gives each one a local name that clashes with nothing else in the
generated module.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..ir import ProjectIR, TypeKind, TypeRef

LinkStyle = Literal["id", "str"]
"""How a `Link[...]` field is spelled: `id` (the target's id type, for request bodies) or
`str` (the id as a string, for responses)."""


@dataclass
class Imports:
    """`from module import name [as alias]` lines of one generated module.

    `reserved` holds the names the module defines itself; an imported name that clashes
    with one of them, or with another import, gets an alias (`Status` -> `Status2`).
    `claim()` keeps a plain name for an import the module may need later (pydantic's
    `Field`), so a user class of that name is the one that gets the alias.

    `shadowed` holds the field names the module's classes declare: in a class body a
    field `date: date` rebinds `date` before pydantic reads the annotations, so a type of
    that name is imported under a private alias (`from datetime import date as _date`),
    builtins included (`builtin()`).
    """

    reserved: set[str] = field(default_factory=set)
    shadowed: set[str] = field(default_factory=set)
    _local: dict[tuple[str, str], str] = field(default_factory=dict)
    _taken: set[str] = field(default_factory=set)
    _used: set[tuple[str, str]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._taken |= self.reserved

    def claim(self, module: str, name: str) -> None:
        self._allocate((module, name))

    def name(self, module: str, name: str) -> str:
        """The local name under which `module.name` is usable; imports it if needed."""
        key = (module, name)
        self._used.add(key)
        return self._allocate(key)

    def _allocate(self, key: tuple[str, str], *, as_spelled: bool = False) -> str:
        if key not in self._local:
            private = key[1] in self.shadowed and not as_spelled
            name = f"_{key[1]}" if private else key[1]
            local, n = name, 1
            while local in self._taken or (private and local in self.shadowed):
                n += 1
                local = f"{name}{n}"
            self._taken.add(local)
            self._local[key] = local
        return self._local[key]

    def builtin(self, name: str) -> str:
        """A builtin (`str`, `list`) as the module can spell it: imported from `builtins`
        under a private alias only where a field name shadows it."""
        return self.name("builtins", name) if name in self.shadowed else name

    def names(self, module: str, *names: str) -> None:
        """Import several names a template spells as they are (a template prints them
        before any field of its classes, so no field name shadows them)."""
        for name in names:
            self._used.add((module, name))
            self._allocate((module, name), as_spelled=True)

    def qualified(self, qualified_name: str) -> str:
        module, _, name = qualified_name.rpartition(".")
        return self.name(module, name)

    def blocks(self, first_party: Iterable[str] = ()) -> list[list[str]]:
        """Import lines in isort's groups: standard library, third party, then the
        modules in `first_party` (prefixes), each group sorted."""
        by_module: dict[str, list[str]] = {}
        for (module, name), local in self._local.items():
            if (module, name) in self._used:
                spelled = name if local == name else f"{name} as {local}"
                by_module.setdefault(module, []).append(spelled)
        prefixes = tuple(first_party)
        groups: list[list[str]] = [[], [], []]
        for module in sorted(by_module):
            names = ", ".join(sorted(by_module[module], key=_isort_key))
            line = f"from {module} import {names}"
            if module.partition(".")[0] in sys.stdlib_module_names:
                groups[0].append(line)
            elif module.startswith(prefixes):
                groups[2].append(line)
            else:
                groups[1].append(line)
        return [group for group in groups if group]


def _isort_key(spelled: str) -> tuple[int, str]:
    # isort's force_sort_within_sections=false order: CONSTANTS, Classes, functions.
    name = spelled.split(" as ")[0]
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower()


# --------------------------------------------------------------------------- annotations


@dataclass(frozen=True)
class AnnotationContext:
    ir: ProjectIR
    imports: Imports
    links: LinkStyle
    model_id_types: dict[str, TypeRef]
    """Model name -> the type of its `id` (ObjectId unless the model declares another)."""
    limits: bool = True
    """Item types carry their limits (`Annotated[str, Field(max_length=5)]`): a body checks
    them, as it checks the field's own; a response shows what is stored."""


VALUE_CONSTRAINTS = (
    "gt",
    "ge",
    "lt",
    "le",
    "multiple_of",
    "min_length",
    "max_length",
    "pattern",
    "max_digits",
    "decimal_places",
    "strict",
)
"""The constraints generated code passes on to pydantic (`Field(...)` arguments), in the
order it writes them."""


def constraint_arguments(constraints: dict[str, Any]) -> list[str]:
    """`key=value` for each of `VALUE_CONSTRAINTS` that `constraints` holds."""
    return [f"{k}={python_literal(constraints[k])}" for k in VALUE_CONSTRAINTS if k in constraints]


def annotation(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    """The Python annotation for `type_ref`, with `| None` when it is nullable; an item
    type's limits as `Annotated[T, Field(...)]`."""
    python_kind = PYTHON_KINDS[type_ref.kind]
    spelled = python_kind.spell(type_ref, ctx)
    limits = constraint_arguments(type_ref.constraints) if ctx.limits else []
    if limits:
        annotated = ctx.imports.name("typing", "Annotated")
        spelled = (
            f"{annotated}[{spelled}, {ctx.imports.name('pydantic', 'Field')}({', '.join(limits)})]"
        )
    if type_ref.nullable and not python_kind.holds_none:
        return f"{spelled} | None"
    return spelled


def _simple(module: str, name: str) -> Callable[[TypeRef, AnnotationContext], str]:
    """`module.name`, or the refined type the model spells (`UUID4`), which validates
    unlike the plain one."""

    def spell(type_ref: TypeRef, ctx: AnnotationContext) -> str:
        if type_ref.type_name is not None:
            return ctx.imports.qualified(type_ref.type_name)
        return ctx.imports.name(module, name)

    return spell


def _builtin(name: str) -> Callable[[TypeRef, AnnotationContext], str]:
    return lambda _t, ctx: ctx.imports.builtin(name)


def _items(type_ref: TypeRef, ctx: AnnotationContext) -> list[str]:
    return [annotation(arg, ctx) for arg in type_ref.args]


def _container(name: str, arity: int) -> Callable[[TypeRef, AnnotationContext], str]:
    def spell(type_ref: TypeRef, ctx: AnnotationContext) -> str:
        items = _items(type_ref, ctx)
        if len(items) != arity:
            items = ([ctx.imports.name("typing", "Any")] * arity)[:arity]
        return f"{ctx.imports.builtin(name)}[{', '.join(items)}]"

    return spell


def _tuple(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    items = _items(type_ref, ctx)
    spelled = ctx.imports.builtin("tuple")
    if not items:
        return f"{spelled}[{ctx.imports.name('typing', 'Any')}, ...]"
    if len(items) == 1:  # the IR drops `...`: `tuple[int, ...]` arrives as one item
        return f"{spelled}[{items[0]}, ...]"
    return f"{spelled}[{', '.join(items)}]"


def _union(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    return " | ".join(_items(type_ref, ctx)) or ctx.imports.name("typing", "Any")


def _literal(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    values = ", ".join(python_literal(v) for v in type_ref.values)
    return f"{ctx.imports.name('typing', 'Literal')}[{values}]"


def _declared(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    """An Enum or a nested BaseModel: the user's own class, imported from its module."""
    return ctx.imports.qualified(type_ref.ref or "")


def _embedded_model(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    model = ctx.ir.model(type_ref.ref or "")
    if model is None:
        return ctx.imports.name("typing", "Any")
    return ctx.imports.name(model.module, model.class_name)


def _link(type_ref: TypeRef, ctx: AnnotationContext) -> str:
    if ctx.links == "str":
        return ctx.imports.builtin("str")
    id_type = ctx.model_id_types.get(type_ref.ref or "", TypeRef(kind=TypeKind.OBJECT_ID))
    return annotation(id_type.model_copy(update={"nullable": False}), ctx)


@dataclass(frozen=True)
class PythonKind:
    """How the Python emitters spell one kind as an annotation."""

    spell: Callable[[TypeRef, AnnotationContext], str]
    holds_none: bool = False
    """`None` is already a value of the type (`Any`, `None`): a nullable one gets no `| None`."""


PYTHON_KINDS: dict[TypeKind, PythonKind] = {
    TypeKind.STR: PythonKind(_builtin("str")),
    TypeKind.INT: PythonKind(_builtin("int")),
    TypeKind.FLOAT: PythonKind(_builtin("float")),
    TypeKind.BOOL: PythonKind(_builtin("bool")),
    TypeKind.BYTES: PythonKind(_builtin("bytes")),
    TypeKind.NONE: PythonKind(_builtin("None"), holds_none=True),
    TypeKind.DECIMAL: PythonKind(_simple("decimal", "Decimal")),
    TypeKind.DATETIME: PythonKind(_simple("datetime", "datetime")),
    TypeKind.DATE: PythonKind(_simple("datetime", "date")),
    TypeKind.TIME: PythonKind(_simple("datetime", "time")),
    TypeKind.TIMEDELTA: PythonKind(_simple("datetime", "timedelta")),
    TypeKind.UUID: PythonKind(_simple("uuid", "UUID")),
    TypeKind.OBJECT_ID: PythonKind(_simple("beanie", "PydanticObjectId")),
    TypeKind.SECRET_STR: PythonKind(_simple("pydantic", "SecretStr")),
    TypeKind.SECRET_BYTES: PythonKind(_simple("pydantic", "SecretBytes")),
    TypeKind.PATH: PythonKind(_simple("pathlib", "Path")),
    TypeKind.IPV4_ADDRESS: PythonKind(_simple("ipaddress", "IPv4Address")),
    TypeKind.IPV6_ADDRESS: PythonKind(_simple("ipaddress", "IPv6Address")),
    TypeKind.IP_ADDRESS: PythonKind(_simple("pydantic", "IPvAnyAddress")),
    TypeKind.EMAIL: PythonKind(_simple("pydantic", "EmailStr")),
    TypeKind.URL: PythonKind(_simple("pydantic", "AnyUrl")),
    TypeKind.ANY: PythonKind(_simple("typing", "Any"), holds_none=True),
    TypeKind.UNKNOWN: PythonKind(_simple("typing", "Any")),
    TypeKind.LIST: PythonKind(_container("list", 1)),
    TypeKind.SET: PythonKind(_container("set", 1)),
    TypeKind.DICT: PythonKind(_container("dict", 2)),
    TypeKind.TUPLE: PythonKind(_tuple),
    TypeKind.UNION: PythonKind(_union),
    TypeKind.LITERAL: PythonKind(_literal),
    TypeKind.ENUM: PythonKind(_declared),
    TypeKind.SCHEMA: PythonKind(_declared),
    TypeKind.MODEL: PythonKind(_embedded_model),
    TypeKind.LINK: PythonKind(_link),
    TypeKind.BACKLINK: PythonKind(_link),
    TypeKind.DOCUMENT_LINK: PythonKind(_simple("jobhunter_runtime.records", "DocumentRef")),
}


# --------------------------------------------------------------------------- literals


def python_literal(value: Any) -> str:
    """A JSON value spelled as Python source (strings double-quoted, like black)."""
    if isinstance(value, str):
        return _string(value)
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f'float("{value}")'
        return repr(value)
    if isinstance(value, list | tuple):  # a tuple default is a JSON array in the IR too
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_string(str(k))}: {python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def _string(text: str) -> str:
    spelled = repr(text)
    if spelled.startswith("'") and '"' not in text:
        spelled = '"' + spelled[1:-1].replace("\\'", "'") + '"'
    return spelled


_DOCSTRING_ESCAPED = re.compile(r'[\\"]|[^\n -~]')


def docstring_text(text: str) -> str:
    """`text` as the inside of a `\"\"\"` docstring: line breaks stay; a backslash, and
    anything `repr` would escape (NUL, other controls, invisible characters), are escaped;
    so is a quote that could close the docstring (one before another quote, or the last)."""

    def escape(match: re.Match[str]) -> str:
        char = match[0]
        if char == "\\":
            return "\\\\"
        if char == '"':
            closes = match.end() == len(text) or text[match.end()] == '"'
            return '\\"' if closes else char
        return char if char.isprintable() else repr(char)[1:-1]

    return _DOCSTRING_ESCAPED.sub(escape, text)


# --------------------------------------------------------------------------- identifiers

_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_identifier(name: str) -> str:
    """`TestItem` -> `test_item`, `orders.archive` -> `orders_archive`; never a keyword
    and never starting with a digit."""
    spelled = _NOT_IDENTIFIER.sub("_", _CAMEL_BOUNDARY.sub("_", name)).strip("_").lower()
    spelled = re.sub(r"_+", "_", spelled) or "item"
    if spelled[0].isdigit():
        spelled = f"n{spelled}"
    if keyword.iskeyword(spelled) or keyword.issoftkeyword(spelled):
        spelled += "_"
    return spelled


def pascal_identifier(name: str) -> str:
    """`orders.archive` -> `OrdersArchive`, `TestItem` -> `TestItem`."""
    parts = [p for p in _NOT_IDENTIFIER.split(name) if p]
    spelled = "".join(p[:1].upper() + p[1:] for p in parts) or "Item"
    return f"N{spelled}" if spelled[0].isdigit() else spelled


def unique_names(names: Iterable[str], spell: Callable[[str], str]) -> dict[str, str]:
    """Spell every name with `spell`; names that spell alike get `_2`, `_3`... in sorted
    order, so the result does not depend on the order the names come in."""
    result: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(set(names)):
        spelled, n = spell(name), 1
        candidate = spelled
        while candidate in taken:
            n += 1
            candidate = f"{spelled}_{n}"
        taken.add(candidate)
        result[name] = candidate
    return result
