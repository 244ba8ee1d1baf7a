"""Each change between the recorded snapshot and the current models, classified: safe
(documents written under the old models still load and mean the same) or needing a
migration of the stored data. Reported as diagnostics JH401-JH404.

A field removed and a field of the same type added in one model is most often a rename:
it is reported once, as a probable rename, and `jobhunter migrate new` moves the values.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..config import Config
from ..diagnostics import Diagnostic, diagnostic
from ..ir import ProjectIR, SourceRef
from .snapshot import (
    Snapshot,
    SnapshotError,
    parse_snapshot,
    read_snapshot,
    schema_snapshot,
    snapshot_bytes,
    snapshot_path,
)


class ChangeKind(StrEnum):
    MODEL_ADDED = "model_added"
    MODEL_RENAMED = "model_renamed"
    MODEL_REMOVED = "model_removed"
    COLLECTION_RENAMED = "collection_renamed"
    FIELD_ADDED = "field_added"
    REQUIRED_FIELD_ADDED = "required_field_added"
    FIELD_REMOVED = "field_removed"
    FIELD_RENAMED = "field_renamed"
    TYPE_CHANGED = "type_changed"
    TYPE_WIDENED = "type_widened"
    MADE_NULLABLE = "made_nullable"
    MADE_NOT_NULLABLE = "made_not_nullable"
    MADE_OPTIONAL = "made_optional"
    MADE_REQUIRED = "made_required"
    DEFAULT_CHANGED = "default_changed"
    ENUM_VALUE_ADDED = "enum_value_added"
    ENUM_VALUE_REMOVED = "enum_value_removed"
    CONSTRAINT_RELAXED = "constraint_relaxed"
    CONSTRAINT_NARROWED = "constraint_narrowed"
    INDEX_ADDED = "index_added"
    UNIQUE_INDEX_ADDED = "unique_index_added"
    INDEX_REMOVED = "index_removed"


NEEDS_MIGRATION = frozenset(
    {
        ChangeKind.MODEL_REMOVED,
        ChangeKind.COLLECTION_RENAMED,
        ChangeKind.REQUIRED_FIELD_ADDED,
        ChangeKind.FIELD_REMOVED,
        ChangeKind.FIELD_RENAMED,
        ChangeKind.TYPE_CHANGED,
        ChangeKind.MADE_NOT_NULLABLE,
        ChangeKind.MADE_REQUIRED,
        ChangeKind.ENUM_VALUE_REMOVED,
        ChangeKind.CONSTRAINT_NARROWED,
        ChangeKind.UNIQUE_INDEX_ADDED,
    }
)
"""Kinds after which a document written under the old models may fail to load, lose a
value, or block the new index; every other kind is safe."""

MIGRATION_CODES = frozenset({"JH402", "JH403", "JH404"})
"""The diagnostics `compile --check` and `migrate check` fail on: a change that needs a
migration which is not recorded yet, or a snapshot they cannot read."""

LOWER_BOUNDS = ("gt", "ge", "min_length")
UPPER_BOUNDS = ("lt", "le", "max_length", "max_digits", "decimal_places")
EXACT_CONSTRAINTS = ("pattern", "multiple_of", "strict")
"""Constraints that restrict stored values; `frozen` only stops assignment."""


@dataclass(frozen=True)
class Change:
    """One change. `owner` is a model's current name (its old one when it was removed)
    or a schema id (`owner_is_model` says which); `field` is the stored name of the field
    concerned, `new_name` the field it became in a rename; `old` and `new` are the
    field's snapshot entries where they exist (for a collection rename, the names)."""

    kind: ChangeKind
    owner: str
    detail: str
    field: str | None = None
    new_name: str | None = None
    owner_is_model: bool = True
    old: dict[str, Any] | None = None
    new: dict[str, Any] | None = None

    @property
    def safe(self) -> bool:
        return self.kind not in NEEDS_MIGRATION

    @property
    def subject(self) -> str:
        owner = self.owner if self.owner_is_model else self.owner.rpartition(".")[2]
        return owner if self.field is None else f"{owner}.{self.field}"


def classify(old: Snapshot, new: Snapshot) -> list[Change]:
    """Every change from `old` to `new`, models (by name, then by collection) first,
    then the nested schemas both hold."""
    changes: list[Change] = []
    old_models, new_models = old["models"], new["models"]
    gone = sorted(set(old_models) - set(new_models))
    added = sorted(set(new_models) - set(old_models))
    pairs = [(name, name) for name in sorted(set(old_models) & set(new_models))]
    by_collection = {new_models[name]["collection"]: name for name in added}
    for name in list(gone):
        successor = by_collection.get(old_models[name]["collection"])
        if successor is not None:
            gone.remove(name)
            added.remove(successor)
            pairs.append((name, successor))
            detail = f"model renamed from '{name}' (same collection)"
            changes.append(Change(ChangeKind.MODEL_RENAMED, successor, detail))
    for name in added:
        changes.append(Change(ChangeKind.MODEL_ADDED, name, "new model"))
    for name in gone:
        detail = (
            f"model removed; its collection '{old_models[name]['collection']}' keeps "
            "its documents"
        )
        changes.append(Change(ChangeKind.MODEL_REMOVED, name, detail))
    for old_name, new_name in sorted(pairs):
        before, after = old_models[old_name], new_models[new_name]
        if before == after:  # most models, most of the time: one comparison each
            continue
        if before["collection"] != after["collection"]:
            detail = (
                f"collection renamed from '{before['collection']}' to "
                f"'{after['collection']}'; the documents stay in the old one"
            )
            changes.append(
                Change(
                    ChangeKind.COLLECTION_RENAMED,
                    new_name,
                    detail,
                    old={"collection": before["collection"]},
                    new={"collection": after["collection"]},
                )
            )
        changes += _field_changes(new_name, before["fields"], after["fields"], True)
        changes += _index_changes(new_name, before["indexes"], after["indexes"])
    for schema_id in sorted(set(old["schemas"]) & set(new["schemas"])):
        before, after = old["schemas"][schema_id], new["schemas"][schema_id]
        if before == after:
            continue
        changes += _field_changes(schema_id, before["fields"], after["fields"], False)
    return changes


def _field_changes(
    owner: str, before: dict[str, Any], after: dict[str, Any], is_model: bool
) -> list[Change]:
    changes: list[Change] = []

    def add(kind: ChangeKind, field: str, detail: str, **extra: Any) -> None:
        changes.append(Change(kind, owner, detail, field, owner_is_model=is_model, **extra))

    removed = sorted(set(before) - set(after))
    added = [name for name in after if name not in before]
    for old_name, new_name in _probable_renames(removed, added, before, after):
        removed.remove(old_name)
        added.remove(new_name)
        detail = (
            f"removed, and '{new_name}' of the same type added: probably a rename; "
            "the stored values are under the old name"
        )
        add(ChangeKind.FIELD_RENAMED, old_name, detail, new_name=new_name, new=after[new_name])
    for name in removed:
        detail = "removed; stored documents still hold its values"
        add(ChangeKind.FIELD_REMOVED, name, detail, old=before[name])
    for name in added:
        spec = after[name]
        if spec["required"]:
            detail = "new required field without a default; stored documents lack it"
            add(ChangeKind.REQUIRED_FIELD_ADDED, name, detail, new=spec)
        else:
            add(ChangeKind.FIELD_ADDED, name, "new field with a default or optional", new=spec)
    for name in [name for name in after if name in before]:
        for kind, detail in _spec_changes(before[name], after[name]):
            add(kind, name, detail, old=before[name], new=after[name])
    return changes


def _probable_renames(
    removed: list[str], added: list[str], before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[str, str]]:
    """Removed and added fields of one type paired up, closest names first."""
    candidates = sorted(
        (
            (-difflib.SequenceMatcher(None, old, new).ratio(), old, new)
            for old in removed
            for new in added
            if before[old]["type"] == after[new]["type"]
        ),
    )
    pairs, used_old, used_new = [], set(), set()
    for _, old, new in candidates:
        if old not in used_old and new not in used_new:
            pairs.append((old, new))
            used_old.add(old)
            used_new.add(new)
    return sorted(pairs)


def _shape(type_info: dict[str, Any]) -> dict[str, Any]:
    """A type without what is compared on its own: nullability, enum and literal values."""
    shape = {key: value for key, value in type_info.items() if key != "nullable"}
    if shape.get("kind") in ("enum", "literal"):
        shape.pop("values", None)
    return shape


def _spec_changes(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[ChangeKind, str]]:
    found: list[tuple[ChangeKind, str]] = []
    old_type, new_type = before["type"], after["type"]
    old_written, new_written = before.get("annotation"), after.get("annotation")
    if _shape(old_type) != _shape(new_type):
        widened = new_type.get("kind") == "union" and any(
            _shape(arg) == _shape(old_type) for arg in new_type.get("args", [])
        )
        kind = ChangeKind.TYPE_WIDENED if widened else ChangeKind.TYPE_CHANGED
        found.append((kind, f"type changed from `{old_written}` to `{new_written}`"))
    else:
        old_values, new_values = old_type.get("values", []), new_type.get("values", [])
        dropped = [value for value in old_values if value not in new_values]
        gained = [value for value in new_values if value not in old_values]
        if dropped:
            found.append(
                (ChangeKind.ENUM_VALUE_REMOVED, f"value(s) {_listed(dropped)} no longer allowed")
            )
        if gained:
            found.append((ChangeKind.ENUM_VALUE_ADDED, f"value(s) {_listed(gained)} added"))
    if not before["required"] and after["required"]:
        found.append((ChangeKind.MADE_REQUIRED, "optional field made required"))
    elif before["required"] and not after["required"]:
        found.append((ChangeKind.MADE_OPTIONAL, "required field made optional"))
    elif old_type.get("nullable") and not new_type.get("nullable"):
        found.append((ChangeKind.MADE_NOT_NULLABLE, "no longer accepts null"))
    if not old_type.get("nullable") and new_type.get("nullable"):
        found.append((ChangeKind.MADE_NULLABLE, "now accepts null"))
    if before.get("default") != after.get("default") and not (
        before["required"] or after["required"]
    ):
        detail = f"default changed from {before.get('default')} to {after.get('default')}"
        found.append((ChangeKind.DEFAULT_CHANGED, detail))
    found += _constraint_changes(before.get("constraints", {}), after.get("constraints", {}))
    old_unique, new_unique = before.get("unique", False), after.get("unique", False)
    old_indexed, new_indexed = before.get("indexed", False), after.get("indexed", False)
    if not old_unique and new_unique:
        found.append((ChangeKind.UNIQUE_INDEX_ADDED, "now unique: stored duplicates block it"))
    elif not old_indexed and new_indexed:
        found.append((ChangeKind.INDEX_ADDED, "now indexed"))
    elif old_indexed and not new_indexed:
        found.append((ChangeKind.INDEX_REMOVED, "no longer indexed"))
    return found


def _constraint_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> list[tuple[ChangeKind, str]]:
    found = []
    for name in [*LOWER_BOUNDS, *UPPER_BOUNDS, *EXACT_CONSTRAINTS]:
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if new is None or new is False:
            narrowed = False
        elif old is None or old is False or name in EXACT_CONSTRAINTS:
            narrowed = True
        elif isinstance(old, int | float) and isinstance(new, int | float):
            narrowed = new > old if name in LOWER_BOUNDS else new < old
        else:
            narrowed = True
        kind = ChangeKind.CONSTRAINT_NARROWED if narrowed else ChangeKind.CONSTRAINT_RELAXED
        found.append((kind, f"constraint {name} changed from {_shown(old)} to {_shown(new)}"))
    return found


def _index_changes(owner: str, before: list[Any], after: list[Any]) -> list[Change]:
    def keyed(indexes: list[Any]) -> dict[str, bool]:
        return {_keys_text(index["keys"]): bool(index.get("unique")) for index in indexes}

    old, new = keyed(before), keyed(after)
    changes = []
    for keys, unique in new.items():
        if unique and not old.get(keys, False):
            detail = f"unique index on {keys}: stored duplicates block it"
            changes.append(Change(ChangeKind.UNIQUE_INDEX_ADDED, owner, detail))
        elif keys not in old:
            changes.append(Change(ChangeKind.INDEX_ADDED, owner, f"index on {keys} added"))
    for keys in old:
        if keys not in new:
            changes.append(Change(ChangeKind.INDEX_REMOVED, owner, f"index on {keys} removed"))
    return changes


def _keys_text(keys: list[Any]) -> str:
    return ", ".join(f"{key[0]} ({key[1]})" for key in keys)


def _listed(values: list[Any]) -> str:
    return ", ".join(repr(value) for value in values)


def _shown(value: Any) -> str:
    return "none" if value is None else repr(value)


# -- as diagnostics ------------------------------------------------------------------------


def schema_diagnostics(root: Path, config: Config, ir: ProjectIR) -> list[Diagnostic]:
    """The changes since the recorded snapshot as diagnostics; none while the project has
    recorded no snapshot (it has not started using migrations)."""
    try:
        raw = read_snapshot(snapshot_path(root, config))
        if raw is None:
            return []
        new = schema_snapshot(ir)
        if raw == snapshot_bytes(new):  # nothing changed: no need to parse and compare
            return []
        old = parse_snapshot(raw)
    except SnapshotError as exc:
        where = config.schema_snapshot
        return [diagnostic("JH404", f"schema snapshot {where}: {exc}", where)]
    return change_diagnostics(classify(old, new), ir, config)


def change_diagnostics(changes: list[Change], ir: ProjectIR, config: Config) -> list[Diagnostic]:
    found = []
    for change in changes:
        source = _source(change, ir)
        path, line, col = (source.path, source.line, source.col) if source else (None, None, None)
        if path is None:
            path = config.schema_snapshot
        if change.kind is ChangeKind.FIELD_RENAMED:
            code = "JH403"
            hint = (
                f"if '{change.field}' became '{change.new_name}', `jobhunter migrate new NAME` "
                "writes a migration that moves the values; if not, it writes one to fill in"
            )
        else:
            code = "JH401" if change.safe else "JH402"
            hint = None
        message = f"{change.subject}: {change.detail} ({change.kind.value})"
        found.append(diagnostic(code, message, path, line, col, hint))
    return found


def _source(change: Change, ir: ProjectIR) -> SourceRef | None:
    """Where the change is in the current code: the field, else its model or schema."""
    node = ir.model(change.owner) if change.owner_is_model else ir.schema(change.owner)
    if node is None:
        return None
    wanted = {change.field, change.new_name} - {None}
    for item in node.fields:
        if (item.alias or item.name) in wanted:
            return item.source
    return node.source
