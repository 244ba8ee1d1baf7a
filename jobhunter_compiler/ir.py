"""The metadata graph: the contract between the scanner and every emitter.

`core_docs/metadata.json` is this model serialised with sorted keys. It is what CI tools
read, so it is versioned (`IR_VERSION`) and deterministic: lists are sorted (except field
lists, which keep declaration order because forms and tables show fields in that order),
paths are relative to the project root, and nothing depends on the clock or the machine.
Each record (a model, an operation, a schema, an enum, an edge) is one line of its own:
after an edit, a diff of the file shows the records that changed, where an indented
document of 1,000 models (567k lines) took difflib minutes and a reviewer longer.

References between nodes are by name (models, operations) or by qualified id
(`module.Class` for schemas and enums), never by object identity, so the JSON round-trips.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, WithJsonSchema

IR_VERSION = "1"

JsonScalar = str | int | float | bool | None


class TypeKind(StrEnum):
    """What a field holds. `schema` is a nested BaseModel (see `ProjectIR.schemas`), `model` a
    decorated Document embedded by value, `link`/`backlink` Beanie references to a model,
    `document_link` a `Link[Document]` (a reference to a record of any model: no `ref`),
    `unknown` a name the scanner could not resolve (kept as opaque JSON, with a warning).

    Each compiler stage has one table keyed by this enum saying what a kind means to it,
    and `tests/test_kind_tables.py` fails when a member is missing from any of them; see
    CONTRIBUTING.md, "Adding a field kind". A `StrEnum`: in the IR's JSON, and compared
    with a string, a member is its value."""

    STR = "str"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    TIMEDELTA = "timedelta"
    UUID = "uuid"
    OBJECT_ID = "object_id"
    BYTES = "bytes"
    SECRET_STR = "secret_str"
    SECRET_BYTES = "secret_bytes"
    PATH = "path"
    IPV4_ADDRESS = "ipv4_address"
    IPV6_ADDRESS = "ipv6_address"
    IP_ADDRESS = "ip_address"
    EMAIL = "email"
    URL = "url"
    ANY = "any"
    NONE = "none"
    LIST = "list"
    SET = "set"
    TUPLE = "tuple"
    DICT = "dict"
    UNION = "union"
    LITERAL = "literal"
    ENUM = "enum"
    SCHEMA = "schema"
    MODEL = "model"
    LINK = "link"
    BACKLINK = "backlink"
    DOCUMENT_LINK = "document_link"
    UNKNOWN = "unknown"


_KIND_SCHEMA = WithJsonSchema(
    {"enum": [kind.value for kind in TypeKind], "title": "Kind", "type": "string"}
)
"""A kind's JSON Schema, inline in `metadata.schema.json` where pydantic would put an enum
under `$defs`: the schema CI tools validate against keeps one shape."""


OPTIONAL_PACKAGES: dict[TypeKind, tuple[str, str]] = {
    TypeKind.EMAIL: ("email-validator", "email_validator")
}
"""Field kinds whose pydantic type needs a package pydantic does not install: kind ->
(distribution, module). `EmailStr` validates addresses with email-validator."""


class IRModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRef(IRModel):
    """Where a node was declared, relative to the project root (1-based line and column)."""

    path: str
    line: int
    col: int


class TypeRef(IRModel):
    """A field type as structured data: the one place emitters look to pick a widget,
    a Python annotation, a TypeScript type or a CLI option."""

    kind: Annotated[TypeKind, _KIND_SCHEMA]
    nullable: bool = False
    args: list[TypeRef] = Field(
        default_factory=list,
        description="Item type of list/set, key and value of dict, members of tuple/union.",
    )
    ref: str | None = Field(
        default=None,
        description="Enum or schema id (`module.Class`), or model name for model/link/backlink.",
    )
    values: list[JsonScalar] = Field(
        default_factory=list, description="Allowed values of a `literal` or `enum`."
    )
    constraints: dict[str, JsonScalar] = Field(
        default_factory=dict,
        description="Limits on the values of an item type (`list[constr(max_length=5)]`, "
        "`set[conint(gt=0)]`), as `FieldIR.constraints` holds the field's own.",
    )
    type_name: str | None = Field(
        default=None,
        description="The library type (`pydantic.UUID4`, `pydantic.HttpUrl`, "
        "`beanie.DecimalAnnotation`) when it validates unlike the kind's plain type: "
        "generated code spells it as the model does.",
    )


class DefaultValue(IRModel):
    """A field default. `literal` values are JSON; `factory` names the default_factory
    (`list`, `datetime.utcnow`); `enum` holds the member's value and `text` its spelling;
    `expression` is anything else, kept as source text only."""

    kind: Literal["literal", "factory", "enum", "expression"]
    value: Any = None
    text: str


class FieldIR(IRModel):
    name: str
    alias: str | None = Field(
        default=None,
        description="The alias pydantic computes (`Field(alias=...)`, else the class's alias "
        "generator): the field's key in JSON and in MongoDB.",
    )
    validation_alias: str | None = Field(
        default=None, description="The key validation reads, when it is not `alias`."
    )
    validation_paths: list[list[str | int]] = Field(
        default_factory=list,
        description="`validation_alias` as an `AliasChoices` or `AliasPath`: the paths "
        "validation tries, in order, as pydantic's `convert_to_aliases()` lists them (one "
        "key, or keys and list indexes into nested data). `validation_alias` is then None.",
    )
    serialization_alias: str | None = Field(
        default=None, description="The key a dump by alias writes, when it is not `alias`."
    )
    type: str = Field(description="The annotation as written, normalised.")
    type_info: TypeRef
    required: bool
    default: DefaultValue | None = None
    description: str | None = None
    title: str | None = None
    constraints: dict[str, JsonScalar] = Field(
        default_factory=dict,
        description="Field(...) constraints: gt, ge, lt, le, multiple_of, min_length, "
        "max_length, pattern, max_digits, decimal_places, strict, frozen.",
    )
    examples: list[Any] = Field(default_factory=list)
    indexed: bool = False
    unique: bool = False
    links_to: str | None = Field(
        default=None,
        description="The model whose record id the field holds, as declared with "
        '`Field(json_schema_extra={"links_to": "Model"})` on an id typed `str` or '
        "`PydanticObjectId` (or a list of them): forms pick the record.",
    )
    inherited_from: str | None = Field(
        default=None, description="Qualified class the field was declared on, if a base."
    )
    source: SourceRef

    @property
    def input_key(self) -> str:
        """The key a request body gives the field by: the one validation reads (of an
        `AliasChoices`, its first plain key, else the name, which the model takes by name)."""
        if self.validation_paths:
            return next((str(p[0]) for p in self.validation_paths if len(p) == 1), self.name)
        return self.validation_alias or self.alias or self.name

    @property
    def output_key(self) -> str:
        """The key the field has in the API's answers: the one a dump by alias writes."""
        return self.serialization_alias or self.alias or self.name

    @property
    def query_key(self) -> str:
        """The key list filters and sorting name the field by: its alias, as stored."""
        return self.alias or self.name


class IndexIR(IRModel):
    """One entry of `Settings.indexes`: its keys with direction (1, -1, or a text/geo kind)."""

    keys: list[tuple[str, JsonScalar]]
    name: str | None = None
    unique: bool = False
    text: str = Field(description="The entry as written.")


class DetailSection(IRModel):
    title: str
    fields: list[str]


PERMISSION_ACTIONS = ("read", "create", "update", "delete")
"""What `@datamodel(permissions=...)` may restrict, each to a list of role names."""


OnDelete = Literal["protect", "cascade", "set_null"]
"""What deleting a record does to the records that link to it: refuse while any does
(`protect`, the default), delete them too (`cascade`), or clear their link (`set_null`)."""


class UiHints(IRModel):
    icon: str | None = None
    primary_field: str | None = None
    list_fields: list[str] = Field(default_factory=list)
    searchable_fields: list[str] = Field(default_factory=list)
    sortable_fields: list[str] = Field(default_factory=list)
    hidden_fields: list[str] = Field(default_factory=list)
    readonly_fields: list[str] = Field(default_factory=list)
    detail_sections: list[DetailSection] = Field(default_factory=list)
    widgets: dict[str, str] = Field(default_factory=dict)
    on_delete: dict[str, OnDelete] = Field(
        default_factory=dict,
        description="Per link field, what deleting its target does to this model's records "
        "that link to it; a link left out is `protect`.",
    )


class ModelIR(IRModel):
    name: str
    class_name: str
    module: str
    source: SourceRef
    description: str | None = None
    docstring: str | None = None
    tags: list[str] = Field(default_factory=list)
    ui: UiHints = Field(default_factory=UiHints)
    relations: list[Any] = Field(default_factory=list)
    permissions: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Roles allowed each action (read, create, update, delete) as declared; "
        "an action left out falls back to `api.default_permissions`.",
    )
    collection: str
    class_id: str | None = Field(
        default=None,
        description="Beanie's class id (`_class_id`), which tells this model's records apart "
        "in a collection it shares: a `Settings.is_root` hierarchy (`Vehicle.Car`) or a "
        "`Settings.union_doc` member (its own Settings.name, else its class name).",
    )
    init_with: list[str] = Field(
        default_factory=list,
        description="Classes (`module.Class`) Beanie must initialise along with this model: "
        "the UnionDoc it belongs to, the bases of its is_root hierarchy.",
    )
    soft_delete: bool = Field(
        default=False,
        description="A `DocumentWithSoftDelete`: a delete sets `deleted_at`, lists leave such "
        "records out unless asked, and a restore clears it.",
    )
    populate_by_name: bool = Field(
        default=True,
        description="`model_config` lets validation take a field by its name as well as its "
        "alias (`populate_by_name`/`validate_by_name`).",
    )
    indexes: list[IndexIR] = Field(default_factory=list)
    bases: list[str] = Field(description="Qualified names of the direct bases.")
    fields: list[FieldIR]

    def read_only_fields(self) -> list[str]:
        """`ui.readonly_fields`, and the `deleted_at` that only a (soft) delete sets."""
        soft = ["deleted_at"] if self.soft_delete else []
        return [*self.ui.readonly_fields, *(n for n in soft if n not in self.ui.readonly_fields)]


class OperationIO(IRModel):
    """An operation's inputs or outputs: the schema id and its fields, inlined so an
    emitter needs no lookup to build a form or a CLI option list."""

    schema_id: str | None = Field(
        default=None, description="Id in `schemas`; None when the operation has none."
    )
    fields: list[FieldIR] = Field(default_factory=list)


class OperationIR(IRModel):
    name: str
    function: str
    module: str
    source: SourceRef
    description: str | None = None
    docstring: str | None = None
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    is_async: bool
    async_enabled: bool
    retries: int = 0
    timeout_s: float | None = None
    inputs: OperationIO
    outputs: OperationIO
    models_in: list[str] = Field(default_factory=list)
    models_out: list[str] = Field(default_factory=list)
    roles: list[str] | None = Field(
        default=None,
        description="Roles allowed to run it as declared; None falls back to "
        "`api.default_permissions.run`.",
    )


class SchemaIR(IRModel):
    """A plain BaseModel used as operation input/output or nested in a field."""

    id: str
    name: str
    module: str
    source: SourceRef
    docstring: str | None = None
    bases: list[str]
    fields: list[FieldIR]


class EnumMember(IRModel):
    name: str
    value: JsonScalar


class EnumIR(IRModel):
    id: str
    name: str
    module: str
    source: SourceRef
    docstring: str | None = None
    members: list[EnumMember]


EdgeKind = Literal["reads", "writes", "link", "backlink", "inherits"]


class EdgeIR(IRModel):
    """A graph edge between nodes `model:<Name>` and `operation:<name>`.

    reads: model -> operation (models_in); writes: operation -> model (models_out);
    link/backlink: model -> model through `field`; inherits: model -> base model.
    """

    source: str
    target: str
    kind: EdgeKind
    field: str | None = None


class ProjectIR(IRModel):
    ir_version: str = IR_VERSION
    project: str = Field(description="Project name from config (or the folder name).")
    models: list[ModelIR] = Field(default_factory=list)
    operations: list[OperationIR] = Field(default_factory=list)
    schemas: list[SchemaIR] = Field(default_factory=list)
    enums: list[EnumIR] = Field(default_factory=list)
    edges: list[EdgeIR] = Field(default_factory=list)

    _indexes: dict[str, tuple[int, dict[str, Any]]] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Fields only: the private lookup caches are not part of the value."""
        return isinstance(other, ProjectIR) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model

    def model(self, name: str) -> ModelIR | None:
        return self._index("models", self.models, "name").get(name)

    def schema(self, schema_id: str) -> SchemaIR | None:
        return self._index("schemas", self.schemas, "id").get(schema_id)

    def enum(self, enum_id: str) -> EnumIR | None:
        return self._index("enums", self.enums, "id").get(enum_id)

    def part(self, models: list[ModelIR], operations: list[OperationIR]) -> ProjectIR:
        """This project with only `models` and `operations` (and every schema and enum,
        sharing their lookup indexes), no edges. Not validated: its nodes are this one's."""
        self.schema("")  # built once here, not once per part
        self.enum("")
        part = ProjectIR.model_construct(
            ir_version=self.ir_version,
            project=self.project,
            models=models,
            operations=operations,
            schemas=self.schemas,
            enums=self.enums,
            edges=[],
        )
        part._indexes.update((k, self._indexes[k]) for k in ("schemas", "enums"))
        return part

    def optional_package_fields(self) -> dict[TypeKind, FieldIR]:
        """Each kind of `OPTIONAL_PACKAGES` the project's fields use, with the first field
        (of the models, then of the schemas) that uses it."""
        found: dict[TypeKind, FieldIR] = {}
        for node in [*self.models, *self.schemas]:
            for item in node.fields:
                kind = _optional_kind(item.type_info)
                if kind is not None:
                    found.setdefault(kind, item)
        return found

    def _index(self, kind: str, nodes: list[Any], key: str) -> dict[str, Any]:
        """Name -> node, rebuilt when the list grew or shrank (emitters look up thousands
        of link targets and schemas; a scan per lookup was quadratic)."""
        cached = self._indexes.get(kind)
        if cached is None or cached[0] != len(nodes):
            index: dict[str, Any] = {}
            for node in nodes:
                index.setdefault(getattr(node, key), node)
            cached = self._indexes[kind] = (len(nodes), index)
        return cached[1]

    def to_json(self) -> str:
        """`metadata.json` as `ir_document` lays it out. (The docs emitter writes the same
        from records it keeps per node: emit/docs.py.)"""
        return ir_document(self.model_dump(mode="json")).decode()


def _optional_kind(type_ref: TypeRef) -> TypeKind | None:
    """A kind of `OPTIONAL_PACKAGES` the type is, or holds (`list[EmailStr]`)."""
    if type_ref.kind in OPTIONAL_PACKAGES:
        return type_ref.kind
    for arg in type_ref.args:
        kind = _optional_kind(arg)
        if kind is not None:
            return kind
    return None


NodeDigests = dict[str, str]
"""sha256 of the JSON the resolve memo keeps of each node, by `node_label`. A node is
validated from that JSON or produced it, so the digest pins the node down: the emission
cache keys on it instead of serialising 4,000 nodes again (emit/emit_cache.py)."""


def node_label(node: ModelIR | OperationIR | SchemaIR | EnumIR) -> str:
    """`model:<Name>` and `operation:<name>` as in `EdgeIR`; `schema:<id>`, `enum:<id>`."""
    if isinstance(node, ModelIR):
        return f"model:{node.name}"
    if isinstance(node, OperationIR):
        return f"operation:{node.name}"
    return f"{'schema' if isinstance(node, SchemaIR) else 'enum'}:{node.id}"


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def dump_json(data: Any) -> str:
    """Sorted keys, two-space indent, UTF-8, trailing newline. orjson: the IR of a
    1,000-model project is ~20 MB, which the standard library takes a second to write.
    `data` may hold `orjson.Fragment(json_part(...))`s, spliced in as they are."""
    return json_bytes(data).decode()


def json_bytes(data: Any) -> bytes:
    """`dump_json(data)` encoded, for a file: a 20 MB text decoded and encoded again
    cost more than dumping it."""
    return orjson.dumps(data, option=_JSON_OPTIONS | orjson.OPT_APPEND_NEWLINE)


def json_part(data: Any, depth: int) -> bytes:
    """`data` exactly as `dump_json` prints it `depth` levels deep in a document (say 2
    for an item of a top-level list): parts kept across compiles (one per IR node) make
    a document without dumping every node again. JSON strings hold no raw newline, so
    indenting each line is safe."""
    return orjson.dumps(data, option=_JSON_OPTIONS).replace(b"\n", b"\n" + b"  " * depth)


RECORD_LISTS = frozenset({"models", "operations", "schemas", "enums", "edges"})


def ir_document(data: dict[str, Any]) -> bytes:
    """The IR's JSON as `dump_json` writes it, except that each item of its record lists
    is one line (`record_json`). Items may be `orjson.Fragment(record_json(...))`s."""
    return json_bytes(
        {
            key: [_record(item) for item in value] if key in RECORD_LISTS else value
            for key, value in data.items()
        }
    )


def record_json(record: Any) -> bytes:
    """One record of the IR on one line: sorted keys, no spaces (JSON strings hold no raw
    newline)."""
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS)


def _record(item: Any) -> orjson.Fragment:
    return item if isinstance(item, orjson.Fragment) else orjson.Fragment(record_json(item))


def ir_json_schema() -> str:
    """JSON Schema of `metadata.json`, shipped beside it so CI tools can validate it."""
    schema = ProjectIR.model_json_schema()
    schema["title"] = f"jobhunter IR version {IR_VERSION}"
    return dump_json(schema)
