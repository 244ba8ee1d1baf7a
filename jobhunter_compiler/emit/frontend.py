"""Frontend emitter: `generated_frontend/`, a Vite + React + TypeScript + Refine admin.

Most of the app is the same for every project and is copied verbatim from
`templates/frontend/static/` (pages, widgets, the HTTP client, `package.json` and its
committed lockfile, so `npm ci` installs the same tree everywhere). What a project adds is
data: one module per model (`src/generated/models/<Name>.ts`: the record type and a
`ModelSpec` naming each field's widget, filter and constraints) and one per operation,
plus the short lists that import them. Editing one model rewrites that model's module.

Every choice per field kind is made here, in `FRONTEND_KINDS`; what each widget and list
filter does with a value is in `WIDGETS` and `LIST_FILTERS`, which the pages read from the
generated `src/generated/kinds.ts`. The templates only lay the results out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from ..ir import DefaultValue, FieldIR, ModelIR, OperationIR, ProjectIR, TypeKind, TypeRef
from . import EmitSettings, OutputFile
from .access_table import access_table
from .emit_cache import NodeScopes, per_node
from .naming import IncomingLink, generated_header, incoming_links, module_names
from .python import pascal_identifier, snake_identifier, unique_names
from .template_set import TemplateSet

FOLDER = "generated_frontend"
STATIC = "static"
RENAMED = {"gitignore": ".gitignore"}
"""Static files stored under another name, so they do not act on the repository itself."""

LIST_COLUMNS = 5
KEYED_SPEC_FIELDS = 1_000
"""Most fields a spec may have and still type its field names as the record's keys."""
DEFAULT_ICON = "AppstoreOutlined"
ICON_ALIASES = {
    "briefcase": "SolutionOutlined",
    "job": "SolutionOutlined",
    "box": "InboxOutlined",
    "package": "InboxOutlined",
    "document": "FileTextOutlined",
    "list": "UnorderedListOutlined",
    "users": "TeamOutlined",
    "person": "UserOutlined",
    "settings": "SettingOutlined",
    "money": "DollarOutlined",
    "invoice": "AccountBookOutlined",
    "cart": "ShoppingCartOutlined",
    "tag": "TagOutlined",
    "key": "KeyOutlined",
    "chat": "MessageOutlined",
    "comment": "CommentOutlined",
}
"""Names other icon sets use, as the closest Ant Design icon."""


@dataclass(frozen=True)
class Widget:
    """What one widget means to this emitter and, through `kinds.ts`, to the pages: `text`
    holds text (length constraints apply; an empty input is the empty string), `bounds` a
    number (ge/le/gt/lt apply), `choices` one or several of its `options` (shown by their
    labels), `target` records of another model, `moment` a dayjs picker (`date`, `time` or
    `datetime`: how the API's text is read into it and back). `column` is a scalar a list
    shows by default, `primary` may label a record when the model names no primary field,
    `required_start` what a required field starts as on a create form, `blank_on_edit`
    that an edit form starts empty (a secret: the API answers it masked, so a PATCH sends it
    only when retyped). A widget named in `ui.widgets` replaces the widgets in `replaces`
    (`replaces_any`: every one)."""

    text: bool = False
    bounds: bool = False
    choices: bool = False
    target: bool = False
    moment: str | None = None
    column: bool = False
    primary: bool = False
    required_start: bool | None = None
    blank_on_edit: bool = False
    replaces: frozenset[str] = frozenset()
    replaces_any: bool = False


_TEXT_WIDGETS = frozenset({"text", "textarea", "url", "email", "password"})


def _text_widget(
    *, column: bool = False, primary: bool = False, blank_on_edit: bool = False
) -> Widget:
    return Widget(
        text=True,
        column=column,
        primary=primary,
        blank_on_edit=blank_on_edit,
        replaces=_TEXT_WIDGETS,
    )


WIDGETS: dict[str, Widget] = {
    "text": _text_widget(column=True, primary=True),
    "textarea": _text_widget(),
    "url": _text_widget(column=True, primary=True),
    "email": _text_widget(column=True, primary=True),
    "password": _text_widget(blank_on_edit=True),
    "integer": Widget(bounds=True, column=True),
    "number": Widget(bounds=True, column=True),
    "decimal": Widget(bounds=True, column=True),
    "switch": Widget(column=True, required_start=False),
    "date": Widget(moment="date", column=True),
    "datetime": Widget(moment="datetime", column=True),
    "time": Widget(moment="time", column=True),
    "select": Widget(choices=True, column=True, replaces=frozenset({"select", "multiselect"})),
    "multiselect": Widget(choices=True),
    "tags": Widget(replaces=frozenset({"tags"})),
    "link": Widget(target=True, column=True),
    "links": Widget(target=True),
    "json": Widget(replaces_any=True),
}
"""Every widget; the generated kinds.ts lists them in this order as its `Widget` type."""


@dataclass(frozen=True)
class ListFilter:
    """A list column's filter: the simple-rest `operator` it sends and the `input` its
    dropdown shows (`FilterKind` and `FILTERS` in the generated kinds.ts)."""

    operator: str
    input: str


LIST_FILTERS: dict[str, ListFilter] = {
    "text": ListFilter("contains", "text"),
    "exact": ListFilter("eq", "text"),
    "number": ListFilter("eq", "number"),
    "boolean": ListFilter("eq", "boolean"),
    "choice": ListFilter("eq", "choice"),
    "date": ListFilter("gte", "date"),
    "link": ListFilter("eq", "link"),
}


TsSpelling = Callable[[TypeRef], str]


@dataclass(frozen=True)
class FrontendKind:
    """How fields of one kind are edited, typed and filtered: the `widget` (a key of
    `WIDGETS`; `json` edits the value as JSON text), the TypeScript type of the JSON value
    (a function of the TypeRef for kinds with type arguments or values), the list filter (a
    key of `LIST_FILTERS`, mirroring what the API's list endpoint accepts; None where it
    cannot filter), whether a list sorts by it, and the widget and filter of a `list[X]` or
    `set[X]` of it (`item_widget` "json": no widget of its own). A kind that `wraps_items`
    (a list) takes those of its item."""

    widget: str
    ts: str | TsSpelling
    filter: str | None = None
    sortable: bool = False
    item_widget: str = "json"
    item_filter: str | None = None
    wraps_items: bool = False


def _ts_choices(type_ref: TypeRef) -> str:
    return " | ".join(ts_literal(v) for v in type_ref.values) or "string"


def _ts_items(type_ref: TypeRef) -> str:
    item = ts_type(type_ref.args[0]) if type_ref.args else "unknown"
    return f"({item})[]" if _is_union(item) else f"{item}[]"


def _ts_tuple(type_ref: TypeRef) -> str:
    return "[" + ", ".join(ts_type(arg) for arg in type_ref.args) + "]"


def _ts_dict(type_ref: TypeRef) -> str:
    value = ts_type(type_ref.args[1]) if len(type_ref.args) == 2 else "unknown"
    return f"Record<string, {value}>"


def _ts_union(type_ref: TypeRef) -> str:
    members = dict.fromkeys(ts_type(arg) for arg in type_ref.args)
    return " | ".join(members) or "unknown"


def _sorted(widget: str, ts: str, filter_kind: str) -> FrontendKind:
    return FrontendKind(widget, ts, filter_kind, sortable=True)


def _tagged(widget: str) -> FrontendKind:
    """Text: a list of it is edited as tags, and filtered by exact match."""
    return FrontendKind(widget, "string", "text", True, "tags", "exact")


def _choice() -> FrontendKind:
    return FrontendKind("select", _ts_choices, "choice", True, "multiselect", "choice")


def _as_json(ts: str | TsSpelling) -> FrontendKind:
    return FrontendKind("json", ts)


_ITEMS = FrontendKind("json", _ts_items, wraps_items=True)
_RECORD = _as_json("Record<string, unknown>")

FRONTEND_KINDS: dict[TypeKind, FrontendKind] = {
    TypeKind.STR: _tagged("text"),
    TypeKind.EMAIL: _tagged("email"),
    TypeKind.URL: _tagged("url"),
    TypeKind.INT: _sorted("integer", "number", "number"),
    TypeKind.FLOAT: _sorted("number", "number", "number"),
    TypeKind.DECIMAL: _sorted("decimal", "string", "number"),
    TypeKind.BOOL: _sorted("switch", "boolean", "boolean"),
    TypeKind.DATETIME: _sorted("datetime", "string", "date"),
    TypeKind.DATE: _sorted("date", "string", "date"),
    TypeKind.TIME: FrontendKind("time", "string"),
    TypeKind.TIMEDELTA: FrontendKind("text", "string"),
    TypeKind.UUID: _sorted("text", "string", "exact"),
    TypeKind.OBJECT_ID: _sorted("text", "string", "exact"),
    TypeKind.BYTES: FrontendKind("text", "string"),
    TypeKind.SECRET_STR: FrontendKind("password", "string"),
    TypeKind.SECRET_BYTES: FrontendKind("password", "string"),
    TypeKind.PATH: _tagged("text"),
    TypeKind.IPV4_ADDRESS: _sorted("text", "string", "exact"),
    TypeKind.IPV6_ADDRESS: _sorted("text", "string", "exact"),
    TypeKind.IP_ADDRESS: _sorted("text", "string", "exact"),
    TypeKind.LITERAL: _choice(),
    TypeKind.ENUM: _choice(),
    TypeKind.LINK: FrontendKind("link", "string", "link", item_widget="links", item_filter="link"),
    TypeKind.LIST: _ITEMS,
    TypeKind.SET: _ITEMS,
    TypeKind.TUPLE: _as_json(_ts_tuple),
    TypeKind.DICT: _as_json(_ts_dict),
    TypeKind.UNION: _as_json(_ts_union),
    TypeKind.SCHEMA: _RECORD,
    TypeKind.MODEL: _RECORD,
    TypeKind.ANY: _as_json("unknown"),
    TypeKind.NONE: _as_json("null"),
    TypeKind.UNKNOWN: _as_json("unknown"),
    TypeKind.BACKLINK: _as_json("unknown"),  # computed by Beanie: no form or list shows it
    # A record of any model: no one resource to pick it from, so its id and collection.
    TypeKind.DOCUMENT_LINK: _as_json("{ id: string; collection: string }"),
}
"""Every kind; the scalar ones have widgets of their own, the rest are edited as JSON."""


_CONSTRAINTS = {"ge": "min", "le": "max", "gt": "exclusiveMin", "lt": "exclusiveMax"}
_EMPTY_FACTORIES: dict[str, Any] = {"list": [], "set": [], "frozenset": [], "dict": {}}


# --------------------------------------------------------------------------- TypeScript text


class Raw(str):
    """TypeScript source, printed as is (a name, not a string literal)."""


_NOT_ASCII = re.compile(r"[^\x00-\x7e]")


def ts_literal(value: Any) -> str:
    """A JSON value as TypeScript source: readable Unicode stays as it is; what cannot be
    seen (line and paragraph separators, bidi controls, DEL) is a `\\u` escape."""
    return _NOT_ASCII.sub(
        lambda match: match[0] if match[0].isprintable() else json.dumps(match[0])[1:-1],
        json.dumps(value, ensure_ascii=False),
    )


def ts_value(value: Any, indent: int = 0, column: int | None = None, width: int = 100) -> str:
    """A JSON-like value as a TypeScript expression, laid out the way Prettier would: on
    one line when it fits in `width` (it starts at `column`, default `indent`, and a `,` or
    `;` follows it), else one item per line at `indent + 2`."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        items = [f"{key}: {ts_value(item, indent + 2, None, width)}" for key, item in value.items()]
        open_, close = "{ ", " }"
    elif isinstance(value, list | tuple):
        items = [ts_value(item, indent + 2, None, width) for item in value]
        open_, close = "[", "]"
    else:
        return ts_literal(value)
    if not items:
        return "{}" if isinstance(value, dict) else "[]"
    inline = open_ + ", ".join(items) + close
    start = indent if column is None else column
    # Prettier breaks an array of several objects that have several keys each.
    objects = (
        isinstance(value, list | tuple)
        and len(value) > 1
        and all(isinstance(item, dict) and len(item) > 1 for item in value)
    )
    if "\n" not in inline and start + len(inline) + 1 <= width and not objects:
        return inline
    pad = " " * (indent + 2)
    lines = "".join(f"{pad}{item},\n" for item in items)
    return f"{open_.strip()}\n{lines}{' ' * indent}{close.strip()}"


# --------------------------------------------------------------------------- fields


def _unwrapped(type_ref: TypeRef) -> tuple[TypeRef, bool]:
    """(the list/set item type, True) for a list or set of one type, else (type_ref, False)."""
    if FRONTEND_KINDS[type_ref.kind].wraps_items and len(type_ref.args) == 1:
        return type_ref.args[0], True
    return type_ref, False


def widget_for(type_ref: TypeRef, override: str | None = None) -> str:
    """The widget a field's type gets, `ui.widgets` permitting."""
    item, many = _unwrapped(type_ref)
    chosen = FRONTEND_KINDS[item.kind].item_widget if many else FRONTEND_KINDS[item.kind].widget
    replacing = WIDGETS.get(override or "")
    if override and replacing and (replacing.replaces_any or chosen in replacing.replaces):
        return override
    return chosen


def filter_for(type_ref: TypeRef) -> str | None:
    """The list filter of a field, mirroring what the API's list endpoint accepts."""
    item, many = _unwrapped(type_ref)
    return FRONTEND_KINDS[item.kind].item_filter if many else FRONTEND_KINDS[item.kind].filter


def sortable_for(type_ref: TypeRef) -> bool:
    return FRONTEND_KINDS[type_ref.kind].sortable


def ts_type(type_ref: TypeRef) -> str:
    """The TypeScript type of a field's JSON value."""
    ts = FRONTEND_KINDS[type_ref.kind].ts
    spelled = ts if isinstance(ts, str) else ts(type_ref)
    return (
        f"{spelled} | null" if type_ref.nullable and spelled not in ("unknown", "null") else spelled
    )


def _is_union(spelled: str) -> bool:
    """Whether a TypeScript type is a union at its top level (and needs parentheses)."""
    depth = 0
    for char in spelled:
        if char in "<[(":
            depth += 1
        elif char in ">])":
            depth -= 1
        elif char == "|" and depth == 0:
            return True
    return False


def humanize(name: str) -> str:
    """`salary_max` -> `Salary max`."""
    words = snake_identifier(name).rstrip("_").replace("_", " ")
    return words[:1].upper() + words[1:]


_SNAKE_VALUE = re.compile(r"[a-z][a-z0-9_]*")


def _options(type_ref: TypeRef, ir: ProjectIR) -> list[dict[str, Any]] | None:
    item, _ = _unwrapped(type_ref)
    if not item.values:  # the allowed values of a literal or an enum
        return None
    names: dict[Any, str] = {}
    enum = ir.enum(item.ref) if item.kind == TypeKind.ENUM and item.ref else None
    if enum is not None:
        names = {member.value: member.name for member in enum.members}
    options = []
    for value in item.values:
        label = str(value)
        if not isinstance(value, str) and value in names:
            label = f"{names[value]} ({value})"
        elif isinstance(value, str) and _SNAKE_VALUE.fullmatch(value):
            label = humanize(value)  # `in_progress` reads "In progress"; other text as it is
        options.append({"label": label, "value": value})
    return options


def _initial(default: DefaultValue | None) -> Any:
    """A create form's starting value: the default when it is plain data, else nothing."""
    if default is None:
        return None
    if default.kind in ("literal", "enum"):
        return default.value
    if default.kind == "factory":
        return _EMPTY_FACTORIES.get(default.text)
    return None


FieldRole = Literal["record", "input", "output"]
"""What a described field is: a record's (read, sent and listed), an operation's input
(only sent) or output (only read)."""


def field_spec(
    item: FieldIR,
    ir: ProjectIR,
    *,
    override: str | None = None,
    readonly: bool = False,
    sortable: bool = True,
    role: FieldRole = "record",
) -> dict[str, Any]:
    """One `FieldSpec` object (see spec.ts), with only the keys that say something.

    A record's field is named by its key in the API's answers, with the key a body sends
    it under (`input`) and the one lists filter and sort by (`query`) where they differ;
    an operation's input is only sent, so named by its input key, an output by its key in
    the result."""
    type_ref = item.type_info
    declared_link = _declared_link(item, ir)
    widget = widget_for(type_ref, override) if declared_link is None else declared_link
    behaviour = WIDGETS[widget]
    json_name = item.input_key if role == "input" else item.output_key
    spec: dict[str, Any] = {
        "name": json_name,
        "label": item.title or humanize(item.name),
        "widget": widget,
        "required": item.required,
        "nullable": type_ref.nullable,
    }
    if role == "record" and item.input_key != json_name:
        spec["input"] = item.input_key
    if readonly:
        spec["readonly"] = True
    if item.description:
        spec["description"] = item.description
    if behaviour.bounds:
        for key, name in _CONSTRAINTS.items():
            value = item.constraints.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                spec[name] = value
    if behaviour.text:
        for key, name in (("min_length", "minLength"), ("max_length", "maxLength")):
            value = item.constraints.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                spec[name] = value
    options = _options(type_ref, ir)
    if options is not None and behaviour.choices:
        spec["options"] = options
    item_type, _ = _unwrapped(type_ref)
    if behaviour.target and (item.links_to or item_type.ref):
        spec["target"] = item.links_to or item_type.ref
    filter_kind = filter_for(type_ref)
    if filter_kind:
        spec["filter"] = filter_kind
    if sortable and sortable_for(type_ref):
        spec["sortable"] = True
    listed = "filter" in spec or "sortable" in spec
    if role == "record" and listed and item.query_key != json_name:
        spec["query"] = item.query_key
    initial = _initial(item.default)
    if initial is not None:
        spec["initial"] = initial
    return spec


def _declared_link(item: FieldIR, ir: ProjectIR) -> str | None:
    """`link` or `links` for an id (or a list of ids) declared to hold a model's record
    (`links_to`), which forms then pick like a `Link`; None for any other field."""
    if item.links_to is None or ir.model(item.links_to) is None:
        return None
    item_type, many = _unwrapped(item.type_info)
    if item_type.kind not in (TypeKind.STR, TypeKind.OBJECT_ID):
        return None
    return "links" if many else "link"


def _searchable(item: FieldIR, chosen: list[str]) -> bool:
    """Whether the API's `q` looks in this field: a plain string field, among
    `ui.searchable_fields` when the model names any (as `api_filters` decides)."""
    return item.type_info.kind == TypeKind.STR and (not chosen or item.name in chosen)


def _is_backlink(type_ref: TypeRef) -> bool:
    item, _ = _unwrapped(type_ref)
    return item.kind == TypeKind.BACKLINK


def _icon(name: str | None, known: frozenset[str]) -> str:
    """`ui.icon` as an Ant Design icon: `file-text` -> `FileTextOutlined`; an Ant Design
    name as is; a common alias (`briefcase`); else a neutral default."""
    if not name:
        return DEFAULT_ICON
    if name.endswith("Outlined") and name.removesuffix("Outlined") in known:
        return name
    spelled = _pascal(name)
    if spelled in known:
        return f"{spelled}Outlined"
    return ICON_ALIASES.get(name.lower(), DEFAULT_ICON)


@cache
def _known_icons() -> frozenset[str]:
    text = resources.files("jobhunter_compiler").joinpath("templates/frontend/antd-icons.txt")
    return frozenset(text.read_text(encoding="utf-8").split())


# --------------------------------------------------------------------------- models


@dataclass
class ModelModule:
    name: str
    module: str
    record: str
    constant: str
    icon: str
    fields: list[tuple[str, str]]
    declaration: str
    spec: str


def _model_module(
    model: ModelIR, module: str, ir: ProjectIR, referrers: tuple[IncomingLink, ...]
) -> ModelModule:
    ui = model.ui
    hidden, readonly = set(ui.hidden_fields), set(model.read_only_fields())
    sortable = set(ui.sortable_fields)
    json_names: dict[str, str] = {}
    specs: list[dict[str, Any]] = []
    types: list[tuple[str, str]] = [("id", "string")]
    for item in model.fields:
        if item.name == "id" or _is_backlink(item.type_info):
            continue
        if item.name in hidden and not item.required:
            continue
        spec = field_spec(
            item,
            ir,
            override=ui.widgets.get(item.name),
            readonly=item.name in readonly,
            sortable=not sortable or item.name in sortable,
        )
        json_names[item.name] = spec["name"]
        specs.append(spec)
        types.append((spec["name"], ts_type(item.type_info)))
    primary = json_names.get(ui.primary_field or "") or next(
        (s["name"] for s in specs if WIDGETS[s["widget"]].primary), "id"
    )
    primary_spec = next((s for s in specs if s["name"] == primary), None)
    listed = [json_names[name] for name in ui.list_fields if name in json_names]
    if not listed:
        listed = [s["name"] for s in specs if WIDGETS[s["widget"]].column][:LIST_COLUMNS]
    sections = [
        {
            "title": section.title,
            "fields": [json_names[n] for n in section.fields if n in json_names],
        }
        for section in ui.detail_sections
    ]
    spec_object: dict[str, Any] = {
        "name": model.name,
        "label": model.name,
    }
    description = model.description or _first_paragraph(model.docstring)
    if description:
        spec_object["description"] = description
    if model.tags:
        spec_object["group"] = model.tags[0]
    icon = _icon(ui.icon, _known_icons())
    spec_object.update(
        {
            "icon": Raw(icon),
            "primaryField": primary,
            "primaryIsText": primary_spec is not None and primary_spec.get("filter") == "text",
            "searchable": any(_searchable(item, ui.searchable_fields) for item in model.fields),
        }
    )
    deleted_at = next((f for f in model.fields if f.name == "deleted_at"), None)
    if model.soft_delete and deleted_at is not None:
        spec_object["deletedAt"] = deleted_at.output_key
    spec_object.update({"listFields": listed, "fields": specs, "sections": sections})
    if referrers:
        spec_object["referrers"] = [
            {"model": link.model, "field": link.key, "rule": link.rule} for link in referrers
        ]
    record, constant = f"{module}Record", _model_constant(module)
    declaration = f"export const {constant}: {_spec_type('ModelSpec', record, specs)} = "
    return ModelModule(
        name=model.name,
        module=module,
        record=record,
        constant=constant,
        icon=icon,
        fields=[(_ts_key(name), spelled) for name, spelled in types],
        declaration=declaration,
        spec=ts_value(spec_object, column=len(declaration)),
    )


def _spec_type(spec: str, record: str, fields: list[dict[str, Any]]) -> str:
    """`ModelSpec<keyof JobRecord>`: field names in the spec typed as the record's keys.
    TypeScript compares the union of a spec's field objects pairwise and gives up past a
    million comparisons (TS2590, from ~1,400 fields), so larger specs are not keyed."""
    return f"{spec}<keyof {record}>" if len(fields) <= KEYED_SPEC_FIELDS else spec


def _pascal(name: str) -> str:
    """`search_jobs` -> `SearchJobs`, `TestItem` -> `TestItem`."""
    return pascal_identifier(name.replace("_", "-"))


def _model_constant(module: str) -> str:
    """The `ModelSpec` a model's module exports, which the index lists."""
    return f"{_camel(module)}Model"


def _camel(pascal: str) -> str:
    return pascal[:1].lower() + pascal[1:]


def _ts_key(name: str) -> str:
    return name if name.isidentifier() else ts_literal(name)


def _first_paragraph(text: str | None) -> str | None:
    return (text or "").strip().split("\n\n")[0].replace("\n", " ") or None


# --------------------------------------------------------------------------- operations


def _operation_spec(operation: OperationIR, ir: ProjectIR) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": operation.name, "label": operation.name}
    description = operation.description or _first_paragraph(operation.docstring)
    if description:
        spec["description"] = description
    if operation.category:
        spec["category"] = operation.category
    spec.update(
        {
            "tags": operation.tags,
            "asyncEnabled": operation.async_enabled,
            "inputs": [field_spec(item, ir, role="input") for item in operation.inputs.fields],
            "outputs": [field_spec(item, ir, role="output") for item in operation.outputs.fields],
            "modelsIn": operation.models_in,
            "modelsOut": operation.models_out,
        }
    )
    return spec


# --------------------------------------------------------------------------- emit


def _constants(prefix: str, names: list[str]) -> str:
    """`<prefix>[a, b];` source for the list of per-model or per-operation constants."""
    return prefix + ts_value([Raw(name) for name in names], column=len(prefix)) + ";"


def emit_frontend(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    templates = settings.templates
    files: dict[str, bytes] = dict(_static_files())
    title = ir.project
    header = generated_header(ir)
    files["index.html"] = templates.render(
        "frontend/index.html.j2", header=header, title=title
    ).encode()
    files["src/generated/project.ts"] = templates.render(
        "frontend/project.ts.j2", header=header, title=ts_literal(title)
    ).encode()
    files["src/generated/kinds.ts"] = _kinds_file(templates)
    files["src/generated/access.ts"] = _access_file(ir, settings, header)

    scopes = NodeScopes.for_compile(ir, settings.cache)
    incoming = incoming_links(ir)
    model_modules = unique_names((m.name for m in ir.models), _pascal)
    models = []
    for model in ir.models:
        module = model_modules[model.name]
        models.append({"module": module, "constant": _model_constant(module)})
        files[f"src/generated/models/{module}.ts"] = per_node(
            settings.cache,
            scopes,
            model,
            _model_file,
            templates,
            module,
            tuple(incoming.get(model.name, ())),
        )
    files["src/generated/models/index.ts"] = templates.render(
        "frontend/models_index.ts.j2",
        header=header,
        modules=models,
        listing=_constants(
            "export const models: readonly ModelSpec[] = ", [m["constant"] for m in models]
        ),
    ).encode()

    operation_modules = module_names(ir, "operation")
    operation_names = unique_names((o.name for o in ir.operations), _pascal)
    operations = []
    for operation in ir.operations:
        pascal = operation_names[operation.name]
        entry = {
            "module": operation_modules[operation.name],
            "input": f"{pascal}Input",
            "constant": f"{_camel(pascal)}Operation",
        }
        operations.append(entry)
        files[f"src/generated/operations/{entry['module']}.ts"] = per_node(
            settings.cache, scopes, operation, _operation_file, templates, entry
        )
    files["src/generated/operations/index.ts"] = templates.render(
        "frontend/operations_index.ts.j2",
        header=header,
        operations=operations,
        listing=_constants(
            "export const operations: readonly OperationSpec[] = ",
            [op["constant"] for op in operations],
        ),
    ).encode()
    return [
        OutputFile(path=f"{FOLDER}/{path}", content=content)
        for path, content in sorted(files.items())
    ]


def _model_file(
    ir: ProjectIR,
    model: ModelIR,
    templates: TemplateSet,
    module_name: str,
    referrers: tuple[IncomingLink, ...],
) -> bytes:
    """A model's rendered `.ts` file; `referrers` are the links to the model."""
    return templates.render(
        "frontend/model.ts.j2",
        header=f"Generated by jobhunter from the model {model.name} ({model.source.path}) "
        f"of {ir.project}. Do not edit.",
        m=_model_module(model, module_name, ir, referrers),
    ).encode()


def _operation_file(
    ir: ProjectIR, operation: OperationIR, templates: TemplateSet, entry: dict[str, str]
) -> bytes:
    """An operation's rendered `.ts` file; `entry` names its module, input type and spec."""
    inputs = [
        (_ts_key(item.input_key), ts_type(item.type_info)) for item in operation.inputs.fields
    ]
    spec = _operation_spec(operation, ir)
    spec_type = _spec_type("OperationSpec", entry["input"], spec["inputs"])
    declaration = f"export const {entry['constant']}: {spec_type} = "
    return templates.render(
        "frontend/operation.ts.j2",
        header=f"Generated by jobhunter from the operation {operation.name} "
        f"({operation.source.path}) of {ir.project}. Do not edit.",
        op=entry,
        inputs=inputs,
        declaration=declaration,
        spec=ts_value(spec, column=len(declaration)),
    ).encode()


def _access_file(ir: ProjectIR, settings: EmitSettings, header: str) -> bytes:
    """`src/generated/access.ts`: with `api.auth: users`, the table of roles the API
    enforces (from the same computation as its `access.py`); else `null`, no sign-in."""
    api = settings.config.api
    declaration = None
    if api.auth == "users":
        models, operations = access_table(ir, api)
        table = {
            "models": {_ts_key(name): actions for name, actions in models.items()},
            "operations": {_ts_key(name): roles for name, roles in operations.items()},
        }
        prefix = "export const ACCESS: AccessTable | null = "
        declaration = prefix + ts_value(table, column=len(prefix))
    return settings.templates.render(
        "frontend/access.ts.j2", header=header, declaration=declaration, auth=api.auth
    ).encode()


def _kinds_file(templates: TemplateSet) -> bytes:
    """`src/generated/kinds.ts`: `WIDGETS` and `LIST_FILTERS` as the pages read them. The
    same for every project, since it comes from the compiler's tables alone."""
    widgets = {name: _widget_behaviour(widget) for name, widget in WIDGETS.items()}
    filters = {
        name: {"operator": spec.operator, "input": spec.input}
        for name, spec in LIST_FILTERS.items()
    }
    widgets_declaration = "export const WIDGETS: Readonly<Record<Widget, WidgetBehaviour>> = "
    filters_declaration = "export const FILTERS: Readonly<Record<FilterKind, FilterBehaviour>> = "
    return templates.render(
        "frontend/kinds.ts.j2",
        header="Generated by jobhunter from its tables of field kinds, the same for every "
        "project. Do not edit.",
        widget_type=_ts_union_type("Widget", WIDGETS),
        moment_type=_ts_union_type("Moment", (w.moment for w in WIDGETS.values() if w.moment)),
        filter_type=_ts_union_type("FilterKind", LIST_FILTERS),
        input_type=_ts_union_type("FilterInput", (f.input for f in LIST_FILTERS.values())),
        widgets=widgets_declaration + ts_value(widgets, column=len(widgets_declaration)),
        filters=filters_declaration + ts_value(filters, column=len(filters_declaration)),
    ).encode()


def _widget_behaviour(widget: Widget) -> dict[str, Any]:
    """A `WidgetBehaviour` object, with only the keys that say something."""
    behaviour: dict[str, Any] = {}
    if widget.text:
        behaviour["text"] = True
    if widget.choices:
        behaviour["choices"] = True
    if widget.moment:
        behaviour["moment"] = widget.moment
    if widget.required_start is not None:
        behaviour["requiredStart"] = widget.required_start
    if widget.blank_on_edit:
        behaviour["blankOnEdit"] = True
    return behaviour


def _ts_union_type(name: str, members: Iterable[str]) -> str:
    """`export type <name> = "a" | "b";` of string literals, once each in the order they
    come; one member per line when that is too long for a line, as Prettier does."""
    spelled = [ts_literal(member) for member in dict.fromkeys(members)]
    declaration = f"export type {name} ="
    inline = f"{declaration} {' | '.join(spelled)};"
    if len(inline) <= 100:
        return inline
    return declaration + "".join(f"\n  | {member}" for member in spelled) + ";"


@cache
def _static_files() -> tuple[tuple[str, bytes], ...]:
    """The files every project gets unchanged, read once per process."""
    root = resources.files("jobhunter_compiler").joinpath("templates/frontend", STATIC)
    found: list[tuple[str, bytes]] = []
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        for entry in folder.iterdir():
            name = RENAMED.get(entry.name, entry.name)
            if entry.is_dir():
                stack.append((entry, f"{prefix}{name}/"))
            else:
                found.append((f"{prefix}{name}", entry.read_bytes()))
    return tuple(sorted(found))
