"""The source of a new migration: one step per change of the stored data, in Beanie's own
format (`Forward` and `Backward` classes of `free_fall_migration`s), so that Beanie users
read it and Beanie's runner runs it.

What can be derived is written out: a rename moves the values (`$rename`), a new field
with a default is backfilled, a lossless type change converts the values. Anything else
needing a decision is a step that raises NotImplementedError saying what to write, so an
unfinished migration fails loudly instead of passing without touching the data.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..emit import OutputFile
from ..emit.formatting import format_python
from ..emit.python import python_literal
from ..emit.template_set import TemplateSet
from ..evolve.classify import Change, ChangeKind
from ..ir import FieldIR, ProjectIR, TypeRef

INTEGER = "isinstance(value, int) and not isinstance(value, bool)"
CONVERSIONS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("int", "float"): (INTEGER, "float(value)", "isinstance(value, float)", "int(value)"),
    ("int", "str"): (INTEGER, "str(value)", "isinstance(value, str)", "int(value)"),
    ("float", "str"): (
        "isinstance(value, float)",
        "repr(value)",
        "isinstance(value, str)",
        "float(value)",
    ),
    ("bool", "str"): (
        "isinstance(value, bool)",
        "str(value)",
        "isinstance(value, str)",
        'value == "True"',
    ),
    ("int", "decimal"): (
        INTEGER,
        "Decimal128(str(value))",
        "isinstance(value, Decimal128)",
        "int(value.to_decimal())",
    ),
    ("object_id", "str"): (
        "isinstance(value, ObjectId)",
        "str(value)",
        "isinstance(value, str)",
        "ObjectId(value)",
    ),
}
"""Type changes every stored value survives: (old kind, new kind) -> which stored values
to convert and how, forward then back. Converted document by document in Python, the
same on every server (MongoDB's update pipelines would be faster; not every server that
speaks its protocol runs them)."""

BSON_NAMES = ("Decimal128", "ObjectId")
"""Names a conversion may use, imported from `bson` when it does."""

FACTORY_VALUES = {"list": [], "dict": {}, "set": [], "tuple": []}
"""Default factories whose value a backfill can write as a literal."""

NAME = re.compile(r"[a-z][a-z0-9_]*\Z")


class MigrationNameError(ValueError):
    pass


@dataclass
class Step:
    """One method of `Forward` or `Backward`."""

    model: str
    name: str
    comment: list[str]
    body: str


@dataclass
class MigrationPlan:
    forward: list[Step] = field(default_factory=list)
    backward: list[Step] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    """Class name -> collection of each document class the steps use."""
    placeholders: int = 0
    imports: set[str] = field(default_factory=set)
    """Names of `bson` the steps use."""


def migration_name(text: str) -> str:
    """NAME as it goes into the file name: lower case, words joined by `_`."""
    name = re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")
    if not NAME.match(name):
        raise MigrationNameError(
            f"{text!r} is not a migration name: use letters, digits and '_', starting with a "
            "letter (e.g. rename_job_title)"
        )
    return name


def migration_file_name(folder: Path, name: str, now: datetime | None = None) -> str:
    """`YYYYMMDDHHMMSS_name.py`, as `beanie new-migration` names them, and after every
    migration already in `folder` (Beanie runs them in the order of their names)."""
    moment = now or datetime.now(UTC)
    stamp = int(moment.strftime("%Y%m%d%H%M%S"))
    existing = [
        int(path.name[:14]) for path in folder.glob("[0-9]*.py") if path.name[:14].isdigit()
    ]
    if existing and max(existing) >= stamp:
        stamp = max(existing) + 1
    return f"{stamp}_{name}.py"


def plan_migration(changes: list[Change], ir: ProjectIR) -> MigrationPlan:
    plan = MigrationPlan()
    for change in changes:
        _plan_change(plan, change, ir)
    plan.backward.reverse()  # undone in the opposite order
    for number, step in enumerate(plan.forward, 1):
        step.name = f"step_{number:02d}_{step.name}"
    for number, step in enumerate(plan.backward, 1):
        step.name = f"step_{number:02d}_{step.name}"
    return plan


def _plan_change(plan: MigrationPlan, change: Change, ir: ProjectIR) -> None:
    if change.safe and change.kind is not ChangeKind.FIELD_ADDED:
        return
    if not change.owner_is_model:
        holders = _holders(ir, change.owner) or [model.name for model in ir.models[:1]]
        _placeholder(
            plan,
            change,
            f"update the nested values in the documents of {', '.join(holders)}",
            holders[0],
            ir,
        )
        return
    model = ir.model(change.owner)
    if model is None:  # removed: its collection keeps its documents
        return
    cls = _document_class(plan, change.owner, model.collection)
    collection = f"{cls}.get_pymongo_collection()"
    name, new_name = change.field or "", change.new_name or ""
    item = _field(ir, change)
    kind = change.kind
    conversion = _conversion(change) if kind is ChangeKind.TYPE_CHANGED else None
    if kind is ChangeKind.FIELD_RENAMED:
        plan.forward.append(_rename(cls, collection, name, new_name, change))
        plan.backward.append(_rename(cls, collection, new_name, name, change))
    elif kind is ChangeKind.COLLECTION_RENAMED:
        old_collection = (change.old or {})["collection"]
        forward = (
            f"await {collection}.database[{python_literal(old_collection)}].rename("
            f"{python_literal(model.collection)}, session=session)"
        )
        backward = f"await {collection}.rename({python_literal(old_collection)}, session=session)"
        comment = _comment(change)
        plan.forward.append(Step(cls, "rename_collection", comment, forward))
        plan.backward.append(Step(cls, "rename_collection_back", comment, backward))
    elif kind in (ChangeKind.FIELD_ADDED, ChangeKind.MADE_REQUIRED, ChangeKind.MADE_NOT_NULLABLE):
        value = _default_value(item)
        if value is not None:
            plan.forward.append(_backfill(cls, collection, name, value[0], change))
            if kind is ChangeKind.FIELD_ADDED:
                plan.backward.append(_unset(cls, collection, name, change))
        elif kind is not ChangeKind.FIELD_ADDED:
            _placeholder(
                plan,
                change,
                f"give '{name}' a value in every stored document that lacks it or holds null",
                cls,
                ir,
            )
    elif conversion is not None:
        is_old, to_new, is_new, to_old = conversion
        plan.forward.append(_convert(cls, collection, name, is_old, to_new, change))
        plan.backward.append(_convert(cls, collection, name, is_new, to_old, change))
        plan.imports.update(n for n in BSON_NAMES if n in to_new + to_old + is_old + is_new)
    elif kind is ChangeKind.FIELD_REMOVED:
        _placeholder(
            plan,
            change,
            f"keep the stored '{name}' values (delete this step) or drop them: "
            f'update_many({{}}, {{"$unset": {{"{name}": ""}}}}, session=session) (then '
            "`migrate down` cannot bring them back)",
            cls,
            ir,
        )
    elif kind is ChangeKind.REQUIRED_FIELD_ADDED:
        _placeholder(
            plan,
            change,
            f"set '{name}' in every stored document: update_many("
            f'{{"{name}": {{"$exists": False}}}}, {{"$set": {{"{name}": ...}}}}, session=session)',
            cls,
            ir,
        )
        plan.backward.append(_unset(cls, collection, name, change))
    else:
        todo = {
            ChangeKind.TYPE_CHANGED: f"convert every stored '{name}' to the new type",
            ChangeKind.ENUM_VALUE_REMOVED: f"map the stored '{name}' values no longer allowed "
            "to allowed ones",
            ChangeKind.CONSTRAINT_NARROWED: f"fix the stored '{name}' values the new "
            "constraint refuses (`jobhunter db check` lists them)",
            ChangeKind.UNIQUE_INDEX_ADDED: "remove or change the stored duplicates, so that "
            "the unique index can be built",
        }[kind]
        _placeholder(plan, change, todo, cls, ir)


def _document_class(plan: MigrationPlan, model: str, collection: str) -> str:
    plan.models.setdefault(model, collection)
    return model


def _holders(ir: ProjectIR, schema_id: str) -> list[str]:
    """The models with a field holding the schema (in a list, an optional...)."""

    def holds(type_ref: TypeRef) -> bool:
        return type_ref.ref == schema_id or any(holds(arg) for arg in type_ref.args)

    return [m.name for m in ir.models if any(holds(f.type_info) for f in m.fields)]


def _field(ir: ProjectIR, change: Change) -> FieldIR | None:
    model = ir.model(change.owner)
    if model is None:
        return None
    return next((f for f in model.fields if (f.alias or f.name) == change.field), None)


def _default_value(item: FieldIR | None) -> tuple[object] | None:
    """The field's default as a value a backfill can write, in a 1-tuple (the default may
    be None); None when it has none or it is computed (`default_factory=utcnow`)."""
    if item is None or item.default is None:
        return None
    default = item.default
    if default.kind in ("literal", "enum"):
        return (default.value,)
    if default.kind == "factory" and default.text in FACTORY_VALUES:
        return (FACTORY_VALUES[default.text],)
    return None


def _conversion(change: Change) -> tuple[str, str, str, str] | None:
    if change.old is None or change.new is None:
        return None
    old, new = change.old["type"], change.new["type"]
    if old.get("args") or new.get("args"):
        return None
    return CONVERSIONS.get((old["kind"], new["kind"]))


def _update_many(collection: str, query: object, update: object) -> str:
    return (
        f"await {collection}.update_many({python_literal(query)}, {python_literal(update)}, "
        "session=session)"
    )


def _rename(cls: str, collection: str, old: str, new: str, change: Change) -> Step:
    body = _update_many(collection, {old: {"$exists": True}}, {"$rename": {old: new}})
    return Step(cls, f"rename_{old}_to_{new}", _comment(change), body)


def _backfill(cls: str, collection: str, name: str, value: object, change: Change) -> Step:
    # `{"$in": [None]}` matches null and missing alike
    missing = {"$exists": False} if change.kind is ChangeKind.FIELD_ADDED else {"$in": [None]}
    body = _update_many(collection, {name: missing}, {"$set": {name: value}})
    comment = _comment(change, "; stored documents get its default")
    return Step(cls, f"fill_{name}", comment, body)


def _unset(cls: str, collection: str, name: str, change: Change) -> Step:
    body = _update_many(collection, {}, {"$unset": {name: ""}})
    return Step(cls, f"drop_{name}", _comment(change), body)


def _convert(
    cls: str, collection: str, name: str, convertible: str, converted: str, change: Change
) -> Step:
    field = python_literal(name)
    update = f'{{"$set": {{{field}: {converted}}}}}'
    body = "\n".join(
        [
            f"collection = {collection}",
            "async for document in collection.find("
            f'{{{field}: {{"$exists": True}}}}, {{{field}: 1}}, session=session):',
            f"    value = document[{field}]",
            f"    if {convertible}:",
            "        await collection.update_one("
            f'{{"_id": document["_id"]}}, {update}, session=session)',
        ]
    )
    comment = _comment(change, "; every stored value converts")
    return Step(cls, f"convert_{name}", comment, body)


def _placeholder(plan: MigrationPlan, change: Change, todo: str, cls: str, ir: ProjectIR) -> None:
    """A forward step that fails until written, saying what it must do. None goes back:
    the old models accept whatever it leaves (a step that drops values says that `migrate
    down` cannot bring them back)."""
    model = ir.model(cls)
    if model is not None:
        _document_class(plan, cls, model.collection)
    message = f"{change.subject} ({change.kind.value}): write this step: {todo}"
    # implicit concatenation keeps the lines short; the spaces stay at the ends
    parts = textwrap.wrap(message, 72, drop_whitespace=False, break_on_hyphens=False)
    body = "raise NotImplementedError(\n" + "\n".join(map(python_literal, parts)) + "\n)"
    label = change.subject.replace(".", "_").lower()
    plan.forward.append(Step(cls, f"todo_{label}", _comment(change), body))
    plan.placeholders += 1


def _comment(change: Change, after: str = "") -> list[str]:
    return textwrap.wrap(f"{change.subject}: {change.detail}{after}.", 84)


def render_migration(plan: MigrationPlan, changes: list[Change], name: str, folder: str) -> str:
    """The migration's source, formatted like the generated code."""
    source = TemplateSet().render(
        "migrate/migration.py.j2",
        name=name,
        folder=folder,
        summary=[textwrap.wrap(f"{change.subject}: {change.detail}", 86) for change in changes],
        placeholders=plan.placeholders,
        bson_imports=sorted(plan.imports),
        models=[
            {
                "class_name": cls,
                "collection": collection,
                "collection_literal": python_literal(collection),
            }
            for cls, collection in sorted(plan.models.items())
        ],
        forward=plan.forward,
        backward=plan.backward,
    )
    [formatted] = format_python([OutputFile(path=f"{name}.py", content=source.encode())], None)
    return formatted.content.decode()
