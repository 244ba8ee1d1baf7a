"""The schema snapshot: what the stored documents look like under the models as last
recorded by `jobhunter migrate new`, kept at `<migrations_dir>/schema.json`.

It is derived from the IR and holds only what decides whether old documents still load:
each model's collection, indexes and fields by their stored (aliased) name, with type,
requiredness, default, constraints and index flags; and the fields of the nested schemas
the models use. Nothing positional (no source lines), so moving a declaration or editing
a docstring leaves the committed file as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ..config import Config
from ..ir import FieldIR, ProjectIR, TypeKind, TypeRef, dump_json, json_bytes

SNAPSHOT_VERSION = 1

Snapshot = dict[str, Any]


class SnapshotError(Exception):
    """The snapshot file exists but cannot be used; `str()` says why."""


def snapshot_path(root: Path, config: Config) -> Path:
    return root / config.schema_snapshot


def schema_snapshot(ir: ProjectIR) -> Snapshot:
    """The snapshot of `ir`'s models, and of the schemas their fields hold (transitively)."""
    schema_ids: set[str] = set()
    models = {}
    for model in ir.models:
        models[model.name] = {
            "collection": model.collection,
            "fields": {stored_name(item): _field(item, schema_ids) for item in model.fields},
            "indexes": sorted(
                (
                    {"keys": [list(key) for key in index.keys], "unique": index.unique}
                    for index in model.indexes
                ),
                key=lambda index: orjson.dumps(index, option=orjson.OPT_SORT_KEYS),
            ),
        }
    schemas: dict[str, Any] = {}
    pending = sorted(schema_ids)
    while pending:
        schema_id = pending.pop()
        schema = ir.schema(schema_id)
        if schema is None or schema_id in schemas:
            continue
        found: set[str] = set()
        schemas[schema_id] = {
            "fields": {stored_name(item): _field(item, found) for item in schema.fields}
        }
        pending.extend(sorted(found - set(schemas)))
    return {"snapshot_version": SNAPSHOT_VERSION, "models": models, "schemas": schemas}


def stored_name(item: FieldIR) -> str:
    """The key a field is stored under: Beanie writes documents by alias."""
    return item.alias or item.name


def _field(item: FieldIR, schema_ids: set[str]) -> dict[str, Any]:
    """A field's entry; what most fields leave at its default is left out, which keeps
    the file (and the time to compare it) small: a third of the size for 1,000 models."""
    _collect_schemas(item.type_info, schema_ids)
    entry: dict[str, Any] = {
        "type": _type(item.type_info),
        "annotation": item.type,
        "required": item.required,
    }
    if item.default is not None:
        entry["default"] = item.default.text
    if item.constraints:
        entry["constraints"] = item.constraints
    if item.indexed:
        entry["indexed"] = True
    if item.unique:
        entry["unique"] = True
    return entry


def _type(type_ref: TypeRef) -> dict[str, Any]:
    """The parts of `type_ref` that are set (pydantic's `model_dump` took ~1.4 s for the
    12,000 fields of 1,000 models; this, ~30 ms)."""
    entry: dict[str, Any] = {"kind": type_ref.kind.value}
    if type_ref.nullable:
        entry["nullable"] = True
    if type_ref.args:
        entry["args"] = [_type(arg) for arg in type_ref.args]
    if type_ref.ref is not None:
        entry["ref"] = type_ref.ref
    if type_ref.values:
        entry["values"] = list(type_ref.values)
    return entry


def _collect_schemas(type_ref: TypeRef, found: set[str]) -> None:
    if type_ref.kind is TypeKind.SCHEMA and type_ref.ref is not None:
        found.add(type_ref.ref)
    for arg in type_ref.args:
        _collect_schemas(arg, found)


def snapshot_text(snapshot: Snapshot) -> str:
    return dump_json(snapshot)


def snapshot_bytes(snapshot: Snapshot) -> bytes:
    """`snapshot_text` encoded: the recorded file's bytes when nothing changed since."""
    return json_bytes(snapshot)


def read_snapshot(path: Path) -> bytes | None:
    """The recorded snapshot's bytes, None when there is none yet."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"cannot read it: {exc.strerror or exc}") from None


def load_snapshot(path: Path) -> Snapshot | None:
    """The recorded snapshot, None when there is none yet; SnapshotError when the file is
    not one (a merge conflict left in it, a hand edit gone wrong)."""
    raw = read_snapshot(path)
    return None if raw is None else parse_snapshot(raw)


def parse_snapshot(raw: bytes) -> Snapshot:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("snapshot_version") != SNAPSHOT_VERSION:
        raise SnapshotError(
            f"not a schema snapshot of version {SNAPSHOT_VERSION} (no matching "
            "'snapshot_version' key)"
        )
    problem = _shape_problem(data)
    if problem is not None:
        raise SnapshotError(problem)
    return data


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a snapshot's structure, so that the classifier can trust it."""
    for group in ("models", "schemas"):
        nodes = data.get(group)
        if not isinstance(nodes, dict):
            return f"'{group}' must be an object"
        for name, node in nodes.items():
            if not isinstance(node, dict) or not isinstance(node.get("fields"), dict):
                return f"'{group}.{name}' must be an object with 'fields'"
            if group == "models" and not (
                isinstance(node.get("collection"), str) and isinstance(node.get("indexes"), list)
            ):
                return f"'models.{name}' must have 'collection' and 'indexes'"
            for field_name, spec in node["fields"].items():
                if not _valid_field(spec):
                    return f"'{group}.{name}.fields.{field_name}' is not a field entry"
    return None


def _valid_field(spec: Any) -> bool:
    return (
        isinstance(spec, dict)
        and _valid_type(spec.get("type"))
        and isinstance(spec.get("required"), bool)
        and isinstance(spec.get("constraints", {}), dict)
        and isinstance(spec.get("indexed", False), bool)
        and isinstance(spec.get("unique", False), bool)
    )


KINDS = frozenset(kind.value for kind in TypeKind)


def _valid_type(spec: Any) -> bool:
    """A `_type` entry: checked by hand, as pydantic took 0.1 s for 12,000 of them."""
    return (
        isinstance(spec, dict)
        and spec.get("kind") in KINDS
        and isinstance(spec.get("nullable", False), bool)
        and isinstance(spec.get("values", []), list)
        and isinstance(spec.get("args", []), list)
        and all(_valid_type(arg) for arg in spec.get("args", []))
    )
