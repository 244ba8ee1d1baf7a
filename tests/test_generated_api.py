"""End-to-end tests of the generated FastAPI app: every fixture project is
compiled once, its app runs under uvicorn (tests/api_server.py) against a real MongoDB server
(tests/mongo_fixture.py), and the tests speak HTTP to it.

Request bodies come from the IR (tests/api_payloads.py). One app per project and per worker
serves every test of this module; tests keep apart by unique values (a token per test), never
by cleaning collections.

The demo is compiled with one extra operation, `crash`, that raises a RuntimeError.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_payloads import (
    IR,
    assert_echo,
    changeable_field,
    constraint_violation,
    default_value,
    field_value,
    filter_key,
    is_link,
    is_writable,
    json_key,
    make_payload,
    read_key,
    token,
    wrong_type_value,
)
from api_server import ApiServer, with_source_roots
from bson import ObjectId
from conftest import CRASH_OPERATION, copy_project, oracle_projects

from jobhunter_compiler.config import load_config

UI_ORIGIN = "http://localhost:5173"
POLL_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 20.0


# --------------------------------------------------------------------------- compiled projects
#
# Compiled when the module is collected (parameters need the models), once per process.

_BUILD_ROOT = Path(tempfile.mkdtemp(prefix="jh_generated_api_"))
atexit.register(shutil.rmtree, _BUILD_ROOT, ignore_errors=True)

PROJECTS = {path.name: path for path in oracle_projects()}


@dataclass
class Built:
    name: str
    project: Path
    ir: IR | None
    error: str | None


def _compile(source: Path, destination: Path, config_extra: str = "", crash: bool = False) -> Built:
    from jobhunter_compiler.pipeline import compile_project

    project = copy_project(source, destination)
    if crash:
        (project / "operations" / "crash.py").write_text(CRASH_OPERATION, encoding="utf-8")
    if config_extra:
        config = project / ".jobhunter.yml"
        old = config.read_text(encoding="utf-8") if config.is_file() else ""
        config.write_text(old.rstrip("\n") + "\n" + config_extra, encoding="utf-8")
    try:
        result = compile_project(project, mode="write")
    except Exception as error:  # the compiler itself crashed
        return Built(source.name, project, None, f"{type(error).__name__}: {error}")
    if not result.ok:
        messages = "\n".join(str(d) for d in result.diagnostics)
        return Built(source.name, project, None, f"compile failed:\n{messages}")
    metadata = project / ".run_cache" / "core_docs" / "metadata.json"
    return Built(source.name, project, IR(json.loads(metadata.read_text())), None)


@cache
def built(name: str) -> Built:
    return _compile(PROJECTS[name], _BUILD_ROOT / "plain" / name, crash=name == "demo_project")


@cache
def built_with_auth() -> Built:
    return _compile(
        PROJECTS["demo_project"],
        _BUILD_ROOT / "auth" / "demo_project",
        config_extra="api:\n  auth: api_key\n",
    )


def _models(name: str) -> list[str]:
    ir = built(name).ir
    return [] if ir is None else ir.creation_order()


MODEL_PARAMS = [pytest.param(p, m, id=f"{p}-{m}") for p in PROJECTS for m in _models(p)]


def _model_params(predicate: Any) -> list[Any]:
    return [
        pytest.param(p, m, id=f"{p}-{m}")
        for p in PROJECTS
        for m in _models(p)
        if predicate(built(p).ir, m)
    ]


# --------------------------------------------------------------------------- running apps


@dataclass
class RunningApp:
    name: str
    built: Built
    database: str
    server: ApiServer | None = None
    error: str | None = None
    _client: httpx.Client | None = field(default=None, repr=False)

    @property
    def ir(self) -> IR:
        assert self.built.ir is not None
        return self.built.ir

    @property
    def client(self) -> httpx.Client:
        if self.error is not None:
            tail = self.error[-1500:]
            pytest.fail(f"the generated API of {self.name} is not running:\n...{tail}")
        assert self._client is not None
        return self._client

    @property
    def log(self) -> str:
        return self.server.log() if self.server else ""

    # -- helpers over HTTP

    def create(self, model: str, **overrides: Any) -> dict[str, Any]:
        """POST a full generated payload (linked records created first); the new record."""
        payload = {**make_payload(self.ir, model, self.link_id), **overrides}
        response = self.client.post(f"/api/models/{model}/", json=payload)
        assert response.status_code == 201, (model, payload, response.text)
        return response.json()

    def link_id(self, model: str) -> str:
        return self.create(model)["id"]

    def list_records(self, model: str, params: Any) -> tuple[list[dict[str, Any]], int]:
        response = self.client.get(f"/api/models/{model}/", params=params)
        assert response.status_code == 200, (params, response.text)
        return response.json(), int(response.headers["X-Total-Count"])

    def list_task_runs(self, params: Any) -> tuple[list[dict[str, Any]], int]:
        response = self.client.get("/api/taskruns/", params=params)
        assert response.status_code == 200, (params, response.text)
        return response.json(), int(response.headers["X-Total-Count"])

    def run(self, operation: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(f"/api/operations/{operation}/", json=body, **kwargs)

    def task_run(self, run_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/taskruns/{run_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_run(self, run_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + POLL_TIMEOUT_S
        while True:
            run = self.task_run(run_id)
            if run["status"] in ("success", "failed") or time.monotonic() > deadline:
                return run
            time.sleep(0.05)


class AppPool:
    """The running apps of one worker, started on first use, stopped at module teardown."""

    def __init__(self, mongo_url: str) -> None:
        self.mongo_url = mongo_url
        self.apps: dict[str, RunningApp] = {}

    def get(self, name: str) -> RunningApp:
        if name not in self.apps:
            self.apps[name] = self._start(name, built(name))
        return self.apps[name]

    def _start(self, name: str, build: Built, env: dict[str, str] | None = None) -> RunningApp:
        database = f"api_{name}_{uuid.uuid4().hex[:8]}"
        app = RunningApp(name, build, database)
        if build.error is not None:
            app.error = build.error
            return app
        server = ApiServer(build.project, self.mongo_url, database, env=env)
        try:
            server.start()
        except RuntimeError as error:
            app.error = str(error)
            server.stop()
            return app
        app.server = server
        # No keep-alive: after an unhandled exception uvicorn drops the connection, and a
        # pooled client would then fail the next (unrelated) request with a reset.
        app._client = httpx.Client(
            base_url=server.url,
            timeout=HTTP_TIMEOUT_S,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        return app

    def close(self) -> None:
        from pymongo import MongoClient

        for app in self.apps.values():
            if app._client is not None:
                app._client.close()
            if app.server is not None:
                app.server.stop()
        with MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000) as client:
            for app in self.apps.values():
                client.drop_database(app.database)


@pytest.fixture(scope="module")
def apps(mongo_url: str) -> Iterator[AppPool]:
    pool = AppPool(mongo_url)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def demo(apps: AppPool) -> RunningApp:
    return apps.get("demo_project")


def _same_records(one: dict[str, Any], other: dict[str, Any]) -> None:
    """Equal, reading date-times as instants to the millisecond (MongoDB's precision)."""
    assert _normalized(one) == _normalized(other)


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)
    return value


# --------------------------------------------------------------------------- start-up


@pytest.mark.parametrize("project", list(PROJECTS))
def test_app_compiles_and_starts(apps: AppPool, project: str) -> None:
    app = apps.get(project)
    response = app.client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


# --------------------------------------------------------------------------- CRUD per model


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_crud_round_trip(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    ir = app.ir
    client = app.client
    base = f"/api/models/{model}"

    payload = make_payload(ir, model, app.link_id)
    created = client.post(f"{base}/", json=payload)
    assert created.status_code == 201, created.text
    record = created.json()
    assert isinstance(record["id"], str) and record["id"]
    assert_echo(ir, model, payload, record)
    for f in ir.models[model]["fields"]:
        if not is_writable(f) and f["name"] != "id":
            assert read_key(f) not in record, f"back-link {f['name']} sent"
    record_id = record["id"]

    fetched = client.get(f"{base}/{record_id}")
    assert fetched.status_code == 200, fetched.text
    _same_records(fetched.json(), record)

    listed, total = app.list_records(model, {"id": record_id})
    assert total == 1
    assert [r["id"] for r in listed] == [record_id]
    _same_records(listed[0], fetched.json())

    replacement = make_payload(ir, model, app.link_id, variant=1)
    replaced = client.put(f"{base}/{record_id}", json=replacement)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == record_id
    assert_echo(ir, model, replacement, replaced.json())
    assert_echo(ir, model, replacement, client.get(f"{base}/{record_id}").json())

    patch_field = next(changeable_field(ir, model))
    key = json_key(patch_field)
    new_value = field_value(ir, patch_field, app.link_id, variant=2)
    if new_value == replacement[key]:
        new_value = field_value(ir, patch_field, app.link_id, variant=3)
    patched = client.patch(f"{base}/{record_id}", json={key: new_value})
    assert patched.status_code == 200, patched.text
    expected = {**replacement, key: new_value}
    assert_echo(ir, model, expected, patched.json())
    assert_echo(ir, model, expected, client.get(f"{base}/{record_id}").json())

    # PUT replaces: fields left out take their defaults again.
    required = {
        json_key(f): replacement[json_key(f)] for f in ir.writable_fields(model) if f["required"]
    }
    minimal = client.put(f"{base}/{record_id}", json=required)
    assert minimal.status_code == 200, minimal.text
    for f in ir.writable_fields(model):
        if not f["required"] and f["default"] and f["default"]["kind"] in ("literal", "enum"):
            assert minimal.json()[read_key(f)] == default_value(f), f["name"]

    deleted = client.delete(f"{base}/{record_id}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["id"] == record_id
    if ir.models[model].get("soft_delete"):
        assert deleted.json()["deleted_at"] is not None
        _same_records({**deleted.json(), "deleted_at": None}, minimal.json())
    else:
        _same_records(deleted.json(), minimal.json())
    assert client.get(f"{base}/{record_id}").status_code == 404
    assert client.delete(f"{base}/{record_id}").status_code == 404
    assert app.list_records(model, {"id": record_id}) == ([], 0)


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_patch_each_field_alone(apps: AppPool, project: str, model: str) -> None:
    """A PATCH of any one field (links, lists, sub-documents, aliases included) changes that
    field and leaves every other one as it was."""
    app = apps.get(project)
    ir = app.ir
    current = app.create(model)
    path = f"/api/models/{model}/{current['id']}"
    for f in ir.writable_fields(model):
        key = json_key(f)
        value = field_value(ir, f, app.link_id, variant=2)
        patched = app.client.patch(path, json={key: value})
        assert patched.status_code == 200, (key, value, patched.text)
        assert_echo(ir, model, {key: value}, patched.json())
        returned = read_key(f)
        others = {k: v for k, v in patched.json().items() if k != returned}
        _same_records(others, {k: v for k, v in current.items() if k != returned})
        current = app.client.get(path).json()
        assert_echo(ir, model, {key: value}, current)


def _has_required(ir: IR, model: str) -> bool:
    return any(f["required"] for f in ir.writable_fields(model))


def _has_constraint(ir: IR, model: str) -> bool:
    return constraint_violation(ir, model) is not None


def _has_link(ir: IR, model: str) -> bool:
    return any(is_link(f) for f in ir.writable_fields(model))


@pytest.mark.parametrize(("project", "model"), _model_params(_has_required))
def test_create_without_a_required_field_is_422(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    payload = make_payload(app.ir, model, app.link_id)
    for f in app.ir.writable_fields(model):
        if not f["required"]:
            continue
        body = {k: v for k, v in payload.items() if k != json_key(f)}
        response = app.client.post(f"/api/models/{model}/", json=body)
        assert response.status_code == 422, (f["name"], response.text)
        assert any(json_key(f) in map(str, e["loc"]) for e in response.json()["detail"])


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_create_with_a_wrong_type_is_422(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    payload = make_payload(app.ir, model, app.link_id)
    for f in app.ir.writable_fields(model):
        if f["type_info"]["kind"] == "any":  # every JSON value is one
            continue
        body = {**payload, json_key(f): wrong_type_value(f["type_info"])}
        response = app.client.post(f"/api/models/{model}/", json=body)
        assert response.status_code == 422, (f["name"], body[json_key(f)], response.text)


@pytest.mark.parametrize(("project", "model"), _model_params(_has_constraint))
def test_create_breaking_a_constraint_is_422(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    key, bad = constraint_violation(app.ir, model)  # type: ignore[misc]
    payload = {**make_payload(app.ir, model, app.link_id), key: bad}
    response = app.client.post(f"/api/models/{model}/", json=payload)
    assert response.status_code == 422, response.text
    assert any(key in map(str, e["loc"]) for e in response.json()["detail"])


@pytest.mark.parametrize(("project", "model"), _model_params(_has_link))
def test_link_to_a_missing_record_is_422(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    ir = app.ir
    payload = make_payload(ir, model, app.link_id)
    record = None
    for f in ir.writable_fields(model):
        if not is_link(f):
            continue
        ghost = "0123456789abcdef01234567"
        body = {
            **payload,
            json_key(f): [ghost] if isinstance(payload[json_key(f)], list) else ghost,
        }
        response = app.client.post(f"/api/models/{model}/", json=body)
        assert response.status_code == 422, (f["name"], response.text)
        assert any(json_key(f) in map(str, e["loc"]) for e in response.json()["detail"])
        # The same through PUT and PATCH of an existing record.
        record = record or app.create(model)
        for method in ("PUT", "PATCH"):
            sent = body if method == "PUT" else {json_key(f): body[json_key(f)]}
            changed = app.client.request(method, f"/api/models/{model}/{record['id']}", json=sent)
            assert changed.status_code == 422, (method, f["name"], changed.text)
    if record is not None:
        _same_records(app.client.get(f"/api/models/{model}/{record['id']}").json(), record)


@pytest.mark.parametrize(
    ("project", "model"),
    _model_params(lambda ir, m: any(f["unique"] for f in ir.writable_fields(m))),
)
def test_unique_field_taken_is_409(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    first = app.create(model)
    for f in app.ir.writable_fields(model):
        if not f["unique"]:
            continue
        payload = {**make_payload(app.ir, model, app.link_id), json_key(f): first[read_key(f)]}
        response = app.client.post(f"/api/models/{model}/", json=payload)
        assert response.status_code == 409, (f["name"], response.text)
        assert isinstance(response.json()["detail"], str)
        second = app.create(model)
        taken = app.client.patch(
            f"/api/models/{model}/{second['id']}", json={json_key(f): first[read_key(f)]}
        )
        assert taken.status_code == 409, (f["name"], taken.text)


def _null_means_default(field: dict[str, Any]) -> bool:
    """Fields whose default comes from a factory the API cannot call (`utcnow`): there a null
    in a request means "use the default" (see ModelResource.defaulted)."""
    default = field["default"] or {}
    return default.get("kind") == "factory" and default.get("text") not in ("list", "set", "dict")


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_patch_null_on_a_non_nullable_field_is_422(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    ir = app.ir
    record = app.create(model)
    accepted = {}
    for f in ir.writable_fields(model):
        if f["type_info"]["nullable"] or _null_means_default(f):
            continue
        if f["type_info"]["kind"] in ("any", "none"):  # null is a value of the type
            continue
        key = json_key(f)
        response = app.client.patch(f"/api/models/{model}/{record['id']}", json={key: None})
        if response.status_code != 422:
            accepted[key] = (response.status_code, response.text[:300])
        # The type of an `unknown` field is the model's to check, with its own message.
        elif (
            f["name"] not in ir.models[model]["ui"]["readonly_fields"]
            and f["type_info"]["kind"] != "unknown"
        ):
            assert response.json()["detail"] == [
                {
                    "type": "null_not_allowed",
                    "loc": ["body", key],
                    "msg": "this field cannot be null; leave it out to keep its value",
                    "input": None,
                }
            ], key
    assert not accepted, f"null accepted for non-nullable fields: {accepted}"
    _same_records(app.client.get(f"/api/models/{model}/{record['id']}").json(), record)


def _nullable_fields(ir: IR, model: str) -> list[dict[str, Any]]:
    read_only = ir.models[model]["ui"]["readonly_fields"]
    return [
        f
        for f in ir.writable_fields(model)
        if f["type_info"]["nullable"] and f["name"] not in read_only
    ]


@pytest.mark.parametrize(("project", "model"), _model_params(_nullable_fields))
def test_patch_null_on_a_nullable_field_sets_it(apps: AppPool, project: str, model: str) -> None:
    """`null` is a value for a field that admits it: the PATCH stores it, where leaving the
    field out keeps the stored value."""
    app = apps.get(project)
    ir = app.ir
    for f in _nullable_fields(ir, model):
        key = json_key(f)
        value = field_value(ir, f, app.link_id, variant=2)
        if value is None:
            continue  # no value but null to start from
        record = app.create(model, **{key: value})
        path = f"/api/models/{model}/{record['id']}"
        kept = app.client.patch(path, json={})
        assert kept.status_code == 200, (key, kept.text)
        _same_records(kept.json(), record)
        cleared = app.client.patch(path, json={key: None})
        assert cleared.status_code == 200, (key, cleared.text)
        stored = app.client.get(path).json()
        returned = read_key(f)
        assert cleared.json()[returned] is None and stored[returned] is None, key
        _same_records({**stored, returned: record[returned]}, record)


def _unbounded_ints(ir: IR, model: str) -> list[dict[str, Any]]:
    return [
        f
        for f in ir.writable_fields(model)
        if f["type_info"]["kind"] == "int"
        and f["constraints"].get("le", f["constraints"].get("lt", 2**63)) >= 2**63
    ]


@pytest.mark.parametrize(("project", "model"), _model_params(_unbounded_ints))
def test_integer_beyond_int64_is_422(apps: AppPool, project: str, model: str) -> None:
    """BSON holds 64-bit integers: a bigger one is a bad request, never a 500."""
    app = apps.get(project)
    record = app.create(model)
    payload = make_payload(app.ir, model, app.link_id)
    answers = {}
    for f in _unbounded_ints(app.ir, model):
        key = json_key(f)
        for method, path, body in (
            ("POST", f"/api/models/{model}/", {**payload, key: 2**63}),
            ("PUT", f"/api/models/{model}/{record['id']}", {**payload, key: 2**64}),
            ("PATCH", f"/api/models/{model}/{record['id']}", {key: 2**63 + 1}),
        ):
            response = app.client.request(method, path, json=body)
            answers[f"{method} {key}"] = response.status_code
    refused = {request: status for request, status in answers.items() if status != 422}
    assert not refused, f"not a 422: {refused}"


def test_datetime_mongodb_cannot_store_is_422(demo: RunningApp) -> None:
    """0001-01-01T00:00+01:00 is before year 1 in UTC, which BSON cannot encode."""
    body = {"title": "Too old", "company": "Co", "posted_at": "0001-01-01T00:00:00+01:00"}
    response = demo.client.post("/api/models/Job/", json=body)
    assert response.status_code == 422, (response.status_code, response.text[:300])


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_malformed_id_is_422_and_missing_id_is_404(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    ir = app.ir
    base = f"/api/models/{model}"
    body = make_payload(ir, model, app.link_id)
    malformed = ["abc", "123", "a" * 25, "zzzzzzzzzzzzzzzzzzzzzzzz"]
    for bad in malformed:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            sent = body if method in ("PUT", "PATCH") else None
            response = app.client.request(method, f"{base}/{bad}", json=sent)
            assert response.status_code == 422, (method, bad, response.text)
            assert any(e["loc"][0] == "path" for e in response.json()["detail"]), response.text
    missing = str(uuid.uuid4()) if ir.id_kind(model) == "uuid" else "0123456789abcdef01234567"
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        sent = body if method in ("PUT", "PATCH") else None
        response = app.client.request(method, f"{base}/{missing}", json=sent)
        assert response.status_code == 404, (method, response.text)
        assert isinstance(response.json()["detail"], str)


def test_model_routes_answer_without_trailing_slash(demo: RunningApp) -> None:
    created = demo.client.post("/api/models/TestItem", json={"name": f"noslash {token()}"})
    assert created.status_code == 201, created.text
    listed = demo.client.get("/api/models/TestItem", params={"id": created.json()["id"]})
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()] == [created.json()["id"]]


def test_create_fills_defaults_and_patch_keeps_other_fields(demo: RunningApp) -> None:
    job = demo.create("Job", title="Defaults check", skills=["go"])
    minimal = demo.client.post("/api/models/Job/", json={"title": "Min", "company": "Co"})
    assert minimal.status_code == 201
    body = minimal.json()
    assert body["remote"] == "onsite" and body["status"] == "open" and body["currency"] == "EUR"
    assert body["skills"] == [] and body["location"] is None
    assert body["scraped_at"]  # the default factory ran
    patched = demo.client.patch(f"/api/models/Job/{job['id']}", json={"salary_max": 12345})
    assert patched.status_code == 200
    _same_records({**job, "salary_max": 12345}, patched.json())
    # scraped_at is read-only: no PATCH changes it, not even to null; the stored value stays.
    refused = demo.client.patch(f"/api/models/Job/{job['id']}", json={"scraped_at": None})
    assert refused.status_code == 422, refused.text
    kept = demo.client.get(f"/api/models/Job/{job['id']}")
    assert _normalized(kept.json()["scraped_at"]) == _normalized(job["scraped_at"])
    # null on a nullable field stores null
    cleared = demo.client.patch(f"/api/models/Job/{job['id']}", json={"location": None})
    assert cleared.status_code == 200 and cleared.json()["location"] is None


# --------------------------------------------------------------------------- list dialect


@pytest.fixture
def jobs(demo: RunningApp) -> dict[str, Any]:
    """Five jobs of one company no other test uses."""
    company = f"Co {token()}"
    rows = [
        dict(
            title="Beta Python engineer",
            salary_max=50_000,
            remote="remote",
            status="open",
            skills=["python", "sql"],
            posted_at="2024-03-01T00:00:00Z",
            match_score=0.9,
        ),
        dict(
            title="Alpha data analyst",
            salary_max=70_000,
            remote="hybrid",
            status="closed",
            skills=["sql"],
            posted_at="2024-01-15T00:00:00Z",
            match_score=0.2,
        ),
        dict(
            title="Gamma PYTHON lead",
            salary_max=70_000,
            remote="onsite",
            status="archived",
            skills=["python"],
            posted_at="2024-06-01T00:00:00Z",
            is_featured=True,
        ),
        dict(
            title="Delta designer",
            salary_max=30_000,
            remote="hybrid",
            status="open",
            skills=[],
            description="Figma, some python scripting",
            match_score=0.5,
        ),
        dict(
            title="Epsilon tester",
            salary_max=None,
            remote="onsite",
            status="open",
            skills=["qa"],
            url="https://python.example/jobs/1",
        ),
    ]
    created = {}
    for row in rows:
        response = demo.client.post("/api/models/Job/", json={"company": company, **row})
        assert response.status_code == 201, response.text
        created[row["title"].split()[0]] = response.json()
    return {"company": company, "by_word": created}


def _titles(records: list[dict[str, Any]]) -> list[str]:
    return [r["title"].split()[0] for r in records]


def test_list_filters_on_equality(demo: RunningApp, jobs: dict[str, Any]) -> None:
    records, total = demo.list_records("Job", {"company": jobs["company"], "_sort": "title"})
    assert total == 5
    assert _titles(records) == ["Alpha", "Beta", "Delta", "Epsilon", "Gamma"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"_sort": "title", "_order": "asc"}, ["Alpha", "Beta", "Delta", "Epsilon", "Gamma"]),
        ({"_sort": "title", "_order": "desc"}, ["Gamma", "Epsilon", "Delta", "Beta", "Alpha"]),
        ({"_sort": "title", "_order": "DESC"}, ["Gamma", "Epsilon", "Delta", "Beta", "Alpha"]),
        (
            {"_sort": "salary_max,title", "_order": "desc,asc"},
            ["Alpha", "Gamma", "Beta", "Delta", "Epsilon"],
        ),
        (
            {"_sort": "salary_max,title", "_order": "desc,desc"},
            ["Gamma", "Alpha", "Beta", "Delta", "Epsilon"],
        ),
        (
            {"_sort": "salary_max,title", "_order": "asc"},
            ["Epsilon", "Delta", "Beta", "Alpha", "Gamma"],
        ),
        (
            [("_sort", "salary_max"), ("_sort", "title"), ("_order", "desc"), ("_order", "desc")],
            ["Gamma", "Alpha", "Beta", "Delta", "Epsilon"],
        ),
    ],
    ids=["asc", "desc", "DESC", "multi", "multi-desc", "order-defaults-asc", "repeated-keys"],
)
def test_list_sorts(
    demo: RunningApp, jobs: dict[str, Any], params: Any, expected: list[str]
) -> None:
    query = [
        ("company", jobs["company"]),
        *(params.items() if isinstance(params, dict) else params),
    ]
    records, total = demo.list_records("Job", query)
    assert _titles(records) == expected
    assert total == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"salary_max_gte": "50000"}, {"Alpha", "Beta", "Gamma"}),
        ({"salary_max_lte": "50000"}, {"Beta", "Delta"}),
        ([("salary_max_gte", "40000"), ("salary_max_lte", "60000")], {"Beta"}),
        ({"salary_max": "70000"}, {"Alpha", "Gamma"}),
        ({"salary_max_ne": "70000"}, {"Beta", "Delta", "Epsilon"}),
        ({"status_ne": "open"}, {"Alpha", "Gamma"}),
        ([("status_ne", "closed"), ("status_ne", "archived")], {"Beta", "Delta", "Epsilon"}),
        ({"title_like": "python"}, {"Beta", "Gamma"}),
        ({"title_like": "PYTH"}, {"Beta", "Gamma"}),
        ({"title_ne": "Delta designer"}, {"Alpha", "Beta", "Gamma", "Epsilon"}),
        ({"title_gte": "Delta"}, {"Delta", "Epsilon", "Gamma"}),
        ({"posted_at_gte": "2024-02-01"}, {"Beta", "Gamma"}),
        ({"posted_at_lte": "2024-03-01T00:00:00Z"}, {"Alpha", "Beta"}),
        ({"posted_at_lte": "2024-03-01T01:00:00+01:00"}, {"Alpha", "Beta"}),
        ({"match_score_gte": "0.5"}, {"Beta", "Delta"}),
        ({"is_featured": "true"}, {"Gamma"}),
        ({"is_featured": "false"}, {"Alpha", "Beta", "Delta", "Epsilon"}),
        ({"is_featured_ne": "true"}, {"Alpha", "Beta", "Delta", "Epsilon"}),
        ([("remote", "hybrid"), ("remote", "remote")], {"Alpha", "Beta", "Delta"}),
        ({"remote": "onsite"}, {"Gamma", "Epsilon"}),
        ({"status": "archived"}, {"Gamma"}),
        ([("status", "closed"), ("status", "archived")], {"Alpha", "Gamma"}),
        ({"skills": "python"}, {"Beta", "Gamma"}),
        ([("skills", "qa"), ("skills", "sql")], {"Alpha", "Beta", "Epsilon"}),
        ({"skills_ne": "python"}, {"Alpha", "Delta", "Epsilon"}),
        ({"q": "python"}, {"Beta", "Gamma", "Delta"}),
        ({"q": "FIGMA"}, {"Delta"}),
        ([("q", "python"), ("status", "open")], {"Beta", "Delta"}),
    ],
    ids=lambda v: None if isinstance(v, set) else json.dumps(v),
)
def test_list_filters(
    demo: RunningApp, jobs: dict[str, Any], params: Any, expected: set[str]
) -> None:
    pairs = list(params.items()) if isinstance(params, dict) else params
    records, total = demo.list_records("Job", [("company", jobs["company"]), *pairs])
    assert set(_titles(records)) == expected
    assert total == len(expected)


def test_list_q_searches_only_the_searchable_fields(demo: RunningApp) -> None:
    """Job's ui.searchable_fields are title, company, location, description: not url."""
    word = f"zq{token()}"
    hit = demo.create("Job", title=f"Role {word}", company="Acme")
    demo.create("Job", title="Other role", company="Acme", url=f"https://{word}.x")
    records, total = demo.list_records("Job", {"q": word.upper()})
    assert [r["id"] for r in records] == [hit["id"]] and total == 1


def test_list_q_on_a_model_without_searchable_fields_config(demo: RunningApp) -> None:
    """TestItem declares no searchable_fields: q searches its plain string fields (name)."""
    word = f"tq{token()}"
    named = demo.create("TestItem", name=f"Item {word.upper()}", tags=[])
    demo.create("TestItem", name="Tagged item", tags=[word])
    records, total = demo.list_records("TestItem", {"q": word})
    assert [r["id"] for r in records] == [named["id"]] and total == 1


def test_list_get_many_by_repeated_id(demo: RunningApp, jobs: dict[str, Any]) -> None:
    wanted = [jobs["by_word"]["Alpha"]["id"], jobs["by_word"]["Gamma"]["id"]]
    records, total = demo.list_records(
        "Job", [("id", wanted[0]), ("id", wanted[1]), ("_sort", "title")]
    )
    assert [r["id"] for r in records] == wanted and total == 2
    records, _ = demo.list_records("Job", [("id", wanted[0]), ("id", "0123456789abcdef01234567")])
    assert [r["id"] for r in records] == wanted[:1]
    records, total = demo.list_records("Job", [("company", jobs["company"]), ("id_ne", wanted[0])])
    assert total == 4 and wanted[0] not in {r["id"] for r in records}


def test_list_filters_on_a_link(demo: RunningApp) -> None:
    job_a, job_b, job_c = (demo.create("Job") for _ in range(3))
    apps_a = [demo.create("Application", job=job_a["id"]) for _ in range(2)]
    app_b = demo.create("Application", job=job_b["id"], status="offer")
    records, total = demo.list_records(
        "Application", {"job": job_a["id"], "_sort": "applicant_name"}
    )
    assert {r["id"] for r in records} == {a["id"] for a in apps_a} and total == 2
    assert all(r["job"] == job_a["id"] for r in records)
    records, total = demo.list_records("Application", [("job", job_a["id"]), ("job", job_b["id"])])
    assert total == 3
    records, total = demo.list_records("Application", [("job", job_b["id"]), ("status", "offer")])
    assert [r["id"] for r in records] == [app_b["id"]]
    assert demo.list_records("Application", {"job": job_c["id"]}) == ([], 0)
    records, total = demo.list_records(
        "Application", [("job", job_a["id"]), ("job_ne", job_a["id"])]
    )
    assert total == 0


@pytest.fixture
def bulk_items(demo: RunningApp, mongo_url: str) -> dict[str, Any]:
    """120 TestItems tagged with one fresh tag, written straight into the collection."""
    from pymongo import MongoClient

    tag = f"bulk-{token()}"
    now = datetime.now(UTC)
    documents = [
        {
            "name": f"bulk {tag} {i:03d}",
            "kind": "alpha",
            "value": i,
            "score": 0.5,
            "active": True,
            "tags": [tag],
            "created_at": now + timedelta(seconds=i),
        }
        for i in range(120)
    ]
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        collection = demo.ir.models["TestItem"]["collection"]
        client[demo.database][collection].insert_many(documents)
    return {"tag": tag, "count": 120}


def _page_sizes(project: Path) -> tuple[int, int]:
    api = load_config(project).config.api
    return api.max_page_size, api.default_page_size


def test_list_pages(demo: RunningApp, bulk_items: dict[str, Any]) -> None:
    tag = bulk_items["tag"]
    _, default_page = _page_sizes(demo.built.project)
    records, total = demo.list_records("TestItem", {"tags": tag, "_sort": "value"})
    assert len(records) == default_page and total == 120
    assert [r["value"] for r in records] == list(range(default_page))
    records, total = demo.list_records(
        "TestItem", {"tags": tag, "_sort": "value", "_start": 110, "_end": 130}
    )
    assert [r["value"] for r in records] == list(range(110, 120)) and total == 120
    records, total = demo.list_records(
        "TestItem", {"tags": tag, "_sort": "value", "_order": "desc", "_start": 2, "_end": 5}
    )
    assert [r["value"] for r in records] == [117, 116, 115] and total == 120
    records, total = demo.list_records("TestItem", {"tags": tag, "_start": 500, "_end": 510})
    assert records == [] and total == 120
    # pages are disjoint and cover everything, even without a sort
    seen = []
    for start in range(0, 120, 50):
        page, _ = demo.list_records("TestItem", {"tags": tag, "_start": start, "_end": start + 50})
        seen.extend(r["id"] for r in page)
    assert len(seen) == len(set(seen)) == 120


def test_list_caps_the_page_size(demo: RunningApp, bulk_items: dict[str, Any]) -> None:
    max_page, _ = _page_sizes(demo.built.project)
    records, total = demo.list_records(
        "TestItem", {"tags": bulk_items["tag"], "_start": 0, "_end": 1000}
    )
    assert len(records) == min(max_page, 120) <= max_page and total == 120
    records, _ = demo.list_records("TestItem", {"tags": bulk_items["tag"], "_end": 10**15})
    assert len(records) <= max_page


@pytest.mark.parametrize(
    ("model", "key", "value"),
    [
        ("Job", "salary_max", "abc"),
        ("Job", "salary_max", "1.5"),
        ("Job", "salary_max_gte", "ten"),
        ("Job", "salary_max", "99999999999999999999999"),
        ("Job", "match_score_lte", "nan"),
        ("Job", "match_score", "x"),
        ("Job", "is_featured", "maybe"),
        ("Job", "posted_at_gte", "yesterday"),
        ("Job", "status", "nope"),
        ("Job", "remote", "moon"),
        ("Job", "id", "xyz"),
        ("Job", "id", "0123456789abcdef0123456"),
        ("Job", "_start", "-1"),
        ("Job", "_start", "one"),
        ("Job", "_end", "abc"),
        ("Job", "_end", "0"),
        ("Job", "_order", "sideways"),
        ("Application", "job", "not-an-id"),
        ("Application", "status", "hired"),
        ("TestItem", "kind", "delta"),
        ("TestItem", "value_gte", "1e3"),
    ],
)
def test_list_bad_value_is_400_naming_the_parameter(
    demo: RunningApp, model: str, key: str, value: str
) -> None:
    params = [(key, value)] + ([("_sort", "title")] if key == "_order" else [])
    response = demo.client.get(f"/api/models/{model}/", params=params)
    assert response.status_code == 400, response.text
    assert key in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"nosuch": "1"},
        {"title_gt": "x"},
        {"title_regex": "x"},
        {"salary_max_like": "1"},
        {"is_featured_gte": "true"},
        {"remote_like": "on"},
        {"skills_like": "py"},
        {"skills_gte": "a"},
        {"id_like": "0"},
        {"_sort": "nosuch"},
        {"_sort": "skills"},
        {"_sort": "title,title"},
        {"_sort": "title", "_order": "asc,desc"},
        {"_limit": "5"},
        {"q": "a", "_start": "0", "_end": "5", "_page": "1"},
        [("_start", "0"), ("_start", "5")],
        [("q", "a"), ("q", "b")],
    ],
    ids=lambda v: json.dumps(v),
)
def test_list_unknown_field_or_operator_is_400(demo: RunningApp, params: Any) -> None:
    response = demo.client.get("/api/models/Job/", params=params)
    assert response.status_code == 400, response.text
    assert isinstance(response.json()["detail"], str)


SCALAR_FILTER_KINDS = frozenset(
    {
        "str",
        "int",
        "float",
        "bool",
        "datetime",
        "date",
        "literal",
        "enum",
        "link",
        "uuid",
        "decimal",
    }
)
ORDERED_FILTER_KINDS = frozenset({"str", "int", "float", "datetime", "date", "decimal"})


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize(("project", "model"), MODEL_PARAMS)
def test_list_finds_a_record_by_each_field(apps: AppPool, project: str, model: str) -> None:
    """Every filterable field matches the value the API itself returned: the query coercion
    agrees with what was stored, for every field type (aliases and list elements included)."""
    app = apps.get(project)
    ir = app.ir
    record = app.create(model)
    record_id = record["id"]
    for f in ir.writable_fields(model):
        key, type_info = filter_key(f), f["type_info"]
        kind, value = type_info["kind"], record[read_key(f)]
        checks: list[tuple[str, Any, bool]] = []
        if kind in ("list", "set"):
            item = type_info["args"][0] if type_info["args"] else {"kind": "any"}
            if item["kind"] in SCALAR_FILTER_KINDS and value:
                checks = [(key, value[0], True), (f"{key}_ne", value[0], False)]
        elif kind in SCALAR_FILTER_KINDS and value is not None:
            checks = [(key, value, True), (f"{key}_ne", value, False)]
            if kind in ORDERED_FILTER_KINDS:
                checks += [(f"{key}_gte", value, True), (f"{key}_lte", value, True)]
            if kind == "str":
                checks.append(
                    (f"{key}_like", value[1:-1].upper() if len(value) > 2 else value, True)
                )
            if kind != "link":
                sorted_ = app.client.get(
                    f"/api/models/{model}/",
                    params={"id": record_id, "_sort": key, "_order": "desc"},
                )
                assert sorted_.status_code == 200, (key, sorted_.text)
        for param, sent, found in checks:
            records, total = app.list_records(
                model, [("id", record_id), (param, _query_text(sent))]
            )
            assert [r["id"] for r in records] == ([record_id] if found else []), (param, sent)
            assert total == (1 if found else 0)


def _list_links(ir: IR, model: str) -> list[dict[str, Any]]:
    return [
        f
        for f in ir.writable_fields(model)
        if f["type_info"]["kind"] in ("list", "set") and is_link(f)
    ]


@pytest.mark.parametrize(("project", "model"), _model_params(lambda ir, m: _list_links(ir, m)))
def test_list_filters_on_a_list_of_links(apps: AppPool, project: str, model: str) -> None:
    app = apps.get(project)
    for f in _list_links(app.ir, model):
        key = json_key(f)
        record = app.create(model)
        other = app.create(model)
        member = record[key][0]
        records, total = app.list_records(
            model, [(key, member), ("id", record["id"]), ("id", other["id"])]
        )
        assert [r["id"] for r in records] == [record["id"]] and total == 1
        records, _ = app.list_records(model, [(f"{key}_ne", member), ("id", record["id"])])
        assert records == []


def test_list_filter_on_a_backlink_is_400(apps: AppPool) -> None:
    app = apps.get("edge_types")
    response = app.client.get("/api/models/Ticket/", params={"comments": "x"})
    assert response.status_code == 400, response.text


def test_soft_delete_hides_and_restore_shows_again(apps: AppPool) -> None:
    app = apps.get("soft_delete")
    kept, dropped = app.create("Draft"), app.create("Draft")
    ids = [("id", kept["id"]), ("id", dropped["id"])]
    base = "/api/models/Draft"

    deleted = app.client.delete(f"{base}/{dropped['id']}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted_at"] is not None
    assert app.client.get(f"{base}/{dropped['id']}").status_code == 404
    assert app.client.patch(f"{base}/{dropped['id']}", json={"words": 3}).status_code == 404
    assert app.client.delete(f"{base}/{dropped['id']}").status_code == 404

    def listed(choice: str | None) -> list[str]:
        params = ids + ([("_deleted", choice)] if choice else [])
        records, total = app.list_records("Draft", params)
        assert total == len(records)
        return sorted(r["id"] for r in records)

    assert listed(None) == listed("exclude") == [kept["id"]]
    assert listed("include") == sorted([kept["id"], dropped["id"]])
    assert listed("only") == [dropped["id"]]
    refused = app.client.get(f"{base}/", params={"_deleted": "all"})
    assert refused.status_code == 400, refused.text

    restored = app.client.post(f"{base}/{dropped['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    assert listed(None) == sorted([kept["id"], dropped["id"]])
    assert app.client.post(f"{base}/{ObjectId()}/restore").status_code == 404
    set_by_client = app.client.patch(
        f"{base}/{kept['id']}", json={"deleted_at": "2024-01-01T00:00:00Z"}
    )
    assert set_by_client.status_code == 422, set_by_client.text


def test_shared_collections_keep_each_model_to_its_own_records(
    apps: AppPool, mongo_url: str
) -> None:
    """An is_root hierarchy and a UnionDoc: one collection each, and every model's routes
    see only the records of its own class (a Car list holds no Vans)."""
    from pymongo import MongoClient

    app = apps.get("document_kinds")
    car, van, bike = app.create("Car"), app.create("Van"), app.create("Bike")
    signup, payment = app.create("Signup"), app.create("Payment")
    ids = [("id", record["id"]) for record in (car, van, bike, signup, payment)]
    for model, record in (("Car", car), ("Van", van), ("Bike", bike), ("Signup", signup)):
        records, total = app.list_records(model, ids)
        assert ([r["id"] for r in records], total) == ([record["id"]], 1), model
    assert app.client.get(f"/api/models/Car/{van['id']}").status_code == 404
    assert app.client.patch(f"/api/models/Bike/{car['id']}", json={"gears": 3}).status_code == 404
    assert app.client.delete(f"/api/models/Signup/{payment['id']}").status_code == 404
    assert app.client.get(f"/api/models/Van/{van['id']}").json() == van

    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        database = client[app.database]
        kinds = {d["_id"]: d["_class_id"] for d in database.vehicles.find({}, {"_class_id": 1})}
        events = {d["_id"]: d["_class_id"] for d in database.events.find({}, {"_class_id": 1})}
    assert kinds[ObjectId(car["id"])] == "Vehicle.Car"
    assert kinds[ObjectId(van["id"])] == "Vehicle.Car.Van"
    assert kinds[ObjectId(bike["id"])] == "Vehicle.Bike"
    assert events[ObjectId(signup["id"])] == "Signup"
    assert events[ObjectId(payment["id"])] == "payment"


def test_deleted_parameter_on_a_model_without_soft_delete_is_400(demo: RunningApp) -> None:
    response = demo.client.get("/api/models/Job/", params={"_deleted": "include"})
    assert response.status_code == 400, response.text


def test_bodies_take_keys_as_the_model_does(apps: AppPool, mongo_url: str) -> None:
    """camelCase from an alias generator, or the field's name (`populate_by_name`); the
    answer uses the keys the model dumps, and MongoDB the ones Beanie stores."""
    app = apps.get("aliases")
    by_alias = app.client.post(
        "/api/models/Contact/",
        json={"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org"},
    )
    assert by_alias.status_code == 201, by_alias.text
    by_name = app.client.post(
        "/api/models/Contact/",
        json={"first_name": "Ada", "last_name": "Byron", "email": "ada@example.org"},
    )
    assert by_name.status_code == 201, by_name.text
    assert by_name.json()["lastName"] == "Byron"
    invoice = app.client.post("/api/models/Invoice/", json={"invoiceNumber": "A-1"})
    assert invoice.status_code == 201, invoice.text
    assert invoice.json() == {"id": invoice.json()["id"], "InvoiceNumber": "A-1", "TotalCents": 0}
    from pymongo import MongoClient

    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        contacts = client[app.database]["contacts"]
        stored = contacts.find_one({"_id": ObjectId(by_alias.json()["id"])})
    assert stored is not None and stored["firstName"] == "Ada" and "first_name" not in stored
    note = app.client.post("/api/models/Note/", json={"body": "b", "abstract": "short"})
    assert note.status_code == 201, note.text
    assert note.json()["synopsis"] == "short" and "summary" not in note.json()
    records, _ = app.list_records("Note", [("summary", "short"), ("id", note.json()["id"])])
    assert [r["id"] for r in records] == [note.json()["id"]]


def test_a_link_to_any_document_round_trips_with_its_collection(
    apps: AppPool, mongo_url: str
) -> None:
    """`Link[Document]`: the API takes and returns `{"id", "collection"}` (what Beanie dumps),
    MongoDB holds a DBRef to that collection, and a link to no record is a 422."""
    from bson import DBRef
    from pymongo import MongoClient

    app = apps.get("document_links")
    note, photo = app.create("Note"), app.create("Photo")
    to_note = {"id": note["id"], "collection": "notes"}
    to_photo = {"id": photo["id"], "collection": "Photo"}
    created = app.client.post(
        "/api/models/Bookmark/",
        json={"title": "both", "target": to_photo, "related": [to_note, to_photo]},
    )
    assert created.status_code == 201, created.text
    bookmark = created.json()
    assert (bookmark["target"], bookmark["backup"]) == (to_photo, None)
    assert bookmark["related"] == [to_note, to_photo]
    assert app.client.get(f"/api/models/Bookmark/{bookmark['id']}").json() == bookmark
    records, total = app.list_records("Bookmark", [("id", bookmark["id"])])
    assert (records, total) == ([bookmark], 1)
    patched = app.client.patch(f"/api/models/Bookmark/{bookmark['id']}", json={"backup": to_note})
    assert patched.status_code == 200 and patched.json()["backup"] == to_note, patched.text

    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        stored = client[app.database]["Bookmark"].find_one({"_id": ObjectId(bookmark["id"])})
    assert stored is not None
    assert stored["target"] == DBRef("Photo", ObjectId(photo["id"]))
    assert stored["related"][0] == DBRef("notes", ObjectId(note["id"]))

    for target, message in [
        ({"id": note["id"], "collection": "Photo"}, "no record with the given id"),
        ({"id": "nope", "collection": "notes"}, "not a valid id"),
        ({"id": note["id"], "collection": "$cmd"}, "not a collection of records"),
    ]:
        refused = app.client.post("/api/models/Bookmark/", json={"title": "x", "target": target})
        assert refused.status_code == 422, refused.text
        assert message in refused.text, refused.text
    filtered = app.client.get("/api/models/Bookmark/", params={"target": note["id"]})
    assert filtered.status_code == 400, filtered.text


# Values a field's plain type takes and its refined type may not (refined_types fixture).
REFINED_CASES = [
    ("key", str(uuid.uuid1())),  # a UUID1 for a UUID4
    ("key", str(uuid.uuid4())),
    ("legacy_key", str(uuid.uuid4())),
    ("homepage", "ftp://example.org/file"),
    ("homepage", "https://example.org/"),
    ("mirrors", ["mailto:ada@example.org"]),
    ("born", "2999-01-01"),
    ("born", "2001-01-01"),
    ("joined_at", "2024-05-06T07:08:09"),  # no time zone, for an AwareDatetime
    ("joined_at", "2024-05-06T07:08:09+02:00"),
    ("last_seen_at", "2999-01-01T00:00:00Z"),
    ("logins", 0),
    ("logins", 3),
    ("balance", -0.5),
    ("verified", 1),
    ("verified", "true"),
    ("verified", True),
]
# Items breaking, and keeping, the limits of their item type (field_types' Product).
ITEM_LIMIT_CASES = [
    ("codes", ["toolong"]),
    ("codes", ["short"]),
    ("counts", [3, -1]),
    ("counts", [0, 3]),
    ("bin_ids", [0]),
    ("bin_ids", [1, 2]),
    ("bins", ["ab"]),
    ("bins", ["abc", "abcdef"]),
    ("weights", {"a": -0.5}),
    ("weights", {"a": 0.5}),
    ("sizes", [1, 0]),
    ("sizes", [1, 2]),
]
MODEL_VERDICTS = """
import importlib, json, sys
from pydantic import ValidationError, create_model

module, _, name = sys.argv[1].rpartition(".")
model = getattr(importlib.import_module(module), name)
verdicts = []
for field, value in json.load(sys.stdin):
    info = model.model_fields[field]
    probe = create_model("Probe", **{field: (info.annotation, info)})
    try:
        probe.model_validate_json(json.dumps({field: value}))
        verdicts.append(True)
    except ValidationError:
        verdicts.append(False)
print(json.dumps(verdicts))
"""


def _model_takes(app: RunningApp, model: str, cases: list[tuple[str, Any]]) -> list[bool]:
    """Whether the model's own field validates each value (from JSON, as a body is): the
    project's class, run by pydantic in a subprocess."""
    spec = app.ir.models[model]
    verdicts = subprocess.run(
        [sys.executable, "-c", MODEL_VERDICTS, f"{spec['module']}.{spec['class_name']}"],
        input=json.dumps(cases),
        cwd=app.built.project,
        env=with_source_roots(app.built.project),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(verdicts.stdout)


def _api_disagreements(app: RunningApp, model: str, cases: list[tuple[str, Any]]) -> list[str]:
    """The cases a create body takes (201) or refuses (422) unlike the model's field."""
    takes = _model_takes(app, model, cases)
    base = make_payload(app.ir, model, app.link_id)
    answers = [
        app.client.post(f"/api/models/{model}/", json={**base, key: value}).status_code
        for key, value in cases
    ]
    return [
        f"{key}={value!r}: model {'takes' if ok else 'refuses'} it, API answered {answer}"
        for (key, value), ok, answer in zip(cases, takes, answers, strict=True)
        if answer != (201 if ok else 422)
    ]


def test_refined_types_accept_and_refuse_what_the_model_does(apps: AppPool) -> None:
    """`UUID4`, `HttpUrl`, `PastDate`, `PositiveInt`, `StrictBool`...: a body takes a value
    exactly when the model's own field does."""
    app = apps.get("refined_types")
    assert _model_takes(app, "Account", REFINED_CASES[:1]) == [False], "a UUID1 is a UUID4?"
    wrong = _api_disagreements(app, "Account", REFINED_CASES)
    assert not wrong, "\n".join(wrong)


def test_item_limits_hold_as_in_the_model(apps: AppPool) -> None:
    """`list[constr(max_length=5)]`, `set[conint(gt=0)]`, `conlist(Sku, ...)`...: each item
    keeps its type's limits in a body exactly as in the model."""
    app = apps.get("field_types")
    assert _model_takes(app, "Product", ITEM_LIMIT_CASES[:1]) == [False], "no item limit?"
    wrong = _api_disagreements(app, "Product", ITEM_LIMIT_CASES)
    assert not wrong, "\n".join(wrong)


# Kinds a Document cannot hold, with the test that round-trips them instead.
ROUND_TRIPS_ELSEWHERE = {
    "time": "BSON cannot store it (JH216): test_time_round_trips_through_an_operation",
}


def _kinds(type_info: dict[str, Any]) -> Iterator[str]:
    yield type_info["kind"]
    for arg in type_info["args"]:
        yield from _kinds(arg)


def test_every_kind_has_a_round_trip() -> None:
    """test_crud_round_trip creates, reads and lists a record of every model of every
    fixture project: together their fields must hold every `TypeKind` (add a field of a
    new kind to a fixture, kind_coverage say), or the kind's test be named here."""
    from jobhunter_compiler.ir import TypeKind

    held = {
        kind
        for project in PROJECTS
        for model in _models(project)
        for item in built(project).ir.models[model]["fields"]
        for kind in _kinds(item["type_info"])
    }
    missing = [k.value for k in TypeKind if k not in held and k not in ROUND_TRIPS_ELSEWHERE]
    assert not missing, f"no fixture Document holds a field of kind {missing}"
    stored_anyway = sorted(held & set(ROUND_TRIPS_ELSEWHERE))
    assert not stored_anyway, f"{stored_anyway}: held by a Document, drop the exemption"


def test_time_round_trips_through_an_operation(apps: AppPool) -> None:
    app = apps.get("kind_coverage")
    answer = app.run("end_of_shift", {"starts": "21:30:00", "length": "PT3H"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"starts": "21:30:00", "ends": "00:30:00"}
    run = app.task_run(answer.headers["X-Task-Run-Id"])
    assert run["input_dump"] == {"starts": "21:30:00", "length": "PT3H"}
    assert run["output_dump"] == answer.json()


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Ada"},
        {"fullName": "Ada"},
        {"names": ["Ada", "Byron"]},
        {"full_name": "Ada"},
        {"name": "Ada", "address": {"city": "London"}},
        {"name": "Ada", "city": "London"},
        {"names": [5]},
        {"names": []},
        {"fullname": "Ada"},
    ],
    ids=lambda body: json.dumps(body, separators=(",", ":")),
)
def test_alias_choices_and_paths_take_what_the_model_takes(apps: AppPool, body: Any) -> None:
    """AliasChoices/AliasPath: a body takes each key (or nested path) the model validates,
    and the record keeps the value. (A key the model would ignore is refused, as in every
    body.)"""
    app = apps.get("aliases")
    cases = [(key, value) for key, value in body.items()]
    takes = _model_document_takes(app, "Lead", body)
    answer = app.client.post("/api/models/Lead/", json=body)
    assert answer.status_code == (201 if takes is not None else 422), answer.text
    if takes is not None:
        record = answer.json()
        assert (record["fullName"], record["city"]) == (takes["full_name"], takes["city"]), cases


DOCUMENT_VERDICT = """
import importlib, json, sys
from pydantic import ConfigDict, ValidationError, create_model

module, _, name = sys.argv[1].rpartition(".")
model = getattr(importlib.import_module(module), name)
fields = {f: (i.annotation, i) for f, i in model.model_fields.items() if f != "revision_id"}
by_name = model.model_config.get("populate_by_name") or model.model_config.get("validate_by_name")
probe = create_model("Probe", __config__=ConfigDict(populate_by_name=bool(by_name)), **fields)
try:
    print(json.dumps(probe.model_validate_json(sys.stdin.read()).model_dump(mode="json")))
except ValidationError:
    print("null")
"""


def _model_document_takes(app: RunningApp, model: str, body: Any) -> dict[str, Any] | None:
    """The model's own fields (by name) from validating `body`, or None when it refuses
    (its fields with their config, outside Beanie, which would want a database)."""
    spec = app.ir.models[model]
    verdict = subprocess.run(
        [sys.executable, "-c", DOCUMENT_VERDICT, f"{spec['module']}.{spec['class_name']}"],
        input=json.dumps(body),
        cwd=app.built.project,
        env=with_source_roots(app.built.project),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(verdict.stdout)


# --------------------------------------------------------------------------- injection


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("TestItem", [("name[$ne]", "")]),
        ("TestItem", [("name[$ne]", "x")]),
        ("Job", [("$where", "1")]),
        ("Job", [("$where", "sleep(1000)")]),
        ("Job", [("title[$regex]", ".*")]),
        ("Job", [("title[$gt]", "")]),
        ("Job", [("_sort", "$where")]),
        ("Job", [("_sort", "title"), ("_order", "$natural")]),
        ("Job", [("$or", "[]")]),
        ("Job", [("title.$ne", "x")]),
        ("Application", [("job.$id", "0123456789abcdef01234567")]),
    ],
    ids=lambda v: v if isinstance(v, str) else json.dumps(v),
)
def test_operator_in_a_query_key_is_400(demo: RunningApp, model: str, params: Any) -> None:
    response = demo.client.get(f"/api/models/{model}/", params=params)
    assert response.status_code == 400, response.text


def test_operator_text_in_a_query_value_is_literal(demo: RunningApp) -> None:
    company = f"Lit {token()}"
    plain = demo.create("Job", company=company, title="Plain title")
    dotted = demo.create("Job", company=company, title="Dot .* star")
    for params, expected in [
        ({"q": ".*"}, [dotted]),
        ({"title_like": ".*"}, [dotted]),
        ({"title_like": "(a+)+$"}, []),
        ({"q": "(a+)+$"}, []),
        ({"q": "[a-z]+"}, []),
        ({"q": "\\"}, []),
        ({"title": '{"$ne": null}'}, []),
        ({"title_ne": '{"$ne": null}'}, [plain, dotted]),
        ({"title": "Plain title"}, [plain]),
        ({"title_like": "plain TITLE"}, [plain]),
        ({"q": "$where"}, []),
    ]:
        started = time.monotonic()
        records, total = demo.list_records("Job", {"company": company, "_sort": "title", **params})
        assert time.monotonic() - started < 5, params
        assert [r["id"] for r in records] == sorted(
            (e["id"] for e in expected), key=lambda i: {plain["id"]: 1, dotted["id"]: 0}[i]
        ), params
        assert total == len(expected)


def test_catastrophic_regex_is_harmless(demo: RunningApp) -> None:
    demo.create("Job", title="a" * 40 + "!", company="Redos")
    started = time.monotonic()
    response = demo.client.get("/api/models/Job/", params={"title_like": "(a+)+$", "q": "(a|aa)+$"})
    assert response.status_code == 200
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "body",
    [
        {"$set": {"title": "Hacked", "company": "Evil"}},
        {"title": {"$ne": None}, "company": "Co"},
        {"title": "Fine title", "company": {"$gt": ""}},
        {"title": "Fine title", "company": "Co", "skills": {"$each": ["a"]}},
        {"title": "Fine title", "company": "Co", "salary_max": {"$gt": 0}},
        {"title": "Fine title", "company": "Co", "status": {"$in": ["open"]}},
        [{"title": "Fine title", "company": "Co"}],
        "title=x",
    ],
    ids=lambda v: json.dumps(v),
)
def test_operator_body_is_422(demo: RunningApp, body: Any) -> None:
    job = demo.create("Job", title="Target", company="Injection")
    created = demo.client.post("/api/models/Job/", json=body)
    assert created.status_code == 422, created.text
    replaced = demo.client.put(f"/api/models/Job/{job['id']}", json=body)
    assert replaced.status_code == 422, replaced.text
    if isinstance(body, dict) and "$set" not in body:
        patched = demo.client.patch(f"/api/models/Job/{job['id']}", json=body)
        assert patched.status_code == 422, patched.text
    _same_records(demo.client.get(f"/api/models/Job/{job['id']}").json(), job)


def test_patch_with_operator_keys_changes_nothing(demo: RunningApp) -> None:
    job = demo.create("Job", title="Target", company="Injection")
    demo.client.patch(f"/api/models/Job/{job['id']}", json={"$set": {"title": "Hacked"}})
    demo.client.patch(f"/api/models/Job/{job['id']}", json={"$unset": {"title": ""}})
    _same_records(demo.client.get(f"/api/models/Job/{job['id']}").json(), job)


def test_patch_with_unknown_or_operator_keys_is_422(demo: RunningApp) -> None:
    """`{"$set": ...}` (or a misspelt field) is no field of the model: the client gets a 422,
    not a 200 that silently changed nothing."""
    job = demo.create("Job", title="Target", company="Injection")
    for body in ({"$set": {"title": "Hacked"}}, {"titel": "Typo"}):
        response = demo.client.patch(f"/api/models/Job/{job['id']}", json=body)
        assert response.status_code == 422, (body, response.status_code, response.text)


def test_no_injection_attempt_answers_500(demo: RunningApp) -> None:
    attempts = [
        ("GET", "/api/models/Job/", {"title[$ne]": ""}, None),
        ("GET", "/api/models/Job/", {"$where": "1"}, None),
        ("GET", "/api/models/Job/", {"title": "\x00"}, None),
        ("GET", "/api/models/Job/", {"q": "\x00"}, None),
        ("GET", "/api/models/Job/", {"title_like": "\x00(?"}, None),
        ("GET", "/api/models/Job/", {"posted_at_gte": "9999-12-31T23:59:59+14:00"}, None),
        ("GET", "/api/models/Job/", {"_start": "9" * 18, "_end": "9" * 18 + "0"}, None),
        ("GET", "/api/models/Job/", {"_start": "9" * 40}, None),
        ("GET", "/api/models/Job/$where", None, None),
        ("GET", "/api/taskruns/", {"status[$ne]": "x"}, None),
        ("GET", "/api/taskruns/", {"input_dump.name": "x"}, None),
        ("POST", "/api/models/Job/", None, {"title": "\x00\x00", "company": "$where"}),
        ("POST", "/api/operations/search_jobs/", None, {"query": {"$ne": None}}),
        ("POST", "/api/operations/search_jobs/", None, {"query": ".*(a+)+$"}),
    ]
    for method, path, params, body in attempts:
        response = demo.client.request(method, path, params=params, json=body)
        assert response.status_code < 500, (method, path, params, body, response.text)


# --------------------------------------------------------------------------- task runs


def test_operation_success_records_a_task_run(demo: RunningApp) -> None:
    name = f"op {token()}"
    before = datetime.now(UTC) - timedelta(seconds=5)
    response = demo.run("create_test_item", {"name": name, "value": 7, "tags": ["x"]})
    assert response.status_code == 200, response.text
    output = response.json()
    assert output["name"] == name and output["id"]
    run_id = response.headers["X-Task-Run-Id"]
    run = demo.task_run(run_id)
    assert run["id"] == run_id
    assert run["operation_name"] == "create_test_item"
    assert run["status"] == "success"
    assert run["actor"]["channel"] == "api"
    assert run["input_dump"]["name"] == name and run["input_dump"]["value"] == 7
    _same_records(run["output_dump"], output)
    assert run["error"] is None and run["traceback"] is None
    assert run["replay_of"] is None
    created, started, finished = (
        datetime.fromisoformat(run[k].replace("Z", "+00:00"))
        for k in ("created_at", "started_at", "finished_at")
    )
    assert all(t.tzinfo is not None for t in (created, started, finished))
    assert before <= created <= started <= finished <= datetime.now(UTC) + timedelta(seconds=5)
    assert run["duration_ms"] >= 0
    assert run["duration_ms"] <= (finished - started).total_seconds() * 1000 + 50
    # the operation really wrote its record
    item = demo.client.get(f"/api/models/TestItem/{output['id']}")
    assert item.status_code == 200 and item.json()["name"] == name


def test_operation_invalid_input_is_422_without_a_task_run(demo: RunningApp) -> None:
    marker = f"bad {token()}"
    response = demo.run("create_test_item", {"name": marker, "value": 5000})
    assert response.status_code == 422, response.text
    assert "X-Task-Run-Id" not in response.headers
    assert demo.run("create_test_item", {"value": 1}).status_code == 422
    assert demo.run("create_test_item", ["not", "an", "object"]).status_code == 422
    runs, _ = demo.list_task_runs({"operation_name": "create_test_item", "_end": 100})
    assert all(r["input_dump"].get("name") != marker for r in runs)


def test_operation_refusing_an_unknown_job_is_400_and_recorded(demo: RunningApp) -> None:
    body = {"job_id": "0123456789abcdef01234567", "applicant_name": "Ann", "email": "a@b.co"}
    response = demo.run("submit_application", body)
    assert response.status_code == 400, response.text
    payload = response.json()
    run_id = response.headers["X-Task-Run-Id"]
    assert payload["task_run_id"] == run_id
    assert payload["detail"] == "no job with id 0123456789abcdef01234567"
    assert "Traceback" not in response.text
    run = demo.task_run(run_id)
    assert run["status"] == "failed"
    assert run["operation_name"] == "submit_application"
    assert "OperationError" in run["error"] and "no job with id" in run["error"]
    assert "Traceback" in run["traceback"] and "OperationError" in run["traceback"]
    assert run["output_dump"] is None
    assert run["finished_at"] and run["duration_ms"] is not None
    assert run["input_dump"]["job_id"] == body["job_id"]


def test_operation_error_is_400_and_recorded(demo: RunningApp) -> None:
    response = demo.run("refuse", {"message": "no thanks"})
    assert response.status_code == 400, response.text
    run_id = response.headers["X-Task-Run-Id"]
    assert response.json() == {"detail": "refused: no thanks", "task_run_id": run_id}
    run = demo.task_run(run_id)
    assert run["status"] == "failed" and "OperationError" in run["error"]


def test_operation_input_beyond_int64_is_a_client_error(demo: RunningApp) -> None:
    """search_jobs takes `skip: int` (ge=0, no upper bound): 2**63 cannot be recorded in the
    TaskRun nor sent to MongoDB, so it is a 4xx with a JSON body, not a bare 500."""
    for body in ({"skip": 2**63}, {"min_salary": 2**64}):
        response = demo.run("search_jobs", body)
        assert response.status_code in (400, 422), (body, response.status_code, response.text)
        assert isinstance(response.json()["detail"], (str, list))


def test_operation_crash_is_500_without_traceback(demo: RunningApp) -> None:
    secret = f"secret-{token()}"
    response = demo.run("crash", {"message": secret})
    assert response.status_code == 500, response.text
    body = response.json()
    run_id = response.headers["X-Task-Run-Id"]
    assert body["task_run_id"] == run_id
    assert run_id in body["detail"]
    for leak in ("Traceback", 'File "', "RuntimeError", secret, "kaboom"):
        assert leak not in response.text, leak
    run = demo.task_run(run_id)
    assert run["status"] == "failed"
    assert "RuntimeError" in run["error"] and secret in run["error"]
    assert "Traceback" in run["traceback"] and "kaboom" in run["traceback"]
    assert "operations/crash.py" in run["traceback"].replace("\\", "/")


def test_operation_in_the_background(demo: RunningApp) -> None:
    word = f"bg{token()}"
    demo.create("Job", title=f"Background {word}", company="Bg", status="open")
    response = demo.run("search_jobs", {"query": word}, params={"background": "true"})
    assert response.status_code == 202, response.text
    run_id = response.json()["task_run_id"]
    assert response.headers["X-Task-Run-Id"] == run_id
    assert set(response.json()) == {"task_run_id"}
    run = demo.wait_for_run(run_id)
    assert run["status"] == "success", run
    assert run["output_dump"]["total"] == 1
    assert run["output_dump"]["jobs"][0]["title"] == f"Background {word}"
    assert run["started_at"] and run["finished_at"] and run["duration_ms"] is not None


def test_a_background_run_shows_its_progress_as_it_goes(demo: RunningApp) -> None:
    response = demo.run("count_up", {"steps": 5, "pause_s": 0.6}, params={"background": "true"})
    assert response.status_code == 202, response.text
    run_id = response.json()["task_run_id"]
    seen: list[float] = []
    deadline = time.monotonic() + 20
    while (run := demo.task_run(run_id))["status"] in {"pending", "running"}:
        assert time.monotonic() < deadline, run
        if run["progress"] is not None and run["progress"] not in seen:
            seen.append(run["progress"])
        time.sleep(0.1)
    assert seen == sorted(seen) and len(seen) >= 3, seen
    assert run["status"] == "success", run
    assert (run["progress"], run["progress_message"]) == (1.0, "step 5 of 5")


def read_events(response: httpx.Response) -> Iterator[tuple[str, str]]:
    """(field, value) per line of a `text/event-stream` body as it arrives: `event` and
    `data` lines, `retry`, and `:` for a comment; ("", "") ends each event."""
    for line in response.iter_lines():
        if not line:
            yield "", ""
        elif line.startswith(":"):
            yield ":", line[1:].strip()
        else:
            name, _, value = line.partition(":")
            yield name, value.removeprefix(" ")


def stream_events(client: httpx.Client, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, run) pairs of a run's event stream, read until the server ends it."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/api/taskruns/{run_id}/events") as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        event, data = "message", ""
        for name, value in read_events(response):
            if name == "event":
                event = value
            elif name == "data":
                data = value
            elif name == "" and data:
                events.append((event, json.loads(data)))
                event, data = "message", ""
    return events


def test_a_run_s_event_stream_carries_each_change_in_order_then_ends(demo: RunningApp) -> None:
    # Each step outlasts a progress write (0.5 s) and a stream check (0.5 s) together.
    response = demo.run("count_up", {"steps": 4, "pause_s": 1.2}, params={"background": "true"})
    assert response.status_code == 202, response.text
    run_id = response.json()["task_run_id"]
    events = stream_events(demo.client, run_id)
    names = [name for name, _ in events]
    assert names[-1] == "end" and set(names[:-1]) == {"update"}, names
    runs = [run for _, run in events]
    assert all(run["id"] == run_id for run in runs)
    progress = [run["progress"] for run in runs if run["progress"] is not None]
    assert progress == sorted(progress) and len(set(progress)) >= 3, progress
    assert progress[-1] == 1.0
    assert runs[-1]["status"] == "success" and runs[-1]["output_dump"] == {"ok": True}
    assert runs[-1] == demo.task_run(run_id)
    # Sent only when the run changed: no two events in a row carry the same record.
    assert all(one != other for one, other in itertools.pairwise(runs))


def test_a_finished_run_s_stream_is_its_end_event_alone(demo: RunningApp) -> None:
    run_id = demo.run("count_up", {"steps": 1, "pause_s": 0}).headers["X-Task-Run-Id"]
    assert stream_events(demo.client, run_id) == [("end", demo.task_run(run_id))]


def test_the_event_stream_of_a_missing_run_is_404_and_a_malformed_id_422(
    demo: RunningApp,
) -> None:
    missing = demo.client.get(f"/api/taskruns/{ObjectId()}/events")
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
    assert demo.client.get("/api/taskruns/nope/events").status_code == 422


def test_a_stopping_server_ends_its_open_event_streams(mongo_url: str) -> None:
    """A server waits for open responses as it stops: a stream following a run that never
    ends must end as soon as the server is told to stop, not when its lifetime runs out."""
    database = f"api_stop_{uuid.uuid4().hex[:8]}"
    with ApiServer(built("demo_project").project, mongo_url, database) as server:
        started = httpx.post(
            f"{server.url}/api/operations/linger/?background=true", json={}, timeout=10
        )
        assert started.status_code == 202, started.text
        url = f"{server.url}/api/taskruns/{started.json()['task_run_id']}/events"
        with httpx.stream("GET", url, timeout=30) as response:
            lines = response.iter_lines()
            assert next(lines) == "event: update"
            os.kill(server.pid, signal.SIGTERM)
            stopping = time.monotonic()
            rest = list(lines)  # to the end the server gives the stream
            stream_s = time.monotonic() - stopping
        assert not any(line.startswith("data:") and "Traceback" in line for line in rest)
        while server.exit_code is None and time.monotonic() - stopping < 30:
            time.sleep(0.05)
        # uvicorn stops as SIGTERM asked once it has shut down (exit code -15).
        assert server.exit_code == -signal.SIGTERM, server.log()
    # The stream's lifetime is 25 s; its checks come every 0.5 s.
    assert stream_s < 5, stream_s


def test_failing_operation_in_the_background(demo: RunningApp) -> None:
    response = demo.run("crash", {"message": "later"}, params={"background": "true"})
    assert response.status_code == 202, response.text
    run = demo.wait_for_run(response.json()["task_run_id"])
    assert run["status"] == "failed"
    assert "kaboom: later" in run["error"] and "Traceback" in run["traceback"]


def test_replay_runs_the_recorded_input_again(demo: RunningApp) -> None:
    name = f"replay {token()}"
    first = demo.run("create_test_item", {"name": name, "kind": "beta"})
    assert first.status_code == 200
    old_id = first.headers["X-Task-Run-Id"]
    old = demo.task_run(old_id)

    replayed = demo.client.post(f"/api/taskruns/{old_id}/replay")
    assert replayed.status_code == 200, replayed.text
    new_id = replayed.headers["X-Task-Run-Id"]
    assert new_id != old_id
    assert replayed.json()["name"] == name and replayed.json()["id"] != first.json()["id"]
    new = demo.task_run(new_id)
    assert new["replay_of"] == old_id
    assert new["input_dump"] == old["input_dump"]
    assert new["operation_name"] == "create_test_item" and new["status"] == "success"
    _, total = demo.list_records("TestItem", {"name": name})
    assert total == 2

    background = demo.client.post(f"/api/taskruns/{old_id}/replay", params={"background": "true"})
    assert background.status_code == 202, background.text
    run = demo.wait_for_run(background.json()["task_run_id"])
    assert run["replay_of"] == old_id and run["status"] == "success"


def test_replay_of_a_failed_run_fails_again(demo: RunningApp) -> None:
    failed = demo.run("crash", {"message": "again"})
    old_id = failed.headers["X-Task-Run-Id"]
    replayed = demo.client.post(f"/api/taskruns/{old_id}/replay")
    assert replayed.status_code == 500
    new = demo.task_run(replayed.json()["task_run_id"])
    assert new["replay_of"] == old_id and new["status"] == "failed"
    assert new["input_dump"] == {"message": "again"}


def test_replay_and_get_of_missing_or_malformed_task_runs(demo: RunningApp) -> None:
    missing = "0123456789abcdef01234567"
    assert demo.client.get(f"/api/taskruns/{missing}").status_code == 404
    assert demo.client.post(f"/api/taskruns/{missing}/replay").status_code == 404
    for bad in ("abc", "123", "a" * 25):
        assert demo.client.get(f"/api/taskruns/{bad}").status_code == 422
        assert demo.client.post(f"/api/taskruns/{bad}/replay").status_code == 422


def test_actor_channel_and_user_come_from_headers(demo: RunningApp) -> None:
    ui = demo.run(
        "create_test_item",
        {"name": f"ui {token()}"},
        headers={"X-Jobhunter-Channel": "ui", "X-Jobhunter-User": "ann"},
    )
    assert demo.task_run(ui.headers["X-Task-Run-Id"])["actor"] == {
        "channel": "ui",
        "user_id": "ann",
        "email": None,
    }
    plain = demo.run("create_test_item", {"name": f"api {token()}"})
    assert demo.task_run(plain.headers["X-Task-Run-Id"])["actor"] == {
        "channel": "api",
        "user_id": None,
        "email": None,
    }
    spoofed = demo.run(
        "create_test_item", {"name": f"cli {token()}"}, headers={"X-Jobhunter-Channel": "cli"}
    )
    assert demo.task_run(spoofed.headers["X-Task-Run-Id"])["actor"]["channel"] == "api"
    replay = demo.client.post(
        f"/api/taskruns/{plain.headers['X-Task-Run-Id']}/replay",
        headers={"X-Jobhunter-Channel": "UI"},
    )
    assert demo.task_run(replay.headers["X-Task-Run-Id"])["actor"]["channel"] == "ui"
    runs, _ = demo.list_task_runs({"actor.channel": "ui", "_end": 100})
    assert ui.headers["X-Task-Run-Id"] in {r["id"] for r in runs}
    assert all(r["actor"]["channel"] == "ui" for r in runs)


def test_task_runs_list_filters_and_newest_first(demo: RunningApp) -> None:
    ids = []
    for index in range(3):
        response = demo.run("create_test_item", {"name": f"order {index} {token()}"})
        ids.append(response.headers["X-Task-Run-Id"])
        time.sleep(0.01)
    failed = demo.run(
        "submit_application", {"job_id": "x", "applicant_name": "A", "email": "a@b.co"}
    )
    failed_id = failed.headers["X-Task-Run-Id"]

    runs, total = demo.list_task_runs({"operation_name": "create_test_item", "_end": 100})
    assert all(r["operation_name"] == "create_test_item" for r in runs)
    positions = [next(i for i, r in enumerate(runs) if r["id"] == run_id) for run_id in ids]
    assert positions == sorted(positions, reverse=True), "newest first"
    created = [r["created_at"] for r in runs]
    assert [_normalized(c) for c in created] == sorted(map(_normalized, created), reverse=True)

    runs, _ = demo.list_task_runs({"status": "failed", "_end": 100})
    assert failed_id in {r["id"] for r in runs} and all(r["status"] == "failed" for r in runs)
    runs, _ = demo.list_task_runs(
        [("status", "failed"), ("operation_name", "submit_application"), ("_end", "100")]
    )
    assert failed_id in {r["id"] for r in runs}
    assert all(r["operation_name"] == "submit_application" for r in runs)
    runs, total = demo.list_task_runs({"id": failed_id})
    assert [r["id"] for r in runs] == [failed_id] and total == 1
    runs, _ = demo.list_task_runs({"_sort": "created_at", "_order": "asc", "_end": 100})
    created = [_normalized(r["created_at"]) for r in runs]
    assert created == sorted(created)
    for params in ({"status": "exploded"}, {"nosuch": "1"}, {"input_dump": "x"}):
        assert demo.client.get("/api/taskruns/", params=params).status_code == 400, params


def test_operation_without_task_runs(apps: AppPool) -> None:
    """quote_order has async_enabled=False: it runs, keeps no TaskRun, cannot go background."""
    app = apps.get("edge_imports")
    body = {"items": [{"sku": "ABC-1", "unit_price_cents": 250, "quantity": 4}], "tax_rate": 0.1}
    response = app.run("quote_order", body)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "subtotal_cents": 1000,
        "discount_cents": 0,
        "tax_cents": 100,
        "total_cents": 1100,
        "currency": "EUR",
    }
    assert "X-Task-Run-Id" not in response.headers
    background = app.run("quote_order", body, params={"background": "true"})
    assert background.status_code == 400, background.text
    assert app.run("quote_order", {"items": []}).status_code == 422


def test_operation_without_inputs(apps: AppPool) -> None:
    app = apps.get("edge_imports")
    response = app.client.post("/api/operations/orders.stats/")
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"total", "by_status"}
    run = app.task_run(response.headers["X-Task-Run-Id"])
    assert run["status"] == "success" and run["input_dump"] == {}


# --------------------------------------------------------------------------- metadata, health


@pytest.mark.parametrize("project", list(PROJECTS))
def test_metadata_endpoints_match_the_ir(apps: AppPool, project: str) -> None:
    app = apps.get(project)
    ir = app.ir
    models = app.client.get("/api/models/")
    assert models.status_code == 200
    by_name = {m["name"]: m for m in models.json()}
    assert set(by_name) == set(ir.models)
    for name, model in ir.models.items():
        served = by_name[name]
        assert served["fields"] == model["fields"], name
        for key in ("collection", "class_name", "description", "tags", "ui", "indexes"):
            assert served[key] == model[key], (name, key)
        assert served["endpoint"] == f"/api/models/{name}/"
        assert served["id_type"] == ("uuid" if ir.id_kind(name) == "uuid" else "object_id")
        assert app.client.get(served["endpoint"]).status_code == 200

    operations = app.client.get("/api/operations/")
    assert operations.status_code == 200
    served_ops = {o["name"]: o for o in operations.json()}
    assert set(served_ops) == set(ir.operations)
    for name, operation in ir.operations.items():
        served = served_ops[name]
        assert served["endpoint"] == f"/api/operations/{name}/"
        assert served["inputs"] == operation["inputs"] and served["outputs"] == operation["outputs"]
        if (operation["inputs"] or {}).get("schema_id"):
            probe = app.client.post(served["endpoint"], json=["not an object"])
            assert probe.status_code == 422, (name, probe.status_code)

    index = app.client.get("/api/")
    assert index.status_code == 200
    links = index.json()
    assert links["models"] == {name: f"/api/models/{name}/" for name in ir.models}
    assert links["operations"] == {name: f"/api/operations/{name}/" for name in ir.operations}
    for path in (*links["metadata"], links["task_runs"], links["docs"], links["health"]):
        assert app.client.get(path).status_code == 200, path
    assert app.client.get("/api", follow_redirects=True).json() == links

    graph = app.client.get("/api/operations/graph")
    assert graph.status_code == 200
    nodes = {n["id"]: n for n in graph.json()["nodes"]}
    expected = {f"model:{m}" for m in ir.models} | {f"operation:{o}" for o in ir.operations}
    assert set(nodes) == expected
    edges = graph.json()["edges"]
    assert all(e["source"] in nodes and e["target"] in nodes for e in edges)
    for name in ir.models:
        for f in ir.writable_fields(name):
            if is_link(f):
                assert any(
                    e["kind"] == "link"
                    and e["source"] == f"model:{name}"
                    and e["field"] == f["name"]
                    for e in edges
                ), (name, f["name"])


def test_health_is_503_when_the_database_is_down() -> None:
    from jobhunter_compiler.devserver.embedded_mongo import EmbeddedMongo

    mongo = EmbeddedMongo()
    mongo.start()
    server = None
    try:
        server = ApiServer(built("demo_project").project, mongo.url, "health_check").start()
        assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
        mongo.stop()
        deadline = time.monotonic() + 10
        status = None
        while time.monotonic() < deadline:
            response = httpx.get(f"{server.url}/health", timeout=10)
            status = response.status_code
            if status == 503:
                break
            time.sleep(0.2)
        assert status == 503
        assert "Traceback" not in response.text
        assert time.monotonic() < deadline
    finally:
        if server is not None:
            server.stop()
        mongo.stop()


# --------------------------------------------------------------------------- CORS


def test_cors_exposes_the_custom_headers(demo: RunningApp) -> None:
    headers = {"Origin": UI_ORIGIN}
    listed = demo.client.get("/api/models/Job/", headers=headers)
    assert listed.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    exposed = {
        h.strip().lower() for h in listed.headers["Access-Control-Expose-Headers"].split(",")
    }
    assert {"x-total-count", "x-task-run-id"} <= exposed
    ran = demo.run("create_test_item", {"name": f"cors {token()}"}, headers=headers)
    assert ran.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert "x-task-run-id" in ran.headers["Access-Control-Expose-Headers"].lower()


def test_cors_preflight(demo: RunningApp) -> None:
    preflight = demo.client.options(
        "/api/models/Job/",
        headers={
            "Origin": UI_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "content-type, x-jobhunter-channel",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    foreign = demo.client.get("/api/models/Job/", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


# --------------------------------------------------------------------------- auth


API_KEY = secrets.token_urlsafe(32)
AUTHORIZED = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def auth_app(mongo_url: str) -> Iterator[RunningApp]:
    pool = AppPool(mongo_url)
    app = pool._start("demo_auth", built_with_auth(), env={"JOBHUNTER_API_KEY": API_KEY})
    pool.apps["demo_auth"] = app
    try:
        yield app
    finally:
        pool.close()


AUTH_ROUTES = [
    ("GET", "/api/models/", None),
    ("GET", "/api/models/Job/", None),
    ("GET", "/api/models/Job/0123456789abcdef01234567", None),
    ("POST", "/api/models/TestItem/", {"name": "auth"}),
    ("DELETE", "/api/models/Job/0123456789abcdef01234567", None),
    ("GET", "/api/operations/", None),
    ("GET", "/api/operations/graph", None),
    ("POST", "/api/operations/create_test_item/", {"name": "auth"}),
    ("GET", "/api/taskruns/", None),
    ("POST", "/api/taskruns/0123456789abcdef01234567/replay", None),
]


@pytest.mark.parametrize(("method", "path", "body"), AUTH_ROUTES, ids=lambda v: str(v))
def test_api_key_guards_every_route(
    auth_app: RunningApp, method: str, path: str, body: Any
) -> None:
    client = auth_app.client
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {API_KEY}{API_KEY}"},
        {"Authorization": f"Bearer {API_KEY[:-1]}"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": API_KEY},
        {"X-API-Key": API_KEY},
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.status_code, response.text)
    allowed = client.request(method, path, json=body, headers=AUTHORIZED)
    assert allowed.status_code not in (401, 403), allowed.text
    assert allowed.status_code < 500


def test_api_key_leaves_health_and_preflight_open(auth_app: RunningApp) -> None:
    client = auth_app.client
    assert client.get("/health").status_code == 200
    preflight = client.options(
        "/api/models/Job/",
        headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    listed = client.get("/api/models/Job/", headers=AUTHORIZED)
    assert listed.status_code == 200
    index = client.get("/api/", headers=AUTHORIZED).json()
    assert "docs" not in index  # the docs pages are off with a key
    assert client.get("/docs", headers=AUTHORIZED).status_code == 404
    assert client.get(index["openapi"], headers=AUTHORIZED).status_code == 200
    unauthorized = client.get("/api/models/Job/", headers={"Origin": UI_ORIGIN})
    assert unauthorized.status_code == 401
    assert unauthorized.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_api_key_app_refuses_to_start_without_the_key(mongo_url: str) -> None:
    server = ApiServer(
        built_with_auth().project, mongo_url, "auth_no_key", env={"JOBHUNTER_API_KEY": ""}
    )
    try:
        with pytest.raises(RuntimeError) as raised:
            server.start()
        assert "JOBHUNTER_API_KEY" in server.log() or "JOBHUNTER_API_KEY" in str(raised.value)
    finally:
        server.stop()


def test_without_auth_no_key_is_needed(demo: RunningApp) -> None:
    assert demo.client.get("/api/models/Job/").status_code == 200
    assert (
        demo.client.get("/api/models/", headers={"Authorization": "Bearer junk"}).status_code == 200
    )


def test_stopping_the_server_ends_background_runs_as_failed(mongo_url: str) -> None:
    """uvicorn's graceful shutdown runs the app's lifespan end, which cancels what still
    runs in the background: the TaskRun says failed instead of `running` forever."""
    from pymongo import MongoClient

    database = f"shutdown_{uuid.uuid4().hex[:8]}"
    server = ApiServer(built("demo_project").project, mongo_url, database).start()
    try:
        started = httpx.post(
            f"{server.url}/api/operations/linger/", params={"background": "true"}, json={}
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["task_run_id"]
    finally:
        server.stop()
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        run = client[database]["task_runs"].find_one({"_id": ObjectId(run_id)})
        client.drop_database(database)
    assert run is not None
    assert run["status"] == "failed" and run["error"].startswith("CancelledError")


def test_create_with_null_on_a_factory_default_uses_the_models_default(apps: AppPool) -> None:
    """edge_types' `Ticket.opened_at` defaults to `datetime.utcnow()`, which the API cannot
    call: on a create, null means "omitted", so the model's factory fills it."""
    app = apps.get("edge_types")
    created = app.create("Ticket", opened_at=None)
    assert abs(datetime.now(UTC) - _normalized(created["opened_at"])) < timedelta(minutes=5)
