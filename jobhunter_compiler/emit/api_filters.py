"""Rows of a generated model's list-filter table (`FILTERS = ListSpec(...)`).

Which fields a list endpoint can filter on is decided here per field kind, in
`FILTER_KINDS`: each kind names the runtime's filter type (an entry of
`jobhunter_runtime.listing.FILTER_TYPES`), which knows how a query-string value becomes what
Beanie stored, which operators apply and how OpenAPI documents it; or says why the kind
cannot be filtered on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ir import ModelIR, ProjectIR, TypeKind, TypeRef
from .python import Imports, python_literal

LISTING = "jobhunter_runtime.listing"

Argument = Callable[[TypeRef, ProjectIR, Imports], str | None]
"""Spells a factory's argument for one field; None when the field cannot be filtered on."""


@dataclass(frozen=True)
class KindFilter:
    """How a list endpoint filters one kind. `filter_type` is a name in the runtime's
    `FILTER_TYPES` (None: not filterable, `why_not` says why). A factory takes the source
    `argument` spells; one that `wraps_items` takes the filter type of a list's item."""

    filter_type: str | None
    argument: Argument | None = None
    wraps_items: bool = False
    why_not: str = ""


def _plain(filter_type: str) -> KindFilter:
    return KindFilter(filter_type)


def _not_filterable(why: str) -> KindFilter:
    return KindFilter(None, why_not=why)


def _choices(type_ref: TypeRef, _ir: ProjectIR, _imports: Imports) -> str | None:
    return python_literal(type_ref.values) if type_ref.values else None


def _enum(type_ref: TypeRef, _ir: ProjectIR, imports: Imports) -> str | None:
    return imports.qualified(type_ref.ref) if type_ref.ref else None


def _link_id_type(type_ref: TypeRef, ir: ProjectIR, imports: Imports) -> str | None:
    """The target's id type when it is not the default ObjectId ("" for that)."""
    target = ir.model(type_ref.ref) if type_ref.ref else None
    if target is None:
        return None
    uuid_ids = any(f.name == "id" and f.type_info.kind == TypeKind.UUID for f in target.fields)
    return imports.name(LISTING, "UUID") if uuid_ids else ""


_ITEMS = KindFilter("items_of", wraps_items=True)
_STRUCTURED = _not_filterable("structured values: no query-string form")

FILTER_KINDS: dict[TypeKind, KindFilter] = {
    TypeKind.STR: _plain("TEXT"),
    TypeKind.EMAIL: _plain("TEXT"),
    TypeKind.URL: _plain("TEXT"),
    TypeKind.INT: _plain("INTEGER"),
    TypeKind.FLOAT: _plain("NUMBER"),
    TypeKind.DECIMAL: _plain("DECIMAL"),
    TypeKind.BOOL: _plain("BOOLEAN"),
    TypeKind.DATETIME: _plain("DATETIME"),
    TypeKind.DATE: _plain("DATE"),
    TypeKind.TIME: _not_filterable("times of day: the runtime has no filter type for them"),
    TypeKind.TIMEDELTA: _plain("TIMEDELTA"),
    TypeKind.UUID: _plain("UUID"),
    TypeKind.OBJECT_ID: _plain("OBJECT_ID"),
    TypeKind.BYTES: _not_filterable("binary data: no query-string form"),
    TypeKind.SECRET_STR: _not_filterable("secrets: a query must not reveal them"),
    TypeKind.SECRET_BYTES: _not_filterable("secrets: a query must not reveal them"),
    TypeKind.PATH: _plain("TEXT"),
    TypeKind.IPV4_ADDRESS: _plain("IP_ADDRESS"),
    TypeKind.IPV6_ADDRESS: _plain("IP_ADDRESS"),
    TypeKind.IP_ADDRESS: _plain("IP_ADDRESS"),
    TypeKind.ANY: _not_filterable("values of any type: no coercion applies"),
    TypeKind.NONE: _not_filterable("always null: nothing to filter"),
    TypeKind.UNKNOWN: _not_filterable("opaque JSON: no coercion applies"),
    TypeKind.LIST: _ITEMS,
    TypeKind.SET: _ITEMS,
    TypeKind.TUPLE: _STRUCTURED,
    TypeKind.DICT: _STRUCTURED,
    TypeKind.UNION: _not_filterable("several types: no one coercion applies"),
    TypeKind.LITERAL: KindFilter("choice_of", _choices),
    TypeKind.ENUM: KindFilter("enum_of", _enum),
    TypeKind.SCHEMA: _STRUCTURED,
    TypeKind.MODEL: _STRUCTURED,
    TypeKind.LINK: KindFilter("link_to", _link_id_type),
    TypeKind.BACKLINK: _not_filterable("computed by Beanie, not stored"),
    TypeKind.DOCUMENT_LINK: _not_filterable("records of any model: no one id type to coerce to"),
}


def filter_row(
    name: str, json_name: str, type_ref: TypeRef, model: ModelIR, ir: ProjectIR, imports: Imports
) -> str | None:
    """`FilterField(...)` source for one field, or None when it cannot be filtered on."""
    wrapper = FILTER_KINDS[type_ref.kind]
    many = wrapper.wraps_items and len(type_ref.args) == 1
    if many:
        type_ref = type_ref.args[0]
    filter_type = _filter_type(type_ref, ir, imports)
    if filter_type is None:
        return None
    if many and wrapper.filter_type is not None:
        filter_type = f"{imports.name(LISTING, wrapper.filter_type)}({filter_type})"
    arguments = [python_literal(json_name), filter_type]
    if json_name == "id":
        arguments.append('mongo_key="_id"')
    if type_ref.kind == TypeKind.STR and not many and _searchable(name, json_name, model):
        arguments.append("searchable=True")
    return f"{imports.name(LISTING, 'FilterField')}({', '.join(arguments)})"


def _searchable(name: str, json_name: str, model: ModelIR) -> bool:
    """`ui.searchable_fields` when the model lists them, else every plain string field."""
    chosen = model.ui.searchable_fields
    return name in chosen or json_name in chosen if chosen else True


def _filter_type(type_ref: TypeRef, ir: ProjectIR, imports: Imports) -> str | None:
    """A field's (or a list item's) filter type; a list of lists cannot be filtered on."""
    kind = FILTER_KINDS[type_ref.kind]
    if kind.filter_type is None or kind.wraps_items:
        return None
    if kind.argument is None:
        return imports.name(LISTING, kind.filter_type)
    argument = kind.argument(type_ref, ir, imports)
    if argument is None:
        return None
    return f"{imports.name(LISTING, kind.filter_type)}({argument})"
