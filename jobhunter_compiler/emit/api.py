"""API emitter: `generated_api.py` and the `generated_routes/` package it imports.

One module per model (`generated_routes/models/<model>.py`: request/response schemas, the
list filter table, the CRUD router) and one per operation, so editing one model rewrites
one module. Everything the templates print is precomputed here: annotations, `Field(...)`
arguments, local names of imported user classes, filter-table rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..config import ApiConfig, Config
from ..ir import (
    FieldIR,
    ModelIR,
    OperationIO,
    OperationIR,
    ProjectIR,
    TypeRef,
)
from . import EmitSettings, OutputFile
from .access_table import access_table
from .api_filters import filter_row
from .emit_cache import NodeScopes, per_node, per_project
from .naming import API_PACKAGE as PACKAGE
from .naming import (
    DOCS_DIR,
    IR_FILE,
    database_name,
    document_link,
    first_party_packages,
    generated_header,
    incoming_links,
    is_backlink,
    link_target,
    module_names,
    package_init,
    source_roots,
)
from .naming import RUNTIME_PACKAGE as RUNTIME
from .prefect_names import dispatch_deployment
from .python import (
    AnnotationContext,
    Imports,
    annotation,
    constraint_arguments,
    pascal_identifier,
    python_literal,
    snake_identifier,
)
from .template_set import TemplateSet

APP_MODULE = "generated_api.py"
BUILTIN_FACTORIES = frozenset({"list", "dict", "set", "frozenset", "tuple", "str", "int", "float"})
OBJECT_ID = TypeRef(kind="object_id")


def emit_api(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    config, templates, emit_cache = settings.config, settings.templates, settings.cache
    first_party = first_party_packages(ir)
    model_modules = module_names(ir, "model")
    operation_modules = module_names(ir, "operation")
    header = generated_header(ir)
    scopes = NodeScopes.for_compile(ir, settings.cache)
    command_line = api_command_line(ir, config)
    files: dict[str, str] = {
        f"{PACKAGE}/__init__.py": package_init(
            ir, templates, "Routers of the generated API, one module per model and per operation."
        ),
        f"{PACKAGE}/settings.py": templates.render(
            "api/settings.py.j2",
            header=header,
            api=config.api,
            database=python_literal(database_name(ir)),
            cors_origins=python_literal(config.api.cors_origins),
            dispatch=dispatch_deployment(ir, config),
        ),
        f"{PACKAGE}/metadata.py": templates.render(
            "api/metadata.py.j2",
            header=header,
            ir_file=f"{DOCS_DIR}/{IR_FILE}",
            ir_file_parts=" / ".join(python_literal(part) for part in (DOCS_DIR, IR_FILE)),
            # with an API key the docs pages are off (they would fetch the schema without it)
            docs=config.api.auth != "api_key",
        ),
        f"{PACKAGE}/taskruns.py": templates.render(
            "api/taskruns.py.j2", header=header, users=config.api.auth == "users"
        ),
        f"{PACKAGE}/models/__init__.py": per_project(
            emit_cache,
            _documents_module,
            templates,
            _beanie_classes(ir),
            header,
            first_party,
        ),
        f"{PACKAGE}/operations/__init__.py": per_project(
            emit_cache,
            _operations_table,
            templates,
            [(o.name, operation_modules[o.name]) for o in ir.operations],
            header,
            first_party,
        ),
        APP_MODULE: per_project(
            emit_cache,
            _app_module,
            templates,
            ir.project,
            config.api,
            [model_modules[m.name] for m in ir.models],
            [operation_modules[o.name] for o in ir.operations],
            header,
            command_line,
        ),
    }
    if config.api.auth == "users":
        models, operations = access_table(ir, config.api)
        files[f"{PACKAGE}/access.py"] = templates.render(
            "api/access.py.j2",
            header=header,
            models=models,
            operations=operations,
            literal=python_literal,
            roles_set=_roles_set,
        )
    referrers = _referrers(ir, model_modules)
    for model in ir.models:
        module = model_modules[model.name]
        files[f"{PACKAGE}/models/{module}.py"] = per_node(
            emit_cache,
            scopes,
            model,
            _model_module,
            templates,
            header,
            first_party,
            tuple(referrers.get(model.name, ())),
        )
    for operation in ir.operations:
        module = operation_modules[operation.name]
        files[f"{PACKAGE}/operations/{module}.py"] = per_node(
            emit_cache, scopes, operation, _operation_module, templates, header, first_party
        )
    return [OutputFile(path=path, content=text.encode()) for path, text in sorted(files.items())]


def _roles_set(roles: list[str]) -> str:
    if not roles:
        return "frozenset()"
    return "frozenset({" + ", ".join(python_literal(role) for role in roles) + "})"


def api_command_line(ir: ProjectIR, config: Config) -> str:
    """How a person starts the app from the project root: Python puts the working folder
    on the path, PYTHONPATH any other source root."""
    others = [root for root in source_roots(ir) if root != "."]
    pythonpath = f"PYTHONPATH={':'.join(others)} " if others else ""
    output_dir = PurePosixPath(config.output_dir).as_posix()
    return f"{pythonpath}python -m uvicorn generated_api:app --app-dir {output_dir}"


# --------------------------------------------------------------------------- models


@dataclass
class FieldLine:
    """One `name: annotation [= default]` line of a generated schema class."""

    name: str
    annotation: str
    default: str | None = None

    @property
    def source(self) -> str:
        return f"{self.name}: {self.annotation}" + (f" = {self.default}" if self.default else "")


@dataclass(frozen=True)
class LinkLine:
    json_name: str
    target: str
    many: bool

    @property
    def source(self) -> str:
        return f"LinkField({self.target}{', many=True' if self.many else ''})"


@dataclass
class ModelModule:
    model: ModelIR
    document: str
    id_annotation: str
    read_id_annotation: str
    create: list[FieldLine] = field(default_factory=list)
    replace: list[FieldLine] = field(default_factory=list)
    patch: list[FieldLine] = field(default_factory=list)
    read: list[FieldLine] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    links: list[LinkLine] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    defaulted: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    """`ui.readonly_fields` (by JSON name): no replace or patch sets them."""
    server_set: list[str] = field(default_factory=list)
    """The read-only fields with a default, which no create sets either; the others are
    required, so a create must give them (they are written once)."""
    by_name: bool = False
    """Whether the bodies take a field by its name too, as the model does; only said when
    some field has a key of its own."""

    @property
    def replace_is_create(self) -> bool:
        """Whether a replace takes what a create does: unless some read-only field is
        written once, by the create alone."""
        return self.replace == self.create


@dataclass(frozen=True)
class ReferrerLine:
    """A link of some model to the one a module serves, as its `Referrer(...)`."""

    model: str
    field: str
    rule: str
    records: str
    many: bool

    @property
    def source(self) -> str:
        arguments = [
            f"model={python_literal(self.model)}",
            f"field={python_literal(self.field)}",
            f"rule={python_literal(self.rule)}",
            f"records={python_literal(self.records)}",
        ]
        return f"Referrer({', '.join(arguments)}{', many=True' if self.many else ''})"


def _referrers(ir: ProjectIR, model_modules: dict[str, str]) -> dict[str, list[ReferrerLine]]:
    """Per model, the links of every model to it, which its deletes honour."""
    return {
        target: [
            ReferrerLine(
                link.model,
                link.key,
                link.rule,
                f"{PACKAGE}.models.{model_modules[link.model]}",
                link.many,
            )
            for link in links
        ]
        for target, links in incoming_links(ir).items()
    }


def _id_type(model: ModelIR) -> TypeRef:
    declared = next((f for f in model.fields if f.name == "id"), None)
    return declared.type_info.model_copy(update={"nullable": False}) if declared else OBJECT_ID


def _model_module(
    ir: ProjectIR,
    model: ModelIR,
    templates: TemplateSet,
    header: str,
    first_party: tuple[str, ...],
    referrers: tuple[ReferrerLine, ...],
) -> str:
    id_types = {m.name: _id_type(m) for m in ir.models}
    base = pascal_identifier(model.name)
    schema_names = {f"{base}{suffix}" for suffix in ("Create", "Replace", "Patch", "Read")}
    verbs = ("list", "create", "get", "replace", "patch", "delete", "restore", "references")
    routes = {f"{verb}_record" for verb in verbs}
    imports = Imports(
        reserved={"router", "RESOURCE", "FILTERS", *schema_names, *routes},
        shadowed={"id", *(item.name for item in model.fields)},
    )
    imports.names("fastapi", "APIRouter", "Request", "Response", "status")
    imports.names("pydantic", "BaseModel", "ConfigDict")
    imports.claim("pydantic", "Field")
    imports.names(f"{RUNTIME}.records", "PatchBody", "RecordBody")
    imports.names(
        f"{RUNTIME}.http",
        "ModelResource",
        "LIST_RESPONSES",
        "CREATE_RESPONSES",
        "READ_RESPONSES",
        "WRITE_RESPONSES",
    )
    imports.names(f"{RUNTIME}.listing", "ListSpec")
    imports.names(f"{PACKAGE}.settings", "PAGINATION")
    write_ctx = AnnotationContext(ir, imports, "id", id_types)
    read_ctx = AnnotationContext(ir, imports, "str", id_types, limits=False)
    read_only = set(model.read_only_fields())
    module = ModelModule(
        model=model,
        document=imports.name(model.module, model.class_name),
        id_annotation=annotation(id_types[model.name], write_ctx),
        read_id_annotation=imports.builtin("str"),
    )
    module.by_name = model.populate_by_name and any(
        (item.validation_alias or item.alias or item.name) != item.name or item.validation_paths
        for item in model.fields
    )
    for item in model.fields:
        json_name = item.alias or item.name
        if is_backlink(item.type_info):
            module.hidden.append(item.name)
            continue
        if item.name == "id":  # a declared id (say a UUID) is the path's id, not a field
            continue
        link = link_target(item.type_info)
        target = ir.model(link[0]) if link else None
        if link is not None and target is not None:
            imports.name(f"{RUNTIME}.records", "LinkField")
            document = imports.name(target.module, target.class_name)
            module.links.append(LinkLine(json_name, document, link[1]))
        many = document_link(item.type_info)
        if many is not None:
            imports.name(f"{RUNTIME}.records", "LinkField")
            module.links.append(LinkLine(json_name, imports.name("beanie", "Document"), many))
        module.read.append(_read_line(item, read_ctx))
        row = filter_row(item.name, json_name, item.type_info, model, ir, imports)
        if row is not None:
            module.filters.append(row)
        create, defaulted = _create_line(item, write_ctx)
        if item.name in read_only:
            module.read_only.append(json_name)
            if item.required:
                module.create.append(create)
            else:
                module.server_set.append(json_name)
            continue
        module.create.append(create)
        module.replace.append(create)
        module.patch.append(_patch_line(item, write_ctx))
        if defaulted:
            module.defaulted.append(json_name)
    if referrers:
        imports.name(f"{RUNTIME}.records", "Referrer")
        imports.name(f"{RUNTIME}.http", "REFERENCES_RESPONSES")
        imports.name(f"{RUNTIME}.http", "DELETE_RESPONSES")
        imports.name(f"{RUNTIME}.http", "ReferenceRead")
    id_row = filter_row("id", "id", id_types[model.name], model, ir, imports)
    if id_row is not None:
        module.filters.insert(0, id_row)
    return templates.render(
        "api/model_router.py.j2",
        header=header,
        imports=imports.blocks(first_party),
        m=module,
        referrers=referrers,
        base=base,
        path=f"/api/models/{model.name}",
        name_literal=python_literal(model.name),
        literal=python_literal,
        tuple_literal=_tuple_literal,
    )


def _tuple_literal(names: list[str]) -> str:
    """`("a", "b")`, or `("a",)`: without a trailing comma the formatter keeps it on one line."""
    items = ", ".join(python_literal(name) for name in names)
    return f"({items},)" if len(names) == 1 else f"({items})"


def _field_arguments(item: FieldIR, imports: Imports, *, read: bool = False) -> list[str]:
    """A body takes the key the model validates; a read returns the key it dumps."""
    arguments = []
    if item.validation_paths and not read:
        arguments += _validation_paths(item, imports)
    else:
        alias = (item.serialization_alias if read else item.validation_alias) or item.alias
        if alias and alias != item.name:
            arguments.append(f"alias={python_literal(alias)}")
    if not read:
        arguments += constraint_arguments(item.constraints)
    if item.description:
        arguments.append(f"description={python_literal(item.description)}")
    return arguments


def _validation_paths(item: FieldIR, imports: Imports) -> list[str]:
    """`validation_alias=AliasChoices(...)` as the model's, and the key the body hands the
    model: its first plain key, else the name (which the model takes by name)."""
    paths = [_alias_path(path, imports) for path in item.validation_paths]
    if len(item.validation_paths) == 1 and len(item.validation_paths[0]) > 1:
        spelled = paths[0]
    else:
        spelled = f"{imports.name('pydantic', 'AliasChoices')}({', '.join(paths)})"
    arguments = [f"validation_alias={spelled}"]
    if item.input_key != item.name:
        arguments.append(f"serialization_alias={python_literal(item.input_key)}")
    return arguments


def _alias_path(path: list[str | int], imports: Imports) -> str:
    steps = ", ".join(python_literal(step) for step in path)
    return steps if len(path) == 1 else f"{imports.name('pydantic', 'AliasPath')}({steps})"


def _field_line(
    name: str,
    spelled: str,
    default: str | None,
    arguments: list[str],
    imports: Imports,
    *,
    call: bool = False,
) -> FieldLine:
    """`name: T [= default]`, or `name: T = Field(default, ...)` when there are Field
    arguments (or `call` asks for the call form). `default` may be `default_factory=...`."""
    if not arguments and not call:
        return FieldLine(name, spelled, default)
    inner = ([default] if default is not None else []) + arguments
    return FieldLine(name, spelled, f"{imports.name('pydantic', 'Field')}({', '.join(inner)})")


def _default_source(item: FieldIR, ctx: AnnotationContext) -> tuple[str | None, bool]:
    """(default as Python source, whether the model's own factory must fill it)."""
    default = item.default
    if default is None:
        return None, False
    if default.kind == "literal":
        return python_literal(default.value), False
    if default.kind == "enum":
        enum_ref = _enum_ref(item.type_info)
        member = default.text.rpartition(".")[2]
        if enum_ref and member.isidentifier():
            return f"{ctx.imports.qualified(enum_ref)}.{member}", False
        return None, True
    if default.kind == "factory" and default.text in BUILTIN_FACTORIES:
        return f"default_factory={ctx.imports.builtin(default.text)}", False
    return None, True


def _enum_ref(type_ref: TypeRef) -> str | None:
    if type_ref.kind == "enum":
        return type_ref.ref
    for arg in type_ref.args if type_ref.kind == "union" else ():
        found = _enum_ref(arg)
        if found:
            return found
    return None


def _create_line(item: FieldIR, ctx: AnnotationContext) -> tuple[FieldLine, bool]:
    """The field as a create body takes it, and whether the model's own factory (say
    `utcnow`) must fill it: such a field is optional here, and `null` means omitted."""
    spelled = annotation(item.type_info, ctx)
    default, defaulted = _default_source(item, ctx)
    if defaulted:
        spelled = spelled if spelled.endswith("| None") else f"{spelled} | None"
        default = "None"
    arguments = _field_arguments(item, ctx.imports)
    call = default is not None and default.startswith("default_factory=")
    return _field_line(item.name, spelled, default, arguments, ctx.imports, call=call), defaulted


def _patch_line(item: FieldIR, ctx: AnnotationContext) -> FieldLine:
    """Every field optional: the model's annotation, or MISSING when the body leaves the
    field out (the record keeps its value). `null` stays as valid as in the model, here
    and in the OpenAPI schema, which leaves MISSING out."""
    missing = ctx.imports.name("pydantic", "MISSING")
    spelled = f"{annotation(item.type_info, ctx)} | {missing}"
    arguments = _field_arguments(item, ctx.imports)
    return _field_line(item.name, spelled, missing, arguments, ctx.imports)


def _read_line(item: FieldIR, ctx: AnnotationContext) -> FieldLine:
    arguments = _field_arguments(item, ctx.imports, read=True)
    return _field_line(item.name, annotation(item.type_info, ctx), None, arguments, ctx.imports)


# --------------------------------------------------------------------------- operations


@dataclass
class OperationModule:
    operation: OperationIR
    function: str
    route_function: str
    inputs: str | None
    outputs: str | None


def _io_class(io: OperationIO, ir: ProjectIR, imports: Imports) -> str | None:
    schema = ir.schema(io.schema_id) if io.schema_id else None
    return imports.name(schema.module, schema.name) if schema else None


def _operation_module(
    ir: ProjectIR,
    operation: OperationIR,
    templates: TemplateSet,
    header: str,
    first_party: tuple[str, ...],
) -> str:
    route_function = f"run_{snake_identifier(operation.name)}"
    imports = Imports(reserved={"router", "ENDPOINT", route_function})
    imports.names("fastapi", "APIRouter", "Request", "Response")
    imports.names(f"{RUNTIME}.http", "OPERATION_RESPONSES", "OperationEndpoint", "run_operation")
    module = OperationModule(
        operation=operation,
        function=imports.name(operation.module, operation.function),
        route_function=route_function,
        inputs=_io_class(operation.inputs, ir, imports),
        outputs=_io_class(operation.outputs, ir, imports),
    )
    description = operation.description or (operation.docstring or "").strip().split("\n\n")[0]
    path = f"/api/operations/{operation.name}/"
    return templates.render(
        "api/operation_router.py.j2",
        header=header,
        imports=imports.blocks(first_party),
        op=module,
        path=path,
        path_literal=python_literal(path),
        summary=python_literal(operation.name),
        description=python_literal(description) if description else None,
    )


def _operations_table(
    templates: TemplateSet,
    operations: list[tuple[str, str]],
    header: str,
    first_party: tuple[str, ...],
) -> str:
    """`operations` are (name, module) pairs."""
    imports = Imports(reserved={"OPERATIONS"})
    imports.name(f"{RUNTIME}.http", "OperationEndpoint")
    rows = []
    for name, module in operations:
        local = imports.name(f"{PACKAGE}.operations", module)
        rows.append((python_literal(name), local))
    return templates.render(
        "api/operations_init.py.j2", header=header, imports=imports.blocks(first_party), rows=rows
    )


def _beanie_classes(ir: ProjectIR) -> list[tuple[str, str]]:
    """(module, class name) of every class `init_beanie` needs: the models, and the
    UnionDocs and hierarchy bases they need initialised before them."""
    classes: dict[tuple[str, str], None] = {}
    for model in ir.models:
        for class_id in model.init_with:
            module, _, name = class_id.rpartition(".")
            classes[(module, name)] = None
        classes[(model.module, model.class_name)] = None
    return list(classes)


def _documents_module(
    templates: TemplateSet,
    classes: list[tuple[str, str]],
    header: str,
    first_party: tuple[str, ...],
) -> str:
    """`classes` are the models' (module, class name) pairs."""
    imports = Imports(reserved={"DOCUMENT_MODELS"})
    imports.name(f"{RUNTIME}.taskrun", "TaskRun")
    documents = [imports.name(module, class_name) for module, class_name in classes]
    return templates.render(
        "api/models_init.py.j2",
        header=header,
        imports=imports.blocks(first_party),
        documents=documents,
    )


# --------------------------------------------------------------------------- app


def _app_module(
    templates: TemplateSet,
    project: str,
    api: ApiConfig,
    model_modules: list[str],
    operation_modules: list[str],
    header: str,
    command_line: str,
) -> str:
    imports = Imports(
        reserved={
            "app",
            "lifespan",
            "create_app",
            "settings",
            "guarded",
            "health",
            "openapi",
            "secret",
            "BACKGROUND_GRACE_S",
        }
    )
    imports.names("collections.abc", "AsyncIterator")
    imports.names("contextlib", "asynccontextmanager")
    imports.names("beanie", "init_beanie")
    imports.names("fastapi", "FastAPI", "Request", "Response")
    imports.names("fastapi.exceptions", "RequestValidationError")
    imports.names("fastapi.middleware.cors", "CORSMiddleware")
    imports.names("pymongo", "AsyncMongoClient")
    imports.names("pymongo.errors", "ConnectionFailure")
    imports.names(
        f"{RUNTIME}.http",
        "DATABASE_TIMEOUT_MS",
        "database_health",
        "database_unavailable_response",
        "validation_error_response",
    )
    imports.names(f"{RUNTIME}.limits", "BodySizeLimit")
    imports.names(f"{RUNTIME}.taskrun", "finish_background_runs", "reclaiming_abandoned_runs")
    if api.auth == "api_key":
        imports.names("typing", "Any")
        imports.names("fastapi", "Depends")
        imports.names(
            f"{RUNTIME}.auth",
            "API_KEY_SCHEME",
            "UNAUTHORIZED_RESPONSES",
            "ApiKeyRequired",
            "api_key_from_env",
        )
    if api.auth == "users":
        imports.names("typing", "Any")
        imports.names("fastapi", "Depends")
        imports.names(
            f"{RUNTIME}.sessions",
            "SIGN_IN_SCHEME",
            "SIGNED_IN_RESPONSES",
            "UsersRequired",
            "credentialed_origins",
            "secret_key_from_env",
        )
        imports.names(f"{RUNTIME}.signin", "SignInThrottle", "sign_in_router")
        imports.names(f"{RUNTIME}.users", "AppUser", "warn_without_users")
        imports.names(f"{PACKAGE}.access", "ACCESS")
        imports.names(f"{PACKAGE}.settings", "TOKEN_TTL_S")
    if api.extensions:
        imports.names(f"{RUNTIME}.http", "extension_router")
    imports.names(PACKAGE, "metadata", "taskruns")
    imports.names(f"{PACKAGE}.settings", "MAX_BODY_BYTES", "load_settings")
    imports.names(f"{PACKAGE}.models", "DOCUMENT_MODELS")
    routers = ["metadata", "taskruns"]
    routers += [imports.name(f"{PACKAGE}.models", module) for module in model_modules]
    routers += [imports.name(f"{PACKAGE}.operations", module) for module in operation_modules]
    return templates.render(
        "api/app.py.j2",
        header=header,
        command_line=command_line,
        imports=imports.blocks((PACKAGE, "jobhunter_compiler")),
        project=project,
        title=python_literal(f"{project} API"),
        routers=routers,
        api=api,
        api_key_env=python_literal(api.api_key_env),
        extensions=[python_literal(target) for target in api.extensions],
    )
