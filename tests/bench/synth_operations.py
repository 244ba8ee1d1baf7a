"""Synthetic `@operation` modules, one per model, and the shared schema modules they use.

Operation `i` works on model `i`; its kind (search, create, update, summarize, resolve
links) cycles with `i`, so every project of five or more operations has each kind. Bodies
are the Beanie queries such operations really run; they are never executed by the bench,
but the import test proves they are valid Python and their classes valid pydantic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from synth_models import DOMAINS, FieldSpec, ModelSpec, a, human, plural

STDLIB = ("datetime", "logging", "re", "typing")
KINDS = ("search", "create", "update", "summarize", "links")


@dataclass
class Parts:
    """What one operation module is made of, before it is laid out as source."""

    func: str
    description: str
    inputs: str
    outputs: str
    models_in: list[str]
    models_out: list[str]
    body: list[str]
    classes: list[str] = field(default_factory=list)
    imports: set[tuple[str, str]] = field(default_factory=set)
    logger: bool = False


@dataclass(frozen=True)
class OperationSpec:
    model: ModelSpec
    kind: str
    shared_schemas: bool
    infer_io: bool
    dotted_name: bool
    tuned: bool
    async_disabled: bool
    relative_imports: bool
    package_import: bool


def build_operation(model: ModelSpec) -> OperationSpec:
    rng = random.Random(f"jobhunter-synth-operation-{model.index}")
    kind = KINDS[model.index % len(KINDS)]
    if kind == "links" and not model.links:
        kind = "update"
    return OperationSpec(
        model=model,
        kind=kind,
        shared_schemas=rng.random() < 0.4,
        infer_io=rng.random() < 0.15,
        dotted_name=rng.random() < 0.1,
        tuned=rng.random() < 0.1,
        async_disabled=rng.random() < 0.1,
        relative_imports=rng.random() < 0.3,
        package_import=rng.random() < 0.5,
    )


def render_operation(spec: OperationSpec) -> tuple[str, str]:
    """The operation module's path (relative to the project) and its source."""
    parts = _parts(spec)
    model = spec.model.ref
    parts.imports.add(("jobhunter_compiler", "operation"))
    if parts.classes:
        parts.imports.add(("pydantic", "BaseModel"))
    if any("Field(" in block for block in parts.classes):
        parts.imports.add(("pydantic", "Field"))
    if spec.package_import:
        parts.imports.add((f"models.{model.domain}", model.class_name))
    else:
        parts.imports.add((model.module, model.class_name))
    lines = [
        f'"""Operation `{parts.func}`: {parts.description[0].lower()}{parts.description[1:]}"""',
        "",
        *_imports(parts.imports),
    ]
    if parts.logger:
        lines += ["", "logger = logging.getLogger(__name__)"]
    for block in parts.classes:
        lines += ["", "", block]
    lines += ["", "", *_decorator(spec, parts)]
    lines.append(f"async def {parts.func}(input: {parts.inputs}) -> {parts.outputs}:")
    lines.append(f'    """{parts.description}"""')
    lines += [f"    {line}" if line else "" for line in parts.body]
    return f"operations/{model.domain}/{parts.func}.py", "\n".join(lines) + "\n"


def _common(spec: OperationSpec) -> str:
    """Where the shared schemas are imported from: absolute or relative, as people write it."""
    return "..schemas.common" if spec.relative_imports else "operations.schemas.common"


def _parts(spec: OperationSpec) -> Parts:
    return {
        "search": _search,
        "create": _create,
        "update": _update,
        "summarize": _summarize,
        "links": _links,
    }[spec.kind](spec)


def _pascal(snake_name: str) -> str:
    return "".join(part.capitalize() for part in snake_name.split("_"))


def _class(name: str, doc: str, fields: list[str]) -> str:
    return "\n".join(
        [f"class {name}(BaseModel):", f'    """{doc}"""', "", *(f"    {f}" for f in fields)]
    )


def _field_imports(spec: OperationSpec, f: FieldSpec) -> set[tuple[str, str]]:
    """The imports an operation needs to redeclare model field `f` in its own schema."""
    out: set[tuple[str, str]] = set()
    for need in f.needs:
        if need in ("Optional", "Annotated", "Literal"):
            out.add(("typing", need))
        elif need == "datetime":
            out.add(("datetime", "datetime"))
        elif need.startswith("enum:"):
            out.add(("models.enums", need.removeprefix("enum:")))
    if f.shape == "local_enum":
        out.add((spec.model.ref.module, f.annotation))
    return out


def _search(spec: OperationSpec) -> Parts:
    m = spec.model
    cls, primary = m.class_name, m.primary.name
    func = f"search_{plural(m.ref.snake)}"
    filters = [f for f in m.fields if f.shape in ("enum", "literal", "local_enum")][:1]
    out = f"{_pascal(func)}Output"
    parts = Parts(
        func,
        f"Search {plural(human(cls))} by {primary} and filters.",
        "",
        out,
        [cls],
        [],
        [],
        imports={("re", "")},
    )
    if spec.shared_schemas:
        parts.inputs = "PageRequest"
        parts.imports.add((_common(spec), "PageRequest"))
        filters = []
    else:
        parts.inputs = f"{_pascal(func)}Input"
        rows = [
            f'text: str | None = Field(None, description="Matches the {primary}", '
            "max_length=200)"
        ]
        for f in filters:
            rows.append(f"{f.name}: {f.nullable_annotation} = None")
            parts.imports |= _field_imports(spec, f)
        rows += ["limit: int = Field(20, ge=1, le=200)", "offset: int = Field(0, ge=0)"]
        parts.classes.append(_class(parts.inputs, f"Filters accepted by {func}.", rows))
    parts.classes.append(
        _class(
            out,
            f"One page of {plural(human(cls))}.",
            [
                "total: int",
                "ids: list[str] = Field(default_factory=list)",
                "labels: list[str] = []",
            ],
        )
    )
    parts.body = [
        "query: dict[str, object] = {}",
        "if input.text:",
        f'    query["{primary}"] = {{"$regex": re.escape(input.text), "$options": "i"}}',
    ]
    for f in filters:
        parts.body += [f"if input.{f.name} is not None:", f'    query["{f.name}"] = input.{f.name}']
    parts.body += [
        f"cursor = {cls}.find(query)",
        "total = await cursor.count()",
        'found = await cursor.sort("-_id").skip(input.offset).limit(input.limit).to_list()',
        f"return {out}(",
        "    total=total,",
        "    ids=[str(doc.id) for doc in found],",
        f"    labels=[doc.{primary} for doc in found],",
        ")",
    ]
    return parts


def _create(spec: OperationSpec) -> Parts:
    m = spec.model
    cls, primary = m.class_name, m.primary.name
    func = f"create_{m.ref.snake}"
    parts = Parts(
        func,
        f"Create {a(human(cls))} unless one with that {primary} exists.",
        f"{_pascal(func)}Input",
        f"{_pascal(func)}Output",
        [],
        [cls],
        [],
        logger=True,
        imports={("logging", "")},
    )
    carried = [f for f in m.fields if f.required]
    carried += [f for f in m.fields if not f.required][:1]
    rows = [
        f"{f.name}: {f.plain_annotation}" + ("" if f.default is None else f" = {f.default}")
        for f in carried
    ]
    if "owner_id" in m.inherited:
        rows.append('owner_id: str = Field(..., description="Id of the owning user")')
    for f in carried:
        parts.imports |= _field_imports(spec, f)
    parts.classes.append(_class(parts.inputs, f"What a new {human(cls)} needs.", rows))
    parts.classes.append(
        _class(
            parts.outputs,
            "The id of the created (or existing) record.",
            ["id: str", "created: bool = True"],
        )
    )
    parts.body = [
        f"existing = await {cls}.find_one({cls}.{primary} == input.{primary})",
        "if existing is not None:",
        f"    return {parts.outputs}(id=str(existing.id), created=False)",
        f"document = {cls}(**input.model_dump())",
        "await document.insert()",
        f'logger.info("created {human(cls)} %s", document.id)',
        f"return {parts.outputs}(id=str(document.id))",
    ]
    return parts


def _update(spec: OperationSpec) -> Parts:
    m = spec.model
    cls = m.class_name
    editable = ("opt_str", "enum", "local_enum", "bool", "int", "float", "literal", "list_str")
    target = next((f for f in m.fields if f.shape in editable), m.primary)
    func = f"update_{m.ref.snake}_{target.name}"
    parts = Parts(
        func,
        f"Set the {human(target.name)} of one {human(cls)}.",
        f"{_pascal(func)}Input",
        "",
        [cls],
        [cls],
        [],
    )
    parts.imports |= _field_imports(spec, target)
    parts.classes.append(
        _class(
            parts.inputs,
            f"Which {human(cls)} to change, and the new value.",
            [
                f'id: str = Field(..., min_length=1, description="{cls} id")',
                f"{target.name}: {target.plain_annotation}",
            ],
        )
    )
    if spec.shared_schemas:
        parts.outputs = "BulkResult"
        parts.imports.add((_common(spec), "BulkResult"))
        missing, done = "BulkResult(matched=0, modified=0)", "BulkResult(matched=1, modified=1)"
    else:
        parts.outputs = f"{_pascal(func)}Output"
        parts.classes.append(
            _class(
                parts.outputs,
                "Whether the record was found and changed.",
                ["id: str", "updated: bool"],
            )
        )
        missing = f"{parts.outputs}(id=input.id, updated=False)"
        done = f"{parts.outputs}(id=input.id, updated=True)"
    parts.body = [
        f"document = await {cls}.get(input.id)",
        "if document is None:",
        f"    return {missing}",
        f"await document.set({{{cls}.{target.name}: input.{target.name}}})",
        f"return {done}",
    ]
    return parts


def _summarize(spec: OperationSpec) -> Parts:
    m = spec.model
    cls = m.class_name
    group = next(
        (f.name for f in m.fields if f.shape in ("enum", "literal", "local_enum", "bool")),
        m.primary.name,
    )
    func = f"summarize_{plural(m.ref.snake)}_by_{group}"
    parts = Parts(func, f"Count {plural(human(cls))} per {human(group)}.", "", "", [cls], [], [])
    scoped = spec.shared_schemas and "owner_id" in m.inherited
    if scoped:
        domain = m.ref.domain
        parts.inputs = f"{_pascal(domain)}Scope"
        parts.imports.add((f"operations.schemas.{domain}", parts.inputs))
        parts.body = [
            'match: dict[str, object] = {} if input.include_archived else {"is_archived": False}',
            "if input.owner_id is not None:",
            '    match["owner_id"] = input.owner_id',
            'pipeline: list[dict[str, object]] = [{"$match": match}]',
        ]
    else:
        parts.inputs = f"{_pascal(func)}Input"
        rows = ["min_count: int = Field(1, ge=1)"]
        parts.body = ["pipeline: list[dict[str, object]] = []"]
        if "created_at" in m.inherited:
            rows.append("since: datetime | None = None")
            parts.imports.add(("datetime", "datetime"))
            parts.body += [
                "if input.since is not None:",
                '    pipeline.append({"$match": {"created_at": {"$gte": input.since}}})',
            ]
        parts.classes.append(_class(parts.inputs, "Which records to count.", rows))
    parts.body += [
        f'pipeline.append({{"$group": {{"_id": "${group}", "count": {{"$sum": 1}}}}}})',
        f"rows = await {cls}.aggregate(pipeline).to_list()",
        'counts = {str(row["_id"]): row["count"] for row in rows}',
    ]
    if not scoped:
        parts.body.append("counts = {k: v for k, v in counts.items() if v >= input.min_count}")
    parts.outputs = "CountsByValue"
    parts.imports.add((_common(spec), "CountsByValue"))
    parts.body.append(f'return CountsByValue(group_by="{group}", counts=counts)')
    return parts


def _links(spec: OperationSpec) -> Parts:
    m = spec.model
    cls, link = m.class_name, m.links[0]
    target, name = link.target.class_name, link.field.name
    func = f"resolve_{m.ref.snake}_{name}"
    parts = Parts(
        func,
        f"Fetch the {human(name)} linked from one {human(cls)}.",
        f"{_pascal(func)}Input",
        f"{_pascal(func)}Output",
        [cls, target],
        [],
        [],
    )
    parts.imports.add((link.target.module, target))
    parts.classes.append(
        _class(
            parts.inputs,
            f"The {human(cls)} to inspect.",
            [f'id: str = Field(..., min_length=1, description="{cls} id")'],
        )
    )
    parts.classes.append(
        _class(
            parts.outputs,
            "Ids of the linked records that still exist.",
            ["id: str", "linked_ids: list[str] = Field(default_factory=list)", "missing: int = 0"],
        )
    )
    if link.many:
        collect = f"targets = list(document.{name})"
    else:
        collect = f"targets = [document.{name}] if document.{name} is not None else []"
    parts.body = [
        f"document = await {cls}.get(input.id, fetch_links=True)",
        "if document is None:",
        f'    raise ValueError(f"{cls} {{input.id}} not found")',
        collect,
        f"linked_ids = [str(t.id) for t in targets if isinstance(t, {target})]",
        f"return {parts.outputs}(",
        "    id=str(document.id), linked_ids=linked_ids, missing=len(targets) - len(linked_ids)",
        ")",
    ]
    return parts


def _decorator(spec: OperationSpec, parts: Parts) -> list[str]:
    domain = spec.model.ref.domain
    name = f"{domain}.{parts.func}" if spec.dotted_name else parts.func
    lines = [
        "@operation(",
        f'    name="{name}",',
        f'    description="{parts.description}",',
        f'    category="{domain}",',
    ]
    if not spec.infer_io:
        lines += [f"    inputs={parts.inputs},", f"    outputs={parts.outputs},"]
    lines += [
        f'    tags=["{domain}", "{spec.kind}"],',
        f"    models_in={_strs(parts.models_in)},",
        f"    models_out={_strs(parts.models_out)},",
    ]
    if spec.tuned:
        lines += ["    retries=2,", "    timeout_s=30.0,"]
    if spec.async_disabled:
        lines.append("    async_enabled=False,")
    return [*lines, ")"]


def _strs(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _imports(imports: set[tuple[str, str]]) -> list[str]:
    """isort-style blocks: stdlib, third party, project absolute, project relative."""
    groups: list[list[str]] = [[], [], [], []]
    by_module: dict[str, list[str]] = {}
    for module, name in imports:
        by_module.setdefault(module, [])
        if name:
            by_module[module].append(name)
    for module in sorted(by_module):
        names = sorted(by_module[module])
        line = f"from {module} import {', '.join(names)}" if names else f"import {module}"
        if module.split(".")[0] in STDLIB:
            groups[0].append(line)
        elif module.startswith("."):
            groups[3].append(line)
        elif module.split(".")[0] in ("models", "operations"):
            groups[2].append(line)
        else:
            groups[1].append(line)
    out: list[str] = []
    for group in groups:
        if group:
            out += [*sorted(group, key=lambda line: line.startswith("from")), ""]
    return out[:-1]


COMMON_SCHEMAS = '''"""Request and response shapes shared by operations of every domain."""

from pydantic import BaseModel, Field


class PageRequest(BaseModel):
    """Free-text search with offset pagination."""

    text: str | None = Field(None, description="Case-insensitive match", max_length=200)
    limit: int = Field(20, ge=1, le=200)
    offset: int = Field(0, ge=0)


class RecordRef(BaseModel):
    """Points at one document by id."""

    id: str = Field(..., min_length=1, description="Document id")


class BulkResult(BaseModel):
    """How many documents a write matched and changed."""

    matched: int = 0
    modified: int = 0


class CountsByValue(BaseModel):
    """Document counts per distinct value of one field."""

    group_by: str
    counts: dict[str, int] = Field(default_factory=dict)
'''


def render_domain_schemas(domain: str) -> str:
    scope = f"{_pascal(domain)}Scope"
    return f'''"""Request shapes shared by {domain} operations."""

from pydantic import BaseModel, Field

from models.enums import Region


class {scope}(BaseModel):
    """Restricts {a(domain)} operation to one owner's live records."""

    owner_id: str | None = Field(None, description="Only records of this owner")
    include_archived: bool = False
    region: Region | None = None
'''


def domains_of(models: list[ModelSpec]) -> list[str]:
    present = {m.ref.domain for m in models}
    return [name for name, _, _ in DOMAINS if name in present]
