"""Stage 3: checks across declarations, on the IR alone.

Problems local to one declaration (a bad argument, an unknown type) are found while the IR
is built, where their exact position is known; what needs the whole project is here. One
check also asks the environment the compiler runs in: `missing_packages`.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from importlib.util import find_spec

from .config import ANY_SIGNED_IN
from .diagnostics import Diagnostic, diagnostic, did_you_mean
from .ir import (
    OPTIONAL_PACKAGES,
    ModelIR,
    OperationIR,
    ProjectIR,
    SourceRef,
    TypeKind,
    TypeRef,
)

Node = ModelIR | OperationIR


def unknown_roles(ir: ProjectIR, roles: Sequence[str]) -> list[Diagnostic]:
    """Roles a decorator names that `api.roles` does not list (a typo would otherwise
    lock everyone but admins out, silently)."""
    known = {*roles, ANY_SIGNED_IN}
    found = []
    declared: list[tuple[Node, str, list[str]]] = [
        (model, f"permissions.{action}", names)
        for model in ir.models
        for action, names in sorted(model.permissions.items())
    ]
    declared += [(op, "roles", op.roles) for op in ir.operations if op.roles is not None]
    for node, where, names in declared:
        for role in names:
            if role not in known:
                found.append(
                    diagnostic(
                        "JH107",
                        f"{where} of {node.name} names the unknown role '{role}'",
                        node.source.path,
                        node.source.line,
                        node.source.col,
                        did_you_mean(role, roles),
                    )
                )
    return found


def run_checks(ir: ProjectIR) -> list[Diagnostic]:
    return [
        *_duplicates(
            "JH201",
            ir.models,
            lambda m: m.name,
            lambda name, at: f"model name '{name}' is already used at {at}",
        ),
        *_duplicates(
            "JH301",
            ir.operations,
            lambda o: o.name,
            lambda name, at: f"operation name '{name}' is already used at {at}",
        ),
        *shared_collections(ir.models),
        *unstorable_types(ir),
        *nested_only_aliases(ir.models),
        *unknown_link_targets(ir),
    ]


def unknown_link_targets(ir: ProjectIR) -> list[Diagnostic]:
    """Ids declared to hold a model's record (`links_to`) naming no model, or on a field
    that holds no id: the form keeps its text box, and says nothing."""
    found: dict[tuple[str, int, int], Diagnostic] = {}
    fields = [f for m in ir.models for f in m.fields]
    fields += [f for schema in ir.schemas for f in schema.fields]
    names = [m.name for m in ir.models]
    for item in fields:
        if item.links_to is None:
            continue
        holds = item.type_info.args[0] if item.type_info.kind == TypeKind.LIST else item.type_info
        problem = ""
        if ir.model(item.links_to) is None:
            problem = f"'{item.links_to}' is not a model"
        elif holds.kind not in (TypeKind.STR, TypeKind.OBJECT_ID):
            problem = f"`{item.type}` holds no record id (str or PydanticObjectId)"
        if problem:
            source = item.source
            found[(source.path, source.line, source.col)] = diagnostic(
                "JH222",
                f"links_to of field '{item.name}': {problem}",
                source.path,
                source.line,
                source.col,
                did_you_mean(item.links_to, names) if ir.model(item.links_to) is None else None,
            )
    return list(found.values())


def nested_only_aliases(models: Sequence[ModelIR]) -> list[Diagnostic]:
    """Fields whose model takes their value only from nested data (`AliasPath`s alone, and
    not by name): nothing the generated code sends reaches them."""
    found = []
    for model in models:
        if model.populate_by_name:
            continue
        for item in model.fields:
            paths = item.validation_paths
            if paths and not any(len(path) == 1 for path in paths):
                message = (
                    f"field '{item.name}' of {model.name} is read only from nested data "
                    f"({', '.join('.'.join(map(str, p)) for p in paths)}), and not by name: "
                    "the API, the CLI and the UI cannot set it"
                )
                source = item.source
                found.append(diagnostic("JH218", message, source.path, source.line, source.col))
    return found


def shared_collections(models: Sequence[ModelIR]) -> list[Diagnostic]:
    """Models of different families on one collection, each after the first that differs:
    a family (an is_root hierarchy, the members of a UnionDoc) shares its collection by
    design, telling its records apart by class id; any other model there would list them
    as its own, and they its records."""
    groups: dict[str, list[ModelIR]] = defaultdict(list)
    for model in models:
        groups[model.collection].append(model)
    found = []
    for collection, group in sorted(groups.items()):
        group.sort(key=lambda m: _order(m.source))
        for index, model in enumerate(group):
            other = next((o for o in group[:index] if _family(o) != _family(model)), None)
            if other is None:
                continue
            message = (
                f"collection '{collection}' of {model.name} is also used by {other.name} "
                f"({other.source.path}:{other.source.line}), {_sharing(model, other)}: each "
                "would list the other's records as its own"
            )
            source = model.source
            found.append(diagnostic("JH207", message, source.path, source.line, source.col))
    return found


def _family(model: ModelIR) -> str:
    """The class whose collection a model's family shares: its is_root hierarchy's root,
    or its UnionDoc (the first class Beanie initialises with it); the model alone else."""
    if model.class_id is not None and model.init_with:
        return model.init_with[0]
    return f"{model.module}.{model.class_name}"


def _sharing(model: ModelIR, other: ModelIR) -> str:
    if model.class_id is None and other.class_id is None:
        return "an unrelated model"
    return "which is not in its is_root hierarchy or UnionDoc"


DECIMAL_READER = "beanie.DecimalAnnotation"
NAME_EMAIL = "pydantic.NameEmail"
NAIVE_DATETIME = "pydantic.NaiveDatetime"
_STORAGE_PROBLEMS = {
    "JH215": "Beanie stores a Decimal as Decimal128, which pydantic cannot read back, so "
    "reading the record fails",
    "JH216": "BSON cannot encode a `datetime.time`, so saving the record fails",
    "JH217": "Beanie cannot encode a pydantic NameEmail, so saving the record fails",
    "JH219": "the generated app reads a datetime back with its time zone (UTC), which a "
    "NaiveDatetime refuses, so every write and read of the record fails",
}


def unstorable_types(ir: ProjectIR) -> list[Diagnostic]:
    """Fields a Document stores (its own, and those of the schemas it holds) whose values
    Beanie cannot store or read back, at each such field once (a base's field is shared)."""
    found: dict[tuple[str, int, int], Diagnostic] = {}
    pending = deque((m.name, f) for m in ir.models for f in m.fields)
    seen_schemas: set[str] = set()
    while pending:
        owner, item = pending.popleft()
        code = None
        for type_ref in _walk(item.type_info):
            code = code or _storage_problem(type_ref)
            schema = ir.schema(type_ref.ref or "") if type_ref.kind is TypeKind.SCHEMA else None
            if schema is not None and schema.id not in seen_schemas:
                seen_schemas.add(schema.id)
                stored_in = f"{schema.name} (stored in {owner})"
                pending.extend((stored_in, schema_field) for schema_field in schema.fields)
        if code is not None:
            message = f"field '{item.name}' of {owner} is `{item.type}`: {_STORAGE_PROBLEMS[code]}"
            source = item.source
            at = (source.path, source.line, source.col)
            if at not in found:
                found[at] = diagnostic(code, message, source.path, source.line, source.col)
    return list(found.values())


def _storage_problem(type_ref: TypeRef) -> str | None:
    if type_ref.kind is TypeKind.DECIMAL and type_ref.type_name != DECIMAL_READER:
        return "JH215"
    if type_ref.kind is TypeKind.TIME:
        return "JH216"
    if type_ref.type_name == NAME_EMAIL:
        return "JH217"
    if type_ref.type_name == NAIVE_DATETIME:
        return "JH219"
    return None


def _walk(type_ref: TypeRef) -> Iterator[TypeRef]:
    yield type_ref
    for arg in type_ref.args:
        yield from _walk(arg)


ENVIRONMENT_CODES = frozenset({"JH210"})
"""Diagnostics about the environment the compiler runs in, not about the project: the
no-op fast path does not repeat them from the last compile, which may be out of date."""


def missing_packages(ir: ProjectIR) -> list[Diagnostic]:
    """A warning at the first field whose type needs a package that this environment
    lacks (EmailStr: email-validator): the generated requirements.txt installs it in the
    API image, but `jobhunter run` and `jobhunter ops` import the models here."""
    missing = {kind for kind, (_, module) in OPTIONAL_PACKAGES.items() if not find_spec(module)}
    if not missing:  # as it mostly is: no need to look at every field
        return []
    found = []
    for kind, item in sorted(ir.optional_package_fields().items()):
        if kind in missing:
            distribution = OPTIONAL_PACKAGES[kind][0]
            message = (
                f"field '{item.name}' is `{item.type}`, which needs {distribution}: "
                "it is not installed in this environment"
            )
            hint = f"pip install {distribution} (the generated requirements.txt lists it)"
            source = item.source
            found.append(diagnostic("JH210", message, source.path, source.line, source.col, hint))
    return found


def _duplicates(
    code: str, nodes: Sequence[Node], key: Callable[[Node], str], message: Callable[[str, str], str]
) -> list[Diagnostic]:
    """Each declaration after the first (in path, line order) that reuses a key."""
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        groups[key(node)].append(node)
    found = []
    for name, group in sorted(groups.items()):
        group.sort(key=lambda n: _order(n.source))
        first = group[0].source
        for node in group[1:]:
            source = node.source
            text = message(name, f"{first.path}:{first.line}")
            found.append(diagnostic(code, text, source.path, source.line, source.col))
    return found


def _order(source: SourceRef) -> tuple[str, int, int]:
    return (source.path, source.line, source.col)
