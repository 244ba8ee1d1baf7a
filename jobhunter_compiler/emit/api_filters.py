"""Rows of a generated model's list-filter table (`FILTERS = ListSpec(...)`).

Which fields a list endpoint can filter on is decided here per field kind: `_SCALARS` maps
each filterable scalar kind to the runtime's filter type (`jobhunter_runtime.
listing`), which knows how a query-string value becomes what Beanie stored, which operators
apply and how OpenAPI documents it. Kinds not in the table and not handled below (dicts,
nested schemas, tuples, back-links, times) cannot be filtered on.
"""

from __future__ import annotations

from ..ir import ModelIR, ProjectIR, TypeRef
from .python import Imports, python_literal

LISTING = "jobhunter_runtime.listing"

_SCALARS: dict[str, str] = {
    "str": "TEXT",
    "email": "TEXT",
    "url": "TEXT",
    "int": "INTEGER",
    "float": "NUMBER",
    "decimal": "DECIMAL",
    "bool": "BOOLEAN",
    "datetime": "DATETIME",
    "date": "DATE",
    "timedelta": "TIMEDELTA",
    "uuid": "UUID",
    "object_id": "OBJECT_ID",
}


def filter_row(
    name: str, json_name: str, type_ref: TypeRef, model: ModelIR, ir: ProjectIR, imports: Imports
) -> str | None:
    """`FilterField(...)` source for one field, or None when it cannot be filtered on."""
    many = False
    if type_ref.kind in ("list", "set") and len(type_ref.args) == 1:
        type_ref, many = type_ref.args[0], True
    filter_type = _filter_type(type_ref, ir, imports)
    if filter_type is None:
        return None
    if many:
        filter_type = f"{imports.name(LISTING, 'items_of')}({filter_type})"
    arguments = [python_literal(json_name), filter_type]
    if json_name == "id":
        arguments.append('mongo_key="_id"')
    if type_ref.kind == "str" and not many and _searchable(name, json_name, model):
        arguments.append("searchable=True")
    return f"{imports.name(LISTING, 'FilterField')}({', '.join(arguments)})"


def _searchable(name: str, json_name: str, model: ModelIR) -> bool:
    """`ui.searchable_fields` when the model lists them, else every plain string field."""
    chosen = model.ui.searchable_fields
    return name in chosen or json_name in chosen if chosen else True


def _filter_type(type_ref: TypeRef, ir: ProjectIR, imports: Imports) -> str | None:
    if type_ref.kind in _SCALARS:
        return imports.name(LISTING, _SCALARS[type_ref.kind])
    if type_ref.kind == "literal" and type_ref.values:
        return f"{imports.name(LISTING, 'choice_of')}({python_literal(type_ref.values)})"
    if type_ref.kind == "enum" and type_ref.ref:
        return f"{imports.name(LISTING, 'enum_of')}({imports.qualified(type_ref.ref)})"
    if type_ref.kind == "link" and type_ref.ref:
        target = ir.model(type_ref.ref)
        if target is None:
            return None
        uuid_ids = any(f.name == "id" and f.type_info.kind == "uuid" for f in target.fields)
        id_type = imports.name(LISTING, "UUID") if uuid_ids else ""
        return f"{imports.name(LISTING, 'link_to')}({id_type})"
    return None
