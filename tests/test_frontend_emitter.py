"""The frontend emitter (`generated_frontend/`): widget choices per field kind, the files
and routes it writes, determinism and headers. Fast: nothing here runs npm (the build and
the browser are tests/test_frontend_browser.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, compile_copy
from test_auth_matrix import write_notes_project

from jobhunter_compiler.config import Config
from jobhunter_compiler.emit import EmitSettings
from jobhunter_compiler.emit.frontend import (
    FOLDER,
    LIST_FILTERS,
    STATIC,
    WIDGETS,
    emit_frontend,
    field_spec,
    filter_for,
    ts_type,
    ts_value,
    widget_for,
)
from jobhunter_compiler.emit.template_set import TemplateSet
from jobhunter_compiler.ir import (
    PERMISSION_ACTIONS,
    DefaultValue,
    DetailSection,
    EnumIR,
    EnumMember,
    FieldIR,
    ModelIR,
    OperationIO,
    OperationIR,
    ProjectIR,
    SourceRef,
    TypeRef,
    UiHints,
)
from jobhunter_compiler.pipeline import compile_project
from jobhunter_runtime.sessions import ANY_SIGNED_IN
from jobhunter_runtime.users import ADMIN_ROLE

SETTINGS = EmitSettings(Config(), TemplateSet())
TEMPLATES = Path(__file__).resolve().parents[1] / "jobhunter_compiler" / "templates" / "frontend"
PINS = {
    "@refinedev/core": "5.0.12",
    "@refinedev/react-router": "2.0.4",
    "react-router": "7.18.6",
    "@refinedev/simple-rest": "6.0.1",
    "@refinedev/antd": "6.0.3",
    "antd": "5.29.3",
    "dayjs": "1.11.23",
    "react": "19.3.1",
    "react-dom": "19.3.1",
    "vite": "8.3.8",
    "@vitejs/plugin-react": "6.3.0",
    "typescript": "5.9.3",
    "@types/react": "19.3.0",
    "@types/react-dom": "19.3.0",
}


def t(kind: str, *args: TypeRef, **extra) -> TypeRef:
    return TypeRef(kind=kind, args=list(args), **extra)


def src(path: str = "models/item.py") -> SourceRef:
    return SourceRef(path=path, line=1, col=1)


def fld(name: str, type_info: TypeRef, *, required: bool = False, **extra) -> FieldIR:
    return FieldIR(
        name=name, type="x", type_info=type_info, required=required, source=src(), **extra
    )


def sample_ir() -> ProjectIR:
    user = ModelIR(
        name="User",
        class_name="User",
        module="models.user",
        source=src("models/user.py"),
        collection="users",
        bases=[],
        tags=["accounts"],
        ui=UiHints(icon="user", primary_field="handle"),
        fields=[fld("handle", t("str"), required=True), fld("age", t("int"))],
    )
    item = ModelIR(
        name="Item",
        class_name="Item",
        module="models.item",
        source=src(),
        collection="items",
        bases=[],
        tags=["stock", "other"],
        description="A thing in stock.",
        ui=UiHints(
            icon="briefcase",
            primary_field="name",
            list_fields=["name", "price"],
            hidden_fields=["secret", "must_give"],
            readonly_fields=["created_at"],
            sortable_fields=["name"],
            widgets={"notes": "textarea", "price": "textarea"},
            detail_sections=[DetailSection(title="Main", fields=["name", "secret"])],
        ),
        fields=[
            fld("id", t("uuid")),
            fld(
                "name",
                t("str"),
                required=True,
                constraints={"min_length": 2, "max_length": 40},
                description="Its name.",
            ),
            fld("price", t("float", nullable=True), constraints={"ge": 0, "lt": 1000}),
            fld("count", t("int"), default=DefaultValue(kind="literal", value=3, text="3")),
            fld("active", t("bool"), default=DefaultValue(kind="literal", value=True, text="True")),
            fld("notes", t("str")),
            fld("kind", t("literal", values=["a", "b"])),
            fld("level", t("enum", ref="models.item.Level", values=[1, 2])),
            fld("labels", t("list", t("str")), default=DefaultValue(kind="factory", text="list")),
            fld("modes", t("set", t("literal", values=["x", "y"]))),
            fld("owner", t("link", ref="User"), required=True),
            fld("watchers", t("list", t("link", ref="User"))),
            fld("extra", t("dict", t("str"), t("int"))),
            fld("spot", t("tuple", t("float"), t("float"), nullable=True)),
            fld("comments", t("list", t("backlink", ref="Comment"))),
            fld("secret", t("str")),
            fld("must_give", t("str"), required=True),
            fld("due", t("date")),
            fld("created_at", t("datetime"), default=DefaultValue(kind="factory", text="utcnow")),
            fld("external", t("str"), alias="externalRef"),
        ],
    )
    run = OperationIR(
        name="restock.run",
        function="restock",
        module="operations.restock",
        source=src("operations/restock.py"),
        is_async=True,
        async_enabled=True,
        category="stock",
        inputs=OperationIO(
            schema_id="operations.restock.RestockInput",
            fields=[fld("item_id", t("str"), required=True), fld("dry_run", t("bool"))],
        ),
        outputs=OperationIO(fields=[fld("moved", t("int"), required=True)]),
        models_in=["Item"],
    )
    empty = OperationIR(
        name="ping",
        function="ping",
        module="operations.ping",
        source=src("operations/ping.py"),
        is_async=False,
        async_enabled=False,
        inputs=OperationIO(),
        outputs=OperationIO(),
    )
    level = EnumIR(
        id="models.item.Level",
        name="Level",
        module="models.item",
        source=src(),
        members=[EnumMember(name="LOW", value=1), EnumMember(name="HIGH", value=2)],
    )
    return ProjectIR(project="shop", models=[item, user], operations=[empty, run], enums=[level])


def files_of(ir: ProjectIR) -> dict[str, str]:
    return {
        f.path.removeprefix(f"{FOLDER}/"): f.content.decode() for f in emit_frontend(ir, SETTINGS)
    }


def spec_of(text: str) -> str:
    return text.split(" = ", 1)[1]


# -- the widget table ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_ref", "widget", "filter_kind", "ts"),
    [
        (t("str"), "text", "text", "string"),
        (t("str", nullable=True), "text", "text", "string | null"),
        (t("email"), "email", "text", "string"),
        (t("url"), "url", "text", "string"),
        (t("int"), "integer", "number", "number"),
        (t("float"), "number", "number", "number"),
        (t("decimal"), "decimal", "number", "string"),
        (t("bool"), "switch", "boolean", "boolean"),
        (t("datetime"), "datetime", "date", "string"),
        (t("date"), "date", "date", "string"),
        (t("time"), "time", None, "string"),
        (t("uuid"), "text", "exact", "string"),
        (t("secret_str"), "password", None, "string"),
        (t("secret_bytes"), "password", None, "string"),
        (t("path"), "text", "text", "string"),
        (t("ipv4_address"), "text", "exact", "string"),
        (t("ipv6_address", nullable=True), "text", "exact", "string | null"),
        (t("ip_address"), "text", "exact", "string"),
        (t("list", t("path")), "tags", "exact", "string[]"),
        (t("literal", values=["a", "b"]), "select", "choice", '"a" | "b"'),
        (t("enum", ref="m.E", values=[1, 2]), "select", "choice", "1 | 2"),
        (t("link", ref="User"), "link", "link", "string"),
        (t("list", t("str")), "tags", "exact", "string[]"),
        (t("set", t("str")), "tags", "exact", "string[]"),
        (t("list", t("literal", values=["x"])), "multiselect", "choice", '"x"[]'),
        (t("list", t("enum", values=["x", "y"])), "multiselect", "choice", '("x" | "y")[]'),
        (t("list", t("link", ref="User")), "links", "link", "string[]"),
        (t("document_link"), "json", None, "{ id: string; collection: string }"),
        (
            t("list", t("document_link")),
            "json",
            None,
            "{ id: string; collection: string }[]",
        ),
        (t("list", t("int")), "json", None, "number[]"),
        (t("dict", t("str"), t("int")), "json", None, "Record<string, number>"),
        (t("tuple", t("float"), t("str")), "json", None, "[number, string]"),
        (t("schema", ref="m.Address"), "json", None, "Record<string, unknown>"),
        (t("model", ref="User"), "json", None, "Record<string, unknown>"),
        (t("union", t("int"), t("str")), "json", None, "number | string"),
        (t("any"), "json", None, "unknown"),
        (t("unknown"), "json", None, "unknown"),
    ],
)
def test_each_kind_has_its_widget_filter_and_type(
    type_ref: TypeRef, widget: str, filter_kind: str | None, ts: str
) -> None:
    assert widget_for(type_ref) == widget
    assert filter_for(type_ref) == filter_kind
    assert ts_type(type_ref) == ts


@pytest.mark.parametrize(
    ("type_ref", "override", "widget"),
    [
        (t("str"), "textarea", "textarea"),
        (t("str"), "password", "password"),
        (t("str"), "url", "url"),
        (t("int"), "textarea", "integer"),  # a text widget cannot edit a number
        (t("int"), "json", "json"),
        (t("literal", values=["a"]), "select", "select"),
        (t("list", t("str")), "tags", "tags"),
        (t("str"), "no-such-widget", "text"),
    ],
)
def test_ui_widgets_override_only_where_they_fit(
    type_ref: TypeRef, override: str, widget: str
) -> None:
    assert widget_for(type_ref, override) == widget


def test_field_spec_keys_each_direction_as_the_api_does() -> None:
    """Answers are read by the serialization alias, bodies keyed by the validation alias,
    lists filtered and sorted by the alias the field is stored under."""
    ir = sample_ir()
    both = fld("summary", t("str"), validation_alias="abstract", serialization_alias="synopsis")
    spec = field_spec(both, ir)
    assert (spec["name"], spec["input"], spec["query"]) == ("synopsis", "abstract", "summary")
    camel = fld("total", t("int"), alias="total", serialization_alias="Total")
    spec = field_spec(camel, ir)
    assert (spec["name"], spec["input"], spec["query"]) == ("Total", "total", "total")
    plain = field_spec(fld("external", t("str"), alias="externalRef"), ir)
    assert plain["name"] == "externalRef" and "input" not in plain and "query" not in plain
    unlisted = field_spec(fld("spot", t("dict"), serialization_alias="Spot"), ir)
    assert "query" not in unlisted
    assert field_spec(both, ir, role="input") == {**field_spec(both, ir, role="output"),
                                                   "name": "abstract"}  # fmt: skip
    assert "input" not in field_spec(both, ir, role="output")


def test_a_soft_delete_model_names_the_key_its_deletes_set() -> None:
    """The list's deleted view and the restore button follow `deletedAt`, keyed as the
    API answers (here through an alias)."""
    ir = sample_ir()
    user = ir.model("User")
    assert user is not None
    assert "deletedAt" not in files_of(ir)["src/generated/models/User.ts"]
    user.soft_delete = True
    user.fields.append(fld("deleted_at", t("datetime", nullable=True), alias="removedAt"))
    assert 'deletedAt: "removedAt"' in files_of(ir)["src/generated/models/User.ts"]


def test_field_spec_carries_constraints_options_and_defaults() -> None:
    ir = sample_ir()
    item = ir.model("Item")
    assert item is not None
    by_name = {f.name: f for f in item.fields}
    name = field_spec(by_name["name"], ir)
    assert name == {
        "name": "name",
        "label": "Name",
        "widget": "text",
        "required": True,
        "nullable": False,
        "description": "Its name.",
        "minLength": 2,
        "maxLength": 40,
        "filter": "text",
        "sortable": True,
    }
    price = field_spec(by_name["price"], ir)
    assert (price["min"], price["exclusiveMax"], price["nullable"]) == (0, 1000, True)
    assert "max" not in price and "minLength" not in price
    level = field_spec(by_name["level"], ir)
    assert level["options"] == [
        {"label": "LOW (1)", "value": 1},
        {"label": "HIGH (2)", "value": 2},
    ]
    assert field_spec(by_name["kind"], ir)["options"] == [
        {"label": "A", "value": "a"},
        {"label": "B", "value": "b"},
    ]
    assert field_spec(by_name["count"], ir)["initial"] == 3
    assert field_spec(by_name["active"], ir)["initial"] is True
    assert field_spec(by_name["labels"], ir)["initial"] == []
    assert "initial" not in field_spec(by_name["created_at"], ir)  # a factory we cannot run
    assert field_spec(by_name["owner"], ir)["target"] == "User"
    assert field_spec(by_name["watchers"], ir)["widget"] == "links"
    assert field_spec(by_name["external"], ir)["name"] == "externalRef"
    assert field_spec(by_name["owner"], ir).get("sortable") is None  # the API cannot sort links


# -- the files ----------------------------------------------------------------------------


def test_files_static_and_per_model_and_per_operation() -> None:
    files = files_of(sample_ir())
    generated = sorted(p for p in files if p.startswith("src/generated/"))
    assert generated == [
        "src/generated/access.ts",
        "src/generated/kinds.ts",
        "src/generated/models/Item.ts",
        "src/generated/models/User.ts",
        "src/generated/models/index.ts",
        "src/generated/operations/index.ts",
        "src/generated/operations/ping.ts",
        "src/generated/operations/restock_run.ts",
        "src/generated/project.ts",
    ]
    for static in (
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "vite.config.ts",
        "index.html",
        ".gitignore",
        "src/main.tsx",
        "src/App.tsx",
        "src/lib/api.ts",
        "src/components/FieldInput.tsx",
    ):
        assert static in files, static
    assert not any("node_modules" in p or p.endswith(".j2") for p in files)


def _ts_object(text: str, constant: str) -> dict[str, dict[str, object]]:
    """The object literal `export const <constant>... = {...};` of a generated file, as JSON
    (its keys are identifiers and its values JSON)."""
    body = text.split(f"export const {constant}", 1)[1].split(" = ", 1)[1].split("\n};", 1)[0]
    quoted = re.sub(r"([{,]\s*)([A-Za-z_]\w*):", r'\1"\2":', body + "}")
    return json.loads(re.sub(r",(\s*})", r"\1", quoted))


def test_kinds_ts_carries_every_widget_and_list_filter_of_the_tables() -> None:
    kinds = files_of(sample_ir())["src/generated/kinds.ts"]
    widgets = _ts_object(kinds, "WIDGETS")
    assert list(widgets) == list(WIDGETS)
    assert widgets["text"] == {"text": True}
    assert widgets["datetime"] == {"moment": "datetime"}
    assert widgets["select"] == {"choices": True}
    assert widgets["switch"] == {"requiredStart": False}
    assert widgets["password"] == {"text": True, "blankOnEdit": True}
    filters = _ts_object(kinds, "FILTERS")
    assert filters == {
        name: {"operator": spec.operator, "input": spec.input}
        for name, spec in LIST_FILTERS.items()
    }
    union = kinds.split("export type Widget =", 1)[1].split(";", 1)[0]
    assert re.findall(r'^  \| "(\w+)"$', union, re.MULTILINE) == list(WIDGETS)
    assert 'export type FilterKind = "text" | "exact" |' in kinds


def _server_access(project: Path) -> Any:
    """The `ACCESS` table of a compiled project's generated API."""
    source = (project / ".run_cache" / "generated_routes" / "access.py").read_text()
    namespace: dict[str, Any] = {}
    exec(compile(source, "access.py", "exec"), namespace)
    return namespace["ACCESS"]


def test_the_admin_access_table_is_the_one_the_api_enforces(tmp_path: Path) -> None:
    """Declared permissions, partial ones and defaults changed in the config: for every
    model x action and every operation, the admin's roles are the API's."""
    config = (
        "api:\n  auth: users\n  default_permissions:\n    read: [viewer]\n"
        "    delete: [editor]\n    run: [editor]\n"
    )
    project = write_notes_project(tmp_path / "notes", config)
    result = compile_project(project, mode="write")
    assert result.ok, result.diagnostics
    admin = (project / ".run_cache" / FOLDER / "src" / "generated" / "access.ts").read_text()
    table = _ts_object(admin, "ACCESS")
    server = _server_access(project)
    assert sorted(table["models"]) == sorted(server.models) == ["Memo", "Note", "Tag"]
    for model, actions in server.models.items():
        assert list(table["models"][model]) == list(PERMISSION_ACTIONS)
        for action in PERMISSION_ACTIONS:
            assert set(table["models"][model][action]) == actions[action], (model, action)
    assert sorted(table["operations"]) == sorted(server.operations) == ["echo", "tidy"]
    for operation, roles in server.operations.items():
        assert set(table["operations"][operation]) == roles, operation
    # The defaults reached both: Tag declares nothing, Memo only read and delete.
    assert table["models"]["Tag"]["read"] == ["viewer"]
    assert table["models"]["Memo"]["delete"] == ["*"]
    assert table["operations"]["tidy"] == ["editor"]


@pytest.mark.parametrize("auth", ["none", "api_key"])
def test_without_sign_in_the_admin_has_no_access_table(auth: str) -> None:
    config = Config.model_validate({"api": {"auth": auth}})
    files = {
        f.path.removeprefix(f"{FOLDER}/"): f.content.decode()
        for f in emit_frontend(sample_ir(), EmitSettings(config, TemplateSet()))
    }
    access = files["src/generated/access.ts"]
    assert "export const ACCESS: AccessTable | null = null;" in access
    assert f"api.auth is {auth}" in access


def test_the_admin_and_the_runtime_agree_on_the_role_names_they_share() -> None:
    admin = (TEMPLATES / STATIC / "src" / "lib" / "access.ts").read_text()
    assert f'export const ADMIN_ROLE = "{ADMIN_ROLE}";' in admin
    assert f'export const ANY_SIGNED_IN = "{ANY_SIGNED_IN}";' in admin
    signin = (TEMPLATES.parents[1].parent / "jobhunter_runtime" / "signin.py").read_text()
    for path in ("/auth/login", "/auth/me", "/auth/logout"):
        assert f"`${{API_URL}}{path}`" in admin, path
        assert f'"{path.removeprefix("/auth")}"' in signin, path


def test_static_pages_take_widgets_and_filters_from_kinds_ts() -> None:
    """The kinds' behaviour lives in the generated spec: the static code defines no list
    of widgets, filters or operators of its own, and names no field kind."""
    static = TEMPLATES / STATIC / "src"
    sources = {p.name: p.read_text() for p in static.rglob("*.ts*")}
    for name, text in sources.items():
        assert "export type Widget =" not in text, name
        assert "export type FilterKind =" not in text, name
        assert not re.search(r"\b(TEXT_WIDGETS|OPERATORS)\b", text), name
        assert not re.search(r"\.kind\b", text), name
    assert 'from "../generated/kinds"' in sources["values.ts"]
    assert 'from "../generated/kinds"' in sources["ModelList.tsx"]


def test_package_json_pins_exact_versions_and_the_lockfile_matches() -> None:
    package = json.loads((TEMPLATES / "static" / "package.json").read_text())
    lock = json.loads((TEMPLATES / "static" / "package-lock.json").read_text())
    declared = {**package["dependencies"], **package["devDependencies"]}
    for name, version in PINS.items():
        assert declared[name] == version, name
    for name, version in declared.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version}"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert package["scripts"]["build"] == "tsc --noEmit && vite build"
    tsconfig = json.loads((TEMPLATES / "static" / "tsconfig.json").read_text())
    assert tsconfig["compilerOptions"]["strict"] is True


def test_model_module_spells_the_record_type_and_the_spec() -> None:
    text = files_of(sample_ir())["src/generated/models/Item.ts"]
    assert text.startswith(
        "// Generated by jobhunter from the model Item (models/item.py) of shop. Do not edit.\n"
    )
    assert 'import { SolutionOutlined } from "@ant-design/icons";' in text  # briefcase
    assert "export interface ItemRecord {\n  id: string;\n  name: string;\n" in text
    assert "  price: number | null;\n" in text
    assert "  externalRef: string;\n" in text
    assert "export const itemModel: ModelSpec<keyof ItemRecord> = {" in text
    assert '  group: "stock",\n' in text
    assert '  primaryField: "name",\n' in text
    assert '  listFields: ["name", "price"],\n' in text
    # The declared id, back-links and hidden fields are no form fields; a hidden field the
    # create must give stays.
    assert '"id"' not in spec_of(text).split("listFields")[1]
    assert "comments" not in text
    assert "secret" not in text
    assert 'name: "must_give"' in text
    assert '  sections: [{ title: "Main", fields: ["name"] }],\n' in text
    assert 'name: "created_at",\n      label: "Created at",\n      widget: "datetime",' in text
    assert "readonly: true" in text
    # `ui.widgets`: textarea for the text field, ignored for the number.
    assert 'name: "notes",\n      label: "Notes",\n      widget: "textarea",' in text
    assert 'name: "price",\n      label: "Price",\n      widget: "number",' in text
    # Only the fields `ui.sortable_fields` names sort.
    assert text.count("sortable: true") == 1


def test_defaults_without_hints() -> None:
    text = files_of(sample_ir())["src/generated/models/User.ts"]
    assert 'import { UserOutlined } from "@ant-design/icons";' in text
    assert '  listFields: ["handle", "age"],\n' in text
    assert "  sections: [],\n" in text
    assert text.count("sortable: true") == 2


def test_a_model_without_text_fields_has_no_search_and_labels_by_id() -> None:
    ir = sample_ir()
    ir.models.append(
        ModelIR(
            name="Counter",
            class_name="Counter",
            module="models.counter",
            source=src("models/counter.py"),
            collection="counters",
            bases=[],
            fields=[fld("value", t("int"))],
        )
    )
    text = files_of(ir)["src/generated/models/Counter.ts"]
    assert '  primaryField: "id",\n  primaryIsText: false,\n  searchable: false,\n' in text
    assert 'import { AppstoreOutlined } from "@ant-design/icons";' in text
    assert "group" not in text
    item = files_of(sample_ir())["src/generated/models/Item.ts"]
    assert "  primaryIsText: true,\n  searchable: true,\n" in item


def test_operation_module_and_lists() -> None:
    files = files_of(sample_ir())
    run = files["src/generated/operations/restock_run.ts"]
    assert "export interface RestockRunInput {\n  item_id: string;\n  dry_run: boolean;\n}" in run
    assert "export const restockRunOperation: OperationSpec<keyof RestockRunInput> = {" in run
    assert '  name: "restock.run",\n' in run and "  asyncEnabled: true,\n" in run
    assert '  modelsIn: ["Item"],\n' in run
    ping = files["src/generated/operations/ping.ts"]
    assert "export type PingInput = Record<string, never>;" in ping
    assert "  inputs: [],\n" in ping
    models = files["src/generated/models/index.ts"]
    assert 'import { itemModel } from "./Item";' in models
    assert "export const models: readonly ModelSpec[] = [itemModel, userModel];" in models
    operations = files["src/generated/operations/index.ts"]
    assert "[pingOperation, restockRunOperation];" in operations
    assert "<title>shop</title>" in files["index.html"]
    assert 'export const PROJECT_TITLE = "shop";' in files["src/generated/project.ts"]


def test_routes_the_tests_rely_on() -> None:
    files = files_of(sample_ir())
    resources = files["src/lib/resources.tsx"]
    for route in (
        "list: `/models/${model.name}`",
        "show: `/models/${model.name}/show/:id`",
        "create: `/models/${model.name}/create`",
        "edit: `/models/${model.name}/edit/:id`",
        'list: "/operations"',
        'list: "/taskruns"',
        'show: "/taskruns/show/:id"',
        'list: "/"',
    ):
        assert route in resources, route
    app = files["src/App.tsx"]
    for route in (
        "path={`/models/${model.name}`}",
        'path="show/:id"',
        'path="create"',
        'path="edit/:id"',
        'path="/operations"',
        'path=":name"',
        'path="/taskruns"',
    ):
        assert route in app, route


def test_every_file_says_it_is_generated() -> None:
    for path, text in files_of(sample_ir()).items():
        if path.endswith(".json"):
            continue  # JSON has no comments
        head = "\n".join(text.splitlines()[:2])
        assert "Generated by jobhunter" in head, path
        assert "Do not edit" in head, path


def test_output_is_deterministic_and_independent_of_declaration_order() -> None:
    ir = sample_ir()
    first = emit_frontend(ir, SETTINGS)
    assert first == emit_frontend(sample_ir(), SETTINGS)
    shuffled = sample_ir()
    shuffled.models.reverse()
    shuffled.operations.reverse()
    # Lists follow the IR's (sorted) order; every file's bytes are its own.
    by_path = {f.path: f.content for f in emit_frontend(shuffled, SETTINGS)}
    for f in first:
        if not f.path.endswith("index.ts"):
            assert by_path[f.path] == f.content, f.path


def test_one_model_changed_rewrites_its_module_only() -> None:
    before = {f.path: f.content for f in emit_frontend(sample_ir(), SETTINGS)}
    ir = sample_ir()
    ir.models[0].fields[2].constraints["ge"] = 5
    after = {f.path: f.content for f in emit_frontend(ir, SETTINGS)}
    changed = sorted(p for p in after if after[p] != before[p])
    assert changed == [f"{FOLDER}/src/generated/models/Item.ts"]


def test_ts_value_breaks_long_objects_like_prettier() -> None:
    assert ts_value({"a": 1, "b": [1, 2]}) == "{ a: 1, b: [1, 2] }"
    assert ts_value([]) == "[]" and ts_value({}) == "{}"
    assert ts_value([1, 2], column=97) == "[\n  1,\n  2,\n]"  # with the `;` it would not fit
    two = [{"a": 1, "b": 2}, {"a": 3, "b": 4}]
    assert ts_value(two) == "[\n  { a: 1, b: 2 },\n  { a: 3, b: 4 },\n]"
    assert ts_type(t("list", t("dict", t("str"), t("int", nullable=True)))) == (
        "Record<string, number | null>[]"
    )
    long = {"key": "x" * 120}
    assert ts_value(long) == '{\n  key: "' + "x" * 120 + '",\n}'
    assert ts_value({"s": 'quote " and \u00e9'}) == '{ s: "quote \\" and \u00e9" }'


@pytest.mark.parametrize("fixture", ["demo_project", "edge_imports", "edge_layout", "edge_types"])
def test_fixture_projects_emit_a_frontend(fixture: str, tmp_path: Path) -> None:
    project, result = compile_copy(FIXTURES / fixture, tmp_path)
    assert result.ok, result.diagnostics
    out = project / ".run_cache" / FOLDER
    assert (out / "package-lock.json").is_file()
    for model in result.ir.models:
        assert (out / "src" / "generated" / "models" / f"{model.name}.ts").is_file()
    index = (out / "src" / "generated" / "operations" / "index.ts").read_text()
    assert index.count("Operation } from ") == len(result.ir.operations)
