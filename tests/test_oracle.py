"""Differential oracle: the compiler's IR against the real thing.

The compiler builds `metadata.json` from source text alone. Here each valid fixture project
is compiled, then imported for real in a fresh interpreter (tests/oracle_runtime.py), and
what pydantic, Beanie and the jobhunter registries report is compared with the IR: which
models and operations exist, and for every model and schema its fields in order, whether
each is required, its default, its allowed Literal/Enum values, nullability, constraints
(its own and its items'), aliases, index flags, its kind (and its items', against the
classes they hold at run time) and what it references. Every disagreement is collected and
reported in one assertion.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import NEVER_IMPORT_FIXTURE, compile_copy, oracle_projects
from oracle_runtime import CONSTRAINT_KEYS

import jobhunter_compiler
from jobhunter_compiler.config import load_config
from jobhunter_compiler.ir import DefaultValue, FieldIR, IndexIR, ProjectIR, TypeRef

RUNTIME_SCRIPT = Path(__file__).with_name("oracle_runtime.py")
PACKAGE_ROOT = Path(jobhunter_compiler.__file__).resolve().parent.parent
BEANIE_FIELDS = {"id", "revision_id"}
REFERENCE_KINDS = {"enum", "schema", "model", "link", "backlink", "document_link"}


@pytest.mark.parametrize("source", oracle_projects(), ids=lambda p: p.name)
def test_ir_matches_runtime(source: Path, tmp_path: Path, mongo_url: str) -> None:
    project, result = compile_copy(source, tmp_path)
    assert result.ok, "\n".join(f"{d.location}: {d.code} {d.message}" for d in result.diagnostics)
    ir = load_ir(project)
    runtime = dump_runtime(project, ir, mongo_url)

    problems = [*compare_models(ir, runtime), *compare_operations(ir, runtime)]
    problems += [*compare_schemas(ir, runtime), *compare_enums(ir, runtime), *dangling_refs(ir)]
    assert not problems, f"{len(problems)} IR/runtime mismatches:\n" + "\n".join(problems)


def test_compile_never_imports_user_code(tmp_path: Path) -> None:
    """never_import's model module raises SystemExit when imported; compiling must not."""
    project, result = compile_copy(NEVER_IMPORT_FIXTURE, tmp_path)
    assert result.ok, [f"{d.location}: {d.code} {d.message}" for d in result.diagnostics]
    ir = load_ir(project)
    assert [m.name for m in ir.models] == ["Tripwire"]
    fields = [f.name for f in ir.models[0].fields if f.name not in BEANIE_FIELDS]
    assert fields == ["label", "armed"]
    assert [o.name for o in ir.operations] == ["disarm"]
    tripwire = subprocess.run(
        [sys.executable, "-c", "import models.tripwire"],
        cwd=project,
        env=subprocess_env(project),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "imported!" in tripwire.stderr, "the fixture's tripwire no longer fires on import"


# --- running both sides ------------------------------------------------------------------


def load_ir(project: Path) -> ProjectIR:
    output_dir = project / load_config(project).config.output_dir
    return ProjectIR.model_validate_json((output_dir / "core_docs" / "metadata.json").read_text())


def dump_runtime(project: Path, ir: ProjectIR, mongo_url: str) -> dict[str, Any]:
    modules = {m.module for m in ir.models} | {o.module for o in ir.operations}
    modules |= {s.module for s in ir.schemas} | {e.module for e in ir.enums}
    modules |= set(discovered_modules(project))
    request = {
        "modules": sorted(modules),
        "schemas": sorted(s.id for s in ir.schemas),
        "enums": sorted(e.id for e in ir.enums),
        "mongo_url": mongo_url,
        "database": f"oracle_{uuid.uuid4().hex[:12]}",
    }
    proc = subprocess.run(
        [sys.executable, str(RUNTIME_SCRIPT)],
        input=json.dumps(request),
        cwd=project,
        env=subprocess_env(project),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"importing the project failed:\n{proc.stderr}"
    return json.loads(proc.stdout)


def subprocess_env(project: Path) -> dict[str, str]:
    """The project root (and its src/) first, as `python -m` run from the project would."""
    paths = [project, project / "src", PACKAGE_ROOT]
    pythonpath = os.pathsep.join(str(p) for p in paths if p.is_dir())
    return {**os.environ, "PYTHONPATH": pythonpath, "PYTHONDONTWRITEBYTECODE": "1"}


def discovered_modules(project: Path) -> Iterator[str]:
    """Every module under the configured model/operation folders, so a decorated class the
    compiler failed to discover still shows up on the runtime side."""
    config = load_config(project).config
    for entry in [*config.models, *config.operations]:
        for match in project.glob(entry):
            files = match.rglob("*.py") if match.is_dir() else [match]
            for file in files:
                yield module_name(project, file)


def module_name(project: Path, file: Path) -> str:
    relative = file.relative_to(project).with_suffix("")
    if relative.parts[0] == "src":
        relative = relative.relative_to("src")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# --- comparisons --------------------------------------------------------------------------


def compare_models(ir: ProjectIR, runtime: dict[str, Any]) -> Iterator[str]:
    yield from compare_names("models", [m.name for m in ir.models], runtime["models"])
    for model in ir.models:
        actual = runtime["models"].get(model.name)
        if actual is None:
            continue
        where = f"model {model.name}"
        yield from compare_values(
            where,
            {
                "class_name": model.class_name,
                "module": model.module,
                "collection": model.collection,
                "class_id": model.class_id,
                "populate_by_name": model.populate_by_name,
                "description": model.description,
                "tags": sorted(model.tags),
            },
            {**actual, "tags": sorted(actual["tags"])},
        )
        yield from compare_ui(where, model.ui.model_dump(), actual["ui"])
        yield from compare_indexes(where, model.indexes, actual["indexes"])
        yield from compare_fields(where, model.fields, actual["fields"], ir)


def compare_ui(where: str, ir_ui: dict[str, Any], runtime_ui: dict[str, Any]) -> Iterator[str]:
    """Keys the user gave must match; keys they did not must be left empty in the IR."""
    for key, ir_value in ir_ui.items():
        if key in runtime_ui and ir_value != runtime_ui[key]:
            yield f"{where}: ui.{key}: IR {ir_value!r} != runtime {runtime_ui[key]!r}"
        elif key not in runtime_ui and ir_value:
            yield f"{where}: ui.{key}: IR {ir_value!r} but the decorator does not set it"


def compare_indexes(where: str, ir_indexes: list[IndexIR], runtime: list[dict]) -> Iterator[str]:
    """Keys with directions, uniqueness and explicit names of Settings.indexes, in order."""
    ir_side = [([list(key) for key in i.keys], i.unique, i.name) for i in ir_indexes]
    runtime_side = [(r["keys"], r["unique"], r["name"]) for r in runtime]
    if ir_side != runtime_side:
        yield f"{where}: indexes\n    IR:      {ir_side}\n    runtime: {runtime_side}"


def compare_operations(ir: ProjectIR, runtime: dict[str, Any]) -> Iterator[str]:
    yield from compare_names("operations", [o.name for o in ir.operations], runtime["operations"])
    for op in ir.operations:
        actual = runtime["operations"].get(op.name)
        if actual is None:
            continue
        where = f"operation {op.name}"
        yield from compare_values(
            where,
            {
                "function": op.function,
                "module": op.module,
                "is_async": op.is_async,
                "async_enabled": op.async_enabled,
                "description": op.description,
                "category": op.category,
                "tags": sorted(op.tags),
                "models_in": sorted(op.models_in),
                "models_out": sorted(op.models_out),
                "retries": op.retries,
                "timeout_s": op.timeout_s,
                "inputs": op.inputs.schema_id,
                "outputs": op.outputs.schema_id,
            },
            {**actual, **{k: sorted(actual[k]) for k in ("tags", "models_in", "models_out")}},
        )
        for side, io in (("inputs", op.inputs), ("outputs", op.outputs)):
            schema = runtime["schemas"].get(actual[side] or "", {})
            if "fields" in schema:
                yield from compare_fields(f"{where} {side}", io.fields, schema["fields"], ir)


def compare_schemas(ir: ProjectIR, runtime: dict[str, Any]) -> Iterator[str]:
    for schema in ir.schemas:
        actual = runtime["schemas"][schema.id]
        where = f"schema {schema.id}"
        if "error" in actual:
            yield f"{where}: not importable at run time ({actual['error']})"
            continue
        yield from compare_values(where, {"name": schema.name, "module": schema.module}, actual)
        yield from compare_fields(where, schema.fields, actual["fields"], ir)


def compare_enums(ir: ProjectIR, runtime: dict[str, Any]) -> Iterator[str]:
    for enum in ir.enums:
        actual = runtime["enums"][enum.id]
        if "error" in actual:
            yield f"enum {enum.id}: not importable at run time ({actual['error']})"
            continue
        members = [[m.name, m.value] for m in enum.members]
        if members != actual["members"]:
            yield f"enum {enum.id}: members IR {members} != runtime {actual['members']}"


def compare_names(what: str, ir_names: list[str], runtime: dict[str, Any]) -> Iterator[str]:
    if sorted(ir_names) != sorted(runtime):
        yield f"{what}: IR has {sorted(ir_names)}, runtime registry has {sorted(runtime)}"


def compare_values(where: str, expected: dict[str, Any], actual: dict[str, Any]) -> Iterator[str]:
    for key, ir_value in expected.items():
        if ir_value != actual[key]:
            yield f"{where}: {key}: IR {ir_value!r} != runtime {actual[key]!r}"


def compare_fields(
    where: str, ir_fields: list[FieldIR], runtime_fields: list[dict[str, Any]], ir: ProjectIR
) -> Iterator[str]:
    """Beanie's own `id`/`revision_id` are left out on both sides unless user code
    re-declares them; everything else must match in name and order."""
    redeclared = {f["name"] for f in runtime_fields if f["user_declared"]}
    runtime_kept = [
        f for f in runtime_fields if f["user_declared"] or f["name"] not in BEANIE_FIELDS
    ]
    ir_kept = [f for f in ir_fields if f.name not in BEANIE_FIELDS or f.name in redeclared]
    ir_names, runtime_names = [f.name for f in ir_kept], [f["name"] for f in runtime_kept]
    if ir_names != runtime_names:
        yield f"{where}: field names\n    IR:      {ir_names}\n    runtime: {runtime_names}"
    by_name = {f.name: f for f in ir_kept}
    for actual in runtime_kept:
        field = by_name.get(actual["name"])
        if field is not None:
            yield from compare_field(f"{where}.{field.name}", field, actual, ir)


def compare_field(
    where: str, field: FieldIR, actual: dict[str, Any], ir: ProjectIR
) -> Iterator[str]:
    implicit = {actual["name"], "_id"} if actual["name"] == "id" else {actual["name"]}

    def explicit(alias: str | None) -> str | None:
        return alias if alias not in implicit else None  # Beanie: id <-> _id

    checks = {
        "required": (field.required, actual["required"]),
        "alias": (explicit(field.alias), explicit(actual["alias"])),
        "validation alias": (
            None if field.validation_paths else explicit(field.validation_alias or field.alias),
            explicit(actual["validation_alias"]),
        ),
        "validation paths": (field.validation_paths, actual["validation_paths"]),
        "serialization alias": (
            explicit(field.serialization_alias or field.alias),
            explicit(actual["serialization_alias"]),
        ),
        "description": (field.description, actual["description"]),
        "nullable": (ir_nullable(field.type_info), actual["nullable"]),
        "allowed values": (ir_allowed_values(field.type_info, ir), actual["values"]),
        "reference": (ir_reference(field.type_info), actual["reference"]),
        "constraints": (
            {k: field.constraints[k] for k in CONSTRAINT_KEYS if k in field.constraints},
            actual["constraints"],
        ),
        "item constraints": (ir_item_constraints(field.type_info), actual["item_constraints"]),
        "indexed": (field.indexed, actual["indexed"]),
        "unique": (field.unique, actual["unique"]),
    }
    for aspect, (ir_value, runtime_value) in checks.items():
        if ir_value != runtime_value:
            yield f"{where}: {aspect}: IR {ir_value!r} != runtime {runtime_value!r}"
    kind_problem = kind_mismatch(field.type_info, actual["shape"])
    if kind_problem:
        yield f"{where}: kind: {kind_problem} at run time"
    yield from compare_default(where, field, actual["default"])


def compare_default(where: str, field: FieldIR, actual: dict[str, Any] | None) -> Iterator[str]:
    """A factory is matched by its name (`datetime.utcnow` ~ `utcnow`); a default with no
    JSON form at run time is not compared."""
    if actual is not None and actual["kind"] == "opaque":
        return
    runtime = (actual["kind"], actual.get("name", actual.get("value"))) if actual else None
    if ir_default(field.default) != runtime:
        yield f"{where}: default: IR {ir_default(field.default)} != runtime {runtime}"


def ir_default(default: DefaultValue | None) -> tuple[str, Any] | None:
    if default is None:
        return None
    if default.kind == "factory":
        return ("factory", str(default.value or default.text).rsplit(".", 1)[-1])
    if default.kind in ("literal", "enum"):
        return ("value", default.value)
    return ("expression", default.text)


# --- reading the IR's structured types ---------------------------------------------------


def ir_nullable(t: TypeRef) -> bool:
    return t.nullable or (t.kind == "union" and any(a.kind == "none" for a in t.args))


def _single_member(t: TypeRef) -> TypeRef | None:
    """The one non-None member of a union (Optional[X] spelled as a union), else None."""
    members = [a for a in t.args if a.kind != "none"]
    return members[0] if len(members) == 1 else None


def ir_allowed_values(t: TypeRef, ir: ProjectIR) -> list[Any] | None:
    if t.kind == "union":
        member = _single_member(t)
        return ir_allowed_values(member, ir) if member else None
    if t.kind == "literal":
        return list(t.values)
    if t.kind == "enum":
        enum = ir.enum(t.ref or "")
        return list(t.values) or ([m.value for m in enum.members] if enum else [])
    return None


def ir_reference(t: TypeRef) -> dict[str, str] | None:
    if t.kind == "union":
        member = _single_member(t)
        return ir_reference(member) if member else None
    if t.kind in ("list", "set") and len(t.args) == 1:
        return ir_reference(t.args[0])
    if t.kind in REFERENCE_KINDS:
        return {"kind": t.kind, "ref": t.ref}
    return None


KIND_CLASSES: dict[str, set[str]] = {
    "str": {"builtins.str"},
    "int": {"builtins.int"},
    "float": {"builtins.float"},
    "bool": {"builtins.bool"},
    "decimal": {"decimal.Decimal"},
    "datetime": {
        "datetime.datetime",
        "pydantic.types.AwareDatetime",
        "pydantic.types.NaiveDatetime",
        "pydantic.types.PastDatetime",
        "pydantic.types.FutureDatetime",
    },
    "date": {"datetime.date", "pydantic.types.PastDate", "pydantic.types.FutureDate"},
    "time": {"datetime.time"},
    "timedelta": {"datetime.timedelta"},
    "uuid": {"uuid.UUID"},
    "object_id": {"beanie.odm.fields.PydanticObjectId", "bson.objectid.ObjectId"},
    "bytes": {"builtins.bytes", "bson.binary.Binary"},
    "secret_str": {"pydantic.types.SecretStr"},
    "secret_bytes": {"pydantic.types.SecretBytes"},
    "path": {"pathlib.Path", "pathlib.PurePath", "pathlib.PurePosixPath"},
    "ipv4_address": {"ipaddress.IPv4Address"},
    "ipv6_address": {"ipaddress.IPv6Address"},
    "ip_address": {"pydantic.networks.IPvAnyAddress"},
    "email": {"pydantic.networks.EmailStr", "pydantic.networks.NameEmail"},
    "url": {
        "pydantic.networks.AnyUrl",
        "pydantic.networks.AnyHttpUrl",
        "pydantic.networks.HttpUrl",
    },
    "any": {"typing.Any", "builtins.object"},
    "none": {"builtins.NoneType"},
    "list": {
        "builtins.list",
        "collections.abc.Sequence",
        "collections.abc.MutableSequence",
        "collections.abc.Iterable",
    },
    "set": {"builtins.set", "builtins.frozenset", "collections.abc.Set"},
    "tuple": {"builtins.tuple"},
    "dict": {"builtins.dict", "collections.abc.Mapping", "collections.abc.MutableMapping"},
    "union": {"typing.Union"},
    "literal": {"typing.Literal"},
}
"""What each kind's values are at run time, by class: an independent account of the
kinds, not the compiler's own table. The kinds that name a class of the project (enum,
schema, model, link, backlink) are compared as references; `unknown` is anything."""


def kind_mismatch(t: TypeRef, shape: dict[str, Any]) -> str | None:
    """Where the IR's kind (or an argument's) is not what the field holds at run time."""
    expected = KIND_CLASSES.get(t.kind)
    if expected is not None and shape["type"] not in expected:
        return f"{t.kind} holds a {shape['type']}"
    if expected is None or t.kind == "literal" or len(t.args) != len(shape["args"]):
        if expected is not None and t.kind != "literal" and shape["args"]:
            return f"{t.kind} of {len(t.args)} arguments holds {len(shape['args'])}"
        return None
    for index, (arg, arg_shape) in enumerate(zip(t.args, shape["args"], strict=True)):
        problem = kind_mismatch(arg, arg_shape)
        if problem:
            return f"[{index}] {problem}"
    return None


def ir_item_constraints(
    t: TypeRef, place: str = "", item: bool = False
) -> dict[str, dict[str, Any]]:
    """The IR's limits on the items of containers, by place as the runtime script names
    them (`[0]` a list's item, `[1]` a dict's value)."""
    found: dict[str, dict[str, Any]] = {}
    limits = {k: t.constraints[k] for k in CONSTRAINT_KEYS if k in t.constraints}
    if item and limits:
        found[place] = limits
    if t.kind in ("list", "set", "tuple", "dict"):
        for index, arg in enumerate(t.args):
            found.update(ir_item_constraints(arg, f"{place}[{index}]", item=True))
    return found


def dangling_refs(ir: ProjectIR) -> Iterator[str]:
    """Every enum/schema/model a field type points at must exist in the IR itself."""
    fields = [(f"model {m.name}", f) for m in ir.models for f in m.fields]
    fields += [(f"schema {s.id}", f) for s in ir.schemas for f in s.fields]
    for where, field in fields:
        for t in walk(field.type_info):
            if not ref_exists(ir, t):
                yield f"{where}.{field.name}: {t.kind} reference {t.ref!r} is not in the IR"


def ref_exists(ir: ProjectIR, t: TypeRef) -> bool:
    if t.kind == "enum":
        return ir.enum(t.ref or "") is not None
    if t.kind == "schema":
        return ir.schema(t.ref or "") is not None
    if t.kind in ("model", "link", "backlink"):
        return ir.model(t.ref or "") is not None
    return True


def walk(t: TypeRef) -> Iterator[TypeRef]:
    yield t
    for arg in t.args:
        yield from walk(arg)
