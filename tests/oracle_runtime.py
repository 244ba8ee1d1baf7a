"""The runtime half of the differential oracle (see test_oracle.py).

Run as a script in a fresh interpreter whose cwd is a fixture project: it imports the
project's modules for real and prints, as JSON, what pydantic, Beanie and the jobhunter
registries say about every model, operation, schema and enum. The compiler builds the same
facts without importing anything; the test compares the two.

Reads a JSON request on stdin: {"modules": [...], "schemas": [ids], "enums": [ids],
"mongo_url": ..., "database": ...}. The models' collections and class ids are what
`init_beanie` makes of them on that server.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
import inspect
import json
import sys
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from beanie import BackLink, Document, Link, UnionDoc, init_beanie
from beanie.odm.fields import LinkInfo, LinkTypes
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pymongo import AsyncMongoClient, IndexModel

from jobhunter_runtime import ModelRegistry, OperationRegistry

CONSTRAINT_KEYS = (
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
)
LIBRARY_PACKAGES = {"beanie", "pydantic"}


class Opaque(Exception):
    """A default that has no JSON form (the IR keeps such defaults as source text)."""


def main() -> None:
    request = json.load(sys.stdin)
    for module in request["modules"]:
        importlib.import_module(module)
    asyncio.run(initialise(request["mongo_url"], request["database"], request["modules"]))

    models = {info.name: dump_model(info) for info in ModelRegistry.list_all()}
    operations = {info.name: dump_operation(info) for info in OperationRegistry.list_all()}
    schema_ids = set(request["schemas"])
    for operation in operations.values():
        schema_ids.update(i for i in (operation["inputs"], operation["outputs"]) if i)
    json.dump(
        {
            "models": models,
            "operations": operations,
            "schemas": {schema_id: dump_schema(schema_id) for schema_id in sorted(schema_ids)},
            "enums": {enum_id: dump_enum(enum_id) for enum_id in request["enums"]},
        },
        sys.stdout,
        indent=2,
        sort_keys=True,
    )


async def initialise(url: str, database: str, modules: list[str]) -> None:
    """`init_beanie` with every Document and UnionDoc class the project's modules hold."""
    classes = {
        value
        for module in modules
        for value in vars(sys.modules[module]).values()
        if isinstance(value, type)
        and issubclass(value, (Document, UnionDoc))
        and value.__module__.split(".")[0] not in LIBRARY_PACKAGES
    }
    client: AsyncMongoClient[Any] = AsyncMongoClient(url)
    try:
        await init_beanie(
            database=client[database],
            document_models=sorted(classes, key=class_id),
            skip_indexes=True,
        )
    finally:
        await client.close()


def beanie_class_id(cls: type[Document]) -> str | None:
    """What Beanie stores in `_class_id` for this class's records, if anything."""
    settings = cls.get_settings()
    if settings.union_doc is not None:
        return settings.union_doc_alias
    return cls._class_id if cls._inheritance_inited else None


def dump_model(info: Any) -> dict[str, Any]:
    cls = info.document_cls
    settings = getattr(cls, "Settings", None)
    return {
        "class_name": cls.__name__,
        "module": cls.__module__,
        "collection": cls.get_collection_name(),
        "class_id": beanie_class_id(cls),
        "description": info.description,
        "tags": list(info.tags),
        "ui": info.ui,
        "indexes": [dump_index(entry) for entry in getattr(settings, "indexes", [])],
        "populate_by_name": bool(
            cls.model_config.get("validate_by_name") or cls.model_config.get("populate_by_name")
        ),
        "fields": dump_fields(cls),
    }


def dump_index(entry: Any) -> dict[str, Any]:
    """One Settings.indexes entry, normalised the way Beanie does (through IndexModel);
    `name` only when the user chose it (pymongo invents `field_1`-style names otherwise)."""
    document = (entry if isinstance(entry, IndexModel) else IndexModel(entry)).document
    keys = [[key, direction] for key, direction in document["key"].items()]
    generated = "_".join(f"{key}_{direction}" for key, direction in keys)
    return {
        "keys": keys,
        "name": None if document["name"] == generated else document["name"],
        "unique": bool(document.get("unique", False)),
    }


def dump_operation(info: Any) -> dict[str, Any]:
    func = info.func
    hints = typing.get_type_hints(func)
    parameters = list(inspect.signature(func).parameters)
    inputs = info.inputs or (hints.get(parameters[0]) if parameters else None)
    outputs = info.outputs or hints.get("return")
    return {
        "function": func.__name__,
        "module": func.__module__,
        "is_async": inspect.iscoroutinefunction(func),
        "async_enabled": info.async_enabled,
        "description": info.description,
        "category": info.category,
        "tags": list(info.tags),
        "models_in": list(info.models_in),
        "models_out": list(info.models_out),
        "retries": info.retries,
        "timeout_s": info.timeout_s,
        "inputs": class_id(inputs) if _is_schema(inputs) else None,
        "outputs": class_id(outputs) if _is_schema(outputs) else None,
    }


def dump_schema(schema_id: str) -> dict[str, Any]:
    try:
        cls = resolve(schema_id)
    except (ImportError, AttributeError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"name": cls.__name__, "module": cls.__module__, "fields": dump_fields(cls)}


def dump_enum(enum_id: str) -> dict[str, Any]:
    try:
        cls = resolve(enum_id)
    except (ImportError, AttributeError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"members": [[member.name, member.value] for member in cls]}


def dump_fields(cls: type[BaseModel]) -> list[dict[str, Any]]:
    """Every pydantic field in pydantic's order, marked with whether user code declared
    it (Beanie's own `id`/`revision_id` are not, unless a user class re-declares them)."""
    declared: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] not in LIBRARY_PACKAGES:
            declared.update(vars(klass).get("__annotations__", {}))
    # What init_beanie made of each Link/BackLink field: its target class as Beanie uses it.
    links = (cls.get_link_fields() or {}) if issubclass(cls, Document) else {}
    return [
        dump_field(name, info, name in declared, links.get(name))
        for name, info in cls.model_fields.items()
    ]


def dump_field(
    name: str, info: FieldInfo, user_declared: bool, link: LinkInfo | None = None
) -> dict[str, Any]:
    index = _index_options(info)
    return {
        "name": name,
        "user_declared": user_declared,
        "alias": info.alias,
        "validation_alias": _alias_text(info.validation_alias),
        "validation_paths": _alias_paths(info.validation_alias),
        "serialization_alias": info.serialization_alias,
        "required": info.is_required(),
        "default": _default(info),
        "description": info.description,
        "nullable": _is_nullable(info.annotation),
        "values": _allowed_values(info.annotation),
        "reference": _reference(info.annotation) if link is None else _link_reference(link),
        "constraints": _constraints(info),
        "item_constraints": _item_constraints(info.annotation),
        "shape": _shape(info.annotation),
        "indexed": index is not None,
        "unique": bool(index and index.get("unique")),
    }


def _alias_text(alias: Any) -> str | None:
    """A string alias as is; AliasChoices/AliasPath are `_alias_paths`'."""
    return alias if isinstance(alias, str) else None


def _alias_paths(alias: Any) -> list[list[str | int]]:
    """The paths an AliasChoices/AliasPath validation alias tries, as pydantic lists them."""
    return [] if alias is None or isinstance(alias, str) else alias.convert_to_aliases()


def _default(info: FieldInfo) -> dict[str, Any] | None:
    if info.default_factory is not None:
        factory = info.default_factory
        return {"kind": "factory", "name": getattr(factory, "__name__", repr(factory))}
    if info.default is PydanticUndefined:
        return None
    try:
        return {"kind": "value", "value": _jsonable(info.default)}
    except Opaque:
        return {"kind": "opaque", "repr": repr(info.default)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _jsonable(item) for key, item in value.items()}
    raise Opaque(repr(value))


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and Optional/`| None` around a single type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_nullable(annotation: Any) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _allowed_values(annotation: Any) -> list[Any] | None:
    annotation = _unwrap(annotation)
    if get_origin(annotation) is Literal:
        return [_jsonable(value) for value in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [_jsonable(member.value) for member in annotation]
    return None


def _reference(annotation: Any) -> dict[str, str | None] | None:
    """What a field points at (through Optional and list/set): an enum, a nested schema,
    an embedded model, or a Link/BackLink target, named the way the IR names it (a link to
    any Document has none)."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (list, set, frozenset):
        return _reference(get_args(annotation)[0])
    if origin is Link and get_args(annotation)[0] is Document:
        return {"kind": "document_link", "ref": None}
    if origin in (Link, BackLink):
        kind = "link" if origin is Link else "backlink"
        return {"kind": kind, "ref": _model_name(get_args(annotation)[0])}
    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, enum.Enum):
        return {"kind": "enum", "ref": class_id(annotation)}
    if issubclass(annotation, Document):
        return {"kind": "model", "ref": _model_name(annotation)}
    if issubclass(annotation, BaseModel):
        return {"kind": "schema", "ref": class_id(annotation)}
    return None


BACK_LINK_TYPES = frozenset(
    {
        LinkTypes.BACK_DIRECT,
        LinkTypes.BACK_LIST,
        LinkTypes.OPTIONAL_BACK_DIRECT,
        LinkTypes.OPTIONAL_BACK_LIST,
    }
)


def _link_reference(link: LinkInfo) -> dict[str, str | None]:
    if link.document_class is Document:
        return {"kind": "document_link", "ref": None}
    kind = "backlink" if link.link_type in BACK_LINK_TYPES else "link"
    return {"kind": kind, "ref": _model_name(link.document_class)}


def _model_name(document_cls: Any) -> str:
    for info in ModelRegistry.list_all():
        if info.document_cls is document_cls:
            return info.name
    return getattr(document_cls, "__name__", repr(document_cls))


def _constraints(info: FieldInfo) -> dict[str, Any]:
    """The field's metadata, and the markers of an `Annotated` member of an Optional
    (`Annotated[str, MaxLen(5)] | None`), which pydantic applies to the value but leaves
    out of the metadata."""
    found: dict[str, Any] = {}
    for item in [*info.metadata, *_optional_markers(info.annotation)]:
        for key in CONSTRAINT_KEYS:
            value = getattr(item, key, None)
            if value is not None:
                found[key] = value
    return found


CONTAINERS = (list, set, frozenset, tuple, dict)


def _shape(annotation: Any) -> dict[str, Any]:
    """The type a field holds, as classes: `{"type": "builtins.list", "args": [...]}`,
    through Annotated and Optional (a union's None is left out of its members, as the IR
    makes it nullability); a Literal's or a Link's arguments are not types, and are not
    followed."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return {"type": "typing.Union", "args": [_shape(m) for m in members]}
            annotation = members[0]
        else:
            break
    origin = get_origin(annotation)
    if origin is None:
        if isinstance(annotation, type) and hasattr(annotation, "_indexed"):
            annotation = annotation.__bases__[0]  # Beanie's Indexed(str) subclasses str
        return {"type": _qualified(annotation), "args": []}
    followed = origin in CONTAINERS or _qualified(origin).startswith("collections.abc.")
    arguments = [a for a in get_args(annotation) if a is not Ellipsis] if followed else []
    return {"type": _qualified(origin), "args": [_shape(arg) for arg in arguments]}


def _qualified(value: Any) -> str:
    if value is Any:
        return "typing.Any"
    if value is Literal:
        return "typing.Literal"
    if value is None or value is type(None):
        return "builtins.NoneType"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return repr(value)


def _item_constraints(
    annotation: Any, place: str = "", item: bool = False
) -> dict[str, dict[str, Any]]:
    """The limits pydantic puts on the items of containers (through Optional), by the
    item's place: `[0]` a list's item, `[1]` a dict's value, `[0][0]` an item's item. The
    field's own limits are `_constraints`'."""
    markers: list[Any] = []
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            markers.extend(more)
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                break
            annotation = members[0]
        else:
            break
    found: dict[str, dict[str, Any]] = {}
    limits = _limits(markers)
    if item and limits:
        found[place] = limits
    if get_origin(annotation) in CONTAINERS:
        items = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        for index, arg in enumerate(items):
            found.update(_item_constraints(arg, f"{place}[{index}]", item=True))
    return found


def _limits(markers: list[Any]) -> dict[str, Any]:
    """The constraint keys of `Annotated` markers, with annotated-types groups
    (`StringConstraints`, `Interval`) and `Field(...)` expanded as pydantic expands them."""
    found: dict[str, Any] = {}
    for marker in markers:
        if isinstance(marker, FieldInfo):
            found.update(_limits(list(marker.metadata)))
            continue
        expanded = marker if isinstance(marker, annotated_types.GroupedMetadata) else [marker]
        for part in expanded:
            for key in CONSTRAINT_KEYS:
                value = getattr(part, key, None)
                if value is not None:
                    found[key] = value
    return found


def _optional_markers(annotation: Any) -> list[Any]:
    if get_origin(annotation) not in (Union, types.UnionType):
        return []
    members = [arg for arg in get_args(annotation) if arg is not type(None)]
    if len(members) != 1 or get_origin(members[0]) is not Annotated:
        return []
    markers = []
    for marker in get_args(members[0])[1:]:
        # annotated-types groups (`Interval(ge=1, le=5)`) as pydantic expands them
        markers.extend(marker if isinstance(marker, annotated_types.GroupedMetadata) else [marker])
    return markers


def _index_options(info: FieldInfo) -> dict[str, Any] | None:
    """Beanie's `Indexed(str, ...)` is a type carrying `_indexed`; `Annotated[str,
    Indexed(...)]` leaves an IndexedAnnotation with the same attribute in the metadata."""
    for candidate in [_unwrap(info.annotation), *info.metadata]:
        indexed = getattr(candidate, "_indexed", None)
        if isinstance(indexed, tuple):
            return dict(indexed[1])
    return None


def _is_schema(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def class_id(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def resolve(qualified: str) -> Any:
    """Import `package.module.Class` (or `module.Outer.Inner`) by trying the longest module."""
    parts = qualified.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"no importable module in {qualified!r}")


if __name__ == "__main__":
    main()
