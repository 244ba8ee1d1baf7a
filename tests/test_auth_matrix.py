"""`api.auth: users` against real uvicorn processes and a real MongoDB server: the
permission matrix (every generated route x every kind of bad token and every role),
derived from the compiled IR and the documented defaults, not from the emitted table; the
sign-in, the cookie session, sign-out, the throttle, the actor of a run, and the start
refused without a signing key or with a credentialed `*` origin.

Two projects: one written here whose models and operations declare permissions (and leave
some to the defaults), where an allowed request must answer exactly 2xx; and the demo,
where every route must answer 401 to bad tokens, 403 to a role without the right, and
neither to a role with it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from api_server import ApiServer, with_source_roots
from beanie import init_beanie
from conftest import FIXTURES, assert_black_and_ruff_clean, copy_project
from pymongo import AsyncMongoClient, MongoClient

from jobhunter_compiler.ir import ProjectIR
from jobhunter_compiler.pipeline import compile_project
from jobhunter_runtime.users import AppUser, create_user

SECRET = "s3cret-" + uuid.uuid4().hex + uuid.uuid4().hex
OTHER_SECRET = "other-" + uuid.uuid4().hex + uuid.uuid4().hex
PASSWORD = "correct horse battery staple"
ROLES = ["admin", "editor", "viewer"]
PEOPLE = {"admin": ["admin"], "editor": ["editor"], "viewer": ["viewer"], "nobody": []}
"""Who signs in for the matrix: one user per role, and one with no role at all."""
DEFAULTS = {"read": ["*"], "create": ["admin"], "update": ["admin"], "delete": ["admin"]}
DEFAULT_RUN = ["admin"]
ACTIONS = {
    "GET": "read",
    "POST": "create",
    "PUT": "update",
    "PATCH": "update",
    "DELETE": "delete",
}

NOTES_MODELS = '''"""Notes and tags (test fixture)."""

from beanie import Document

from jobhunter_compiler import datamodel


@datamodel(
    name="Note",
    permissions={
        "read": ["viewer", "editor"],
        "create": ["editor"],
        "update": ["editor"],
    },
)
class Note(Document):
    title: str


@datamodel(name="Tag")
class Tag(Document):
    label: str


@datamodel(name="Memo", permissions={"read": ["editor"], "delete": ["*"]})
class Memo(Document):
    text: str
'''
NOTES_OPERATIONS = '''"""Operations (test fixture)."""

from pydantic import BaseModel

from jobhunter_compiler import operation


class Echo(BaseModel):
    text: str


@operation(name="echo", roles=["editor", "viewer"])
async def echo(data: Echo) -> Echo:
    return data


@operation(name="tidy")
async def tidy() -> None:
    """Left to api.default_permissions.run (admin)."""
'''
SAMPLES = {"Note": {"title": "a note"}, "Tag": {"label": "a tag"}, "Memo": {"text": "a memo"}}


def write_notes_project(folder: Path, config: str) -> Path:
    for package, source in (("models", NOTES_MODELS), ("operations", NOTES_OPERATIONS)):
        (folder / package).mkdir(parents=True)
        (folder / package / "__init__.py").write_text("", encoding="utf-8")
        (folder / package / f"{package}.py").write_text(source, encoding="utf-8")
    (folder / "pyproject.toml").write_text('[project]\nname = "notes"\n', encoding="utf-8")
    (folder / ".jobhunter.yml").write_text(config, encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- fixtures


class SignedInApp:
    """A running app with one user per entry of PEOPLE, and their tokens."""

    def __init__(self, server: ApiServer, ir: ProjectIR, mongo_url: str, database: str):
        self.server = server
        self.ir = ir
        self.mongo_url = mongo_url
        self.database = database
        self.client = httpx.Client(base_url=server.url, timeout=30)
        self.users: dict[str, AppUser] = {}
        self.tokens: dict[str, str] = {}

    def sign_in(self, person: str) -> str:
        answer = self.client.post(
            "/api/auth/login", data={"username": f"{person}@example.org", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["token_type"] == "bearer"
        self.client.cookies.clear()  # each request of the matrix says who it is
        return answer.json()["access_token"]

    def as_(self, person: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[person]}"}


async def _create_people(mongo_url: str, database: str) -> dict[str, AppUser]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
    try:
        await init_beanie(database=client[database], document_models=[AppUser])
        return {
            person: await create_user(f"{person}@example.org", PASSWORD, roles, ROLES)
            for person, roles in PEOPLE.items()
        }
    finally:
        await client.close()


def _running(project: Path, ir: ProjectIR, mongo_url: str, database: str) -> Iterator[SignedInApp]:
    users = asyncio.run(_create_people(mongo_url, database))
    env = {"JOBHUNTER_SECRET_KEY": SECRET}
    try:
        with ApiServer(project, mongo_url, database, env=env) as server:
            app = SignedInApp(server, ir, mongo_url, database)
            app.users = users
            app.tokens = {person: app.sign_in(person) for person in PEOPLE}
            yield app
            app.client.close()
    finally:
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[SignedInApp]:
    folder = write_notes_project(tmp_path_factory.mktemp("auth") / "notes", "api:\n  auth: users\n")
    result = compile_project(folder, mode="write")
    assert result.ok, result.diagnostics
    yield from _running(folder, result.ir, mongo_url, f"auth_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[SignedInApp]:
    folder = copy_project(FIXTURES / "demo_project", tmp_path_factory.mktemp("auth") / "demo")
    config = folder / ".jobhunter.yml"
    config.write_text(config.read_text() + "\napi:\n  auth: users\n", encoding="utf-8")
    result = compile_project(folder, mode="write")
    assert result.ok, result.diagnostics
    yield from _running(folder, result.ir, mongo_url, f"auth_{uuid.uuid4().hex[:8]}")


# --------------------------------------------------------------------------- the matrix


def allowed_roles(ir: ProjectIR, method: str, path: str) -> list[str] | None:
    """Who may call a route, from the declarations and the documented defaults; None for
    the routes any signed-in user may call."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "models"] and len(parts) > 2:
        model = ir.model(parts[2])
        assert model is not None, path
        action = ACTIONS[method]
        return model.permissions.get(action, DEFAULTS[action])
    if parts[:2] == ["api", "operations"] and method == "POST":
        operation = next(o for o in ir.operations if o.name == parts[2])
        return DEFAULT_RUN if operation.roles is None else operation.roles
    return None


def may(person: str, allowed: list[str] | None) -> bool:
    roles = PEOPLE[person]
    return allowed is None or "admin" in roles or "*" in allowed or bool(set(roles) & set(allowed))


def routes(app: SignedInApp) -> list[tuple[str, str]]:
    """Every (method, path) of the app's OpenAPI document but the sign-in's own."""
    schema = app.client.get("/openapi.json").json()
    found = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if not path.startswith("/api/auth/") and path != "/health"
    ]
    assert found
    return sorted(found)


def bad_tokens(app: SignedInApp) -> dict[str, dict[str, str]]:
    """Each way a token can be wrong, as request headers; the user exists and is admin."""
    admin = app.users["admin"]
    now = datetime.now(UTC)
    claims = {"sub": str(admin.id), "ver": 0, "iat": now, "exp": now + timedelta(minutes=5)}
    valid = app.tokens["admin"]
    head, payload, signature = valid.split(".")
    forged_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"ver":0', b'"ver":00')
    ).decode()
    tokens = {
        "tampered": f"{head}.{forged_payload}.{signature}",
        "expired": jwt.encode(
            {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
            SECRET,
            algorithm="HS256",
        ),
        "other key": jwt.encode(claims, OTHER_SECRET, algorithm="HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "alg HS512": jwt.encode(claims, SECRET, algorithm="HS512"),
        "garbage": "not-a-token",
    }
    headers = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    headers["no token"] = {}
    headers["basic scheme"] = {"Authorization": f"Basic {valid}"}
    headers["bad cookie"] = {"Cookie": f"jobhunter_session={tokens['other key']}"}
    return headers


def _stored(app: SignedInApp, model: str) -> str:
    """The id of a fresh record of `model`, written straight to the database."""
    collection = app.ir.model(model).collection  # type: ignore[union-attr]
    with MongoClient(app.mongo_url, serverSelectionTimeoutMS=5000) as client:
        return str(client[app.database][collection].insert_one(dict(SAMPLES[model])).inserted_id)


def _notes_request(app: SignedInApp, method: str, path: str) -> tuple[str, dict[str, Any]]:
    """A request to a route of the notes app that succeeds for a user allowed it."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "models"] and len(parts) > 2:
        model = parts[2]
        concrete = path.replace("{id}", _stored(app, model))
        body = {"json": SAMPLES[model]} if method in ("POST", "PUT", "PATCH") else {}
        return concrete, body
    if parts[:2] == ["api", "operations"] and method == "POST":
        return path, {"json": {"text": "hi"}} if parts[2] == "echo" else {}
    if "{id}" in path:  # a TaskRun: one of an operation every role may run
        answer = app.client.post(
            "/api/operations/echo/", json={"text": "x"}, headers=app.as_("admin")
        )
        return path.replace("{id}", answer.headers["X-Task-Run-Id"]), {}
    return path, {}


def test_bad_tokens_are_401_on_every_route(notes: SignedInApp, demo: SignedInApp) -> None:
    failures = []
    for app in (notes, demo):
        headers = bad_tokens(app)
        for method, path in routes(app):
            concrete = path.replace("{id}", "0" * 24)
            for name, head in headers.items():
                answer = app.client.request(method, concrete, headers=head, json={})
                if answer.status_code != 401:
                    failures.append(
                        f"{app.ir.project} {method} {path} {name}: {answer.status_code}"
                    )
    assert not failures, "\n".join(failures)


def test_each_role_on_every_route_of_declared_permissions(notes: SignedInApp) -> None:
    failures = []
    for method, path in routes(notes):
        allowed = allowed_roles(notes.ir, method, path)
        for person in PEOPLE:
            concrete, body = _notes_request(notes, method, path)
            answer = notes.client.request(method, concrete, headers=notes.as_(person), **body)
            if "taskruns/{id}" in path:
                # The run is of `echo`, which `nobody` may not run: hidden from them.
                ok = answer.is_success if person != "nobody" else answer.status_code == 404
            elif may(person, allowed):
                ok = answer.is_success
            else:
                ok = answer.status_code == 403
            if not ok:
                failures.append(f"{method} {path} as {person}: {answer.status_code} {answer.text}")
    assert not failures, "\n".join(failures)


def test_each_role_on_every_demo_route(demo: SignedInApp) -> None:
    failures = []
    for method, path in routes(demo):
        allowed = allowed_roles(demo.ir, method, path)
        concrete = path.replace("{id}", "0" * 24)
        for person in PEOPLE:
            answer = demo.client.request(method, concrete, headers=demo.as_(person), json={})
            if may(person, allowed):
                ok = answer.status_code not in (401, 403) and answer.status_code < 500
            else:
                ok = answer.status_code == 403
            if not ok:
                failures.append(f"{method} {path} as {person}: {answer.status_code}")
    assert not failures, "\n".join(failures)


def test_the_generated_code_with_sign_in_is_black_stable_and_ruff_clean(
    notes: SignedInApp, demo: SignedInApp
) -> None:
    files = [
        str(path)
        for app in (notes, demo)
        for path in (app.server.project / ".run_cache").glob("generated*/**/*.py")
    ]
    files += [str(app.server.project / ".run_cache" / "generated_api.py") for app in (notes, demo)]
    assert any(name.endswith("access.py") for name in files)
    assert_black_and_ruff_clean(files)


def test_the_compiler_and_the_runtime_agree_on_the_names_they_share() -> None:
    from jobhunter_compiler import config
    from jobhunter_compiler.emit import naming
    from jobhunter_compiler.resolve import resolver
    from jobhunter_runtime import sessions, users

    assert naming.SECRET_KEY_ENV == sessions.SECRET_KEY_ENV
    assert config.ANY_SIGNED_IN == sessions.ANY_SIGNED_IN
    assert config.ADMIN_ROLE == users.ADMIN_ROLE
    assert resolver.USER_COLLECTION == users.USER_COLLECTION == AppUser.Settings.name


# --------------------------------------------------------------------------- sessions


def test_the_cookie_session_works_and_sign_out_ends_every_token(notes: SignedInApp) -> None:
    with httpx.Client(base_url=notes.server.url, timeout=30) as browser:
        signed_in = browser.post(
            "/api/auth/login", data={"username": "Viewer@Example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        cookie = signed_in.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        me = browser.get("/api/auth/me")
        assert me.json() == {
            "id": str(notes.users["viewer"].id),
            "email": "viewer@example.org",
            "roles": ["viewer"],
        }
        assert browser.get("/api/models/Note/").status_code == 200
        assert browser.post("/api/models/Note/", json=SAMPLES["Note"]).status_code == 403
        bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        assert browser.post("/api/auth/logout").status_code == 204
        assert browser.get("/api/auth/me").status_code == 401
        assert notes.client.get("/api/auth/me", headers=bearer).status_code == 401
    notes.tokens["viewer"] = notes.sign_in("viewer")


def test_the_actor_is_the_signed_in_user_not_the_header(notes: SignedInApp) -> None:
    answer = notes.client.post(
        "/api/operations/echo/",
        json={"text": "who"},
        headers={**notes.as_("editor"), "X-Jobhunter-User": "mallory"},
    )
    assert answer.status_code == 200
    run = notes.client.get(
        f"/api/taskruns/{answer.headers['X-Task-Run-Id']}", headers=notes.as_("editor")
    ).json()
    assert run["actor"] == {
        "user_id": str(notes.users["editor"].id),
        "email": "editor@example.org",
        "channel": "api",
    }


def test_a_user_lists_only_the_runs_of_operations_they_may_run(notes: SignedInApp) -> None:
    # Both runs made here: with the module's tests split between workers, no other test's
    # run can be counted on.
    echo = notes.client.post(
        "/api/operations/echo/", json={"text": "mine"}, headers=notes.as_("editor")
    )
    assert echo.is_success
    assert notes.client.post("/api/operations/tidy/", headers=notes.as_("admin")).is_success
    everything = notes.client.get("/api/taskruns/?_end=100", headers=notes.as_("admin")).json()
    assert {"tidy", "echo"} <= {run["operation_name"] for run in everything}
    seen = notes.client.get("/api/taskruns/?_end=100", headers=notes.as_("editor")).json()
    assert seen and {run["operation_name"] for run in seen} == {"echo"}
    assert notes.client.get("/api/taskruns/", headers=notes.as_("nobody")).json() == []
    tidy = next(run for run in everything if run["operation_name"] == "tidy")
    for path in (f"/api/taskruns/{tidy['id']}", f"/api/taskruns/{tidy['id']}/replay"):
        method = "POST" if path.endswith("replay") else "GET"
        answer = notes.client.request(method, path, headers=notes.as_("editor"))
        assert answer.status_code == 404, path


def test_a_run_s_event_stream_takes_the_right_to_read_the_run_before_it_starts(
    notes: SignedInApp,
) -> None:
    tidy = notes.client.post("/api/operations/tidy/", headers=notes.as_("admin"))
    echo = notes.client.post(
        "/api/operations/echo/", json={"text": "e"}, headers=notes.as_("admin")
    )
    tidy_events = f"/api/taskruns/{tidy.headers['X-Task-Run-Id']}/events"
    echo_events = f"/api/taskruns/{echo.headers['X-Task-Run-Id']}/events"
    refused = {
        "no session": (notes.client.get(echo_events), 401),
        "bad cookie": (
            notes.client.get(echo_events, headers=bad_tokens(notes)["bad cookie"]),
            401,
        ),
        # Hidden, as reading the run is: the editor may not run `tidy`.
        "not theirs": (notes.client.get(tidy_events, headers=notes.as_("editor")), 404),
    }
    for name, (answer, status) in refused.items():
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/json", name
    # The admin UI's way: the session cookie, which EventSource sends on the same origin.
    with httpx.Client(base_url=notes.server.url, timeout=30) as browser:
        signed_in = browser.post(
            "/api/auth/login", data={"username": "editor@example.org", "password": PASSWORD}
        )
        assert signed_in.status_code == 200
        answer = browser.get(echo_events)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("event: end\n") and '"operation_name":"echo"' in answer.text


def test_repeated_failed_sign_ins_are_429_even_with_the_right_password(
    notes: SignedInApp,
) -> None:
    for _ in range(5):
        wrong = {"username": "memo-victim@example.org", "password": "wrong password"}
        assert notes.client.post("/api/auth/login", data=wrong).status_code == 401
    locked = notes.client.post(
        "/api/auth/login", data={"username": "memo-victim@example.org", "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert PASSWORD not in locked.text and "wrong password" not in notes.server.log()


def test_the_app_refuses_to_start_without_a_proper_secret_or_with_a_star_origin(
    notes: SignedInApp,
) -> None:
    for env, expected in (
        ({"JOBHUNTER_SECRET_KEY": ""}, "$JOBHUNTER_SECRET_KEY is not set"),
        ({"JOBHUNTER_SECRET_KEY": "short"}, "fewer than 32"),
        (
            {"JOBHUNTER_SECRET_KEY": SECRET, "JOBHUNTER_CORS_ORIGINS": "*"},
            "CORS origins cannot be `*`",
        ),
    ):
        started = subprocess.run(
            [sys.executable, "-c", "import generated_api"],
            cwd=notes.server.project / ".run_cache",
            env={**with_source_roots(notes.server.project), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode == 1, started.stderr
        assert expected in started.stderr
        assert "Traceback" not in started.stderr
        assert SECRET not in started.stderr


# --------------------------------------------------------------------------- users commands


def _users_command(
    app: SignedInApp, *arguments: str, password: str | None = PASSWORD, generated: bool = False
) -> subprocess.CompletedProcess[str]:
    """`jobhunter users ...` in the project, or `python -m cli users ...` in its output."""
    env = {**with_source_roots(app.server.project), "MONGODB_URL": app.mongo_url}
    env["MONGODB_DB"] = app.database
    env.pop("JOBHUNTER_PASSWORD", None)
    if password is not None:
        env["JOBHUNTER_PASSWORD"] = password
    if generated:
        command, cwd = [sys.executable, "-m", "cli"], app.server.project / ".run_cache"
    else:
        command, cwd = [str(Path(sys.executable).parent / "jobhunter")], app.server.project
    return subprocess.run(
        [*command, "users", *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_the_users_commands_create_change_and_disable_users(notes: SignedInApp) -> None:
    email = f"new-{uuid.uuid4().hex[:6]}@example.org"
    created = _users_command(notes, "create", email, "--role", "editor", "--role", "viewer")
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout + created.stderr
    signed_in = notes.client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    notes.client.cookies.clear()
    assert signed_in.status_code == 200
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert notes.client.post("/api/models/Note/", json=SAMPLES["Note"], headers=bearer).is_success

    listed = _users_command(notes, "list", "--json", generated=True)
    assert listed.returncode == 0, listed.stderr
    rows = {row["email"]: row for row in json.loads(listed.stdout)}
    assert rows[email]["roles"] == ["editor", "viewer"] and rows[email]["active"] is True
    assert "password_hash" not in listed.stdout

    changed = _users_command(notes, "set-roles", email, "--role", "viewer", generated=True)
    assert changed.returncode == 0, changed.stderr
    assert notes.client.get("/api/auth/me", headers=bearer).status_code == 401
    again = notes.client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    notes.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {again.json()['access_token']}"}
    assert (
        notes.client.post("/api/models/Note/", json=SAMPLES["Note"], headers=bearer).status_code
        == 403
    )

    assert _users_command(notes, "disable", email).returncode == 0
    assert notes.client.get("/api/auth/me", headers=bearer).status_code == 401
    refused = notes.client.post("/api/auth/login", data={"username": email, "password": PASSWORD})
    assert refused.status_code == 401


@pytest.mark.parametrize(
    ("arguments", "password", "message"),
    [
        (("create", "x@example.org", "--role", "boss"), PASSWORD, "unknown role boss"),
        (("create", "not-an-email", "--role", "viewer"), PASSWORD, "is not an email address"),
        (("create", "y@example.org", "--role", "viewer"), "short", "at least 12 characters"),
        (("create", "admin@example.org", "--role", "viewer"), PASSWORD, "exists already"),
        (("disable", "nobody-here@example.org"), None, "no user nobody-here@example.org"),
    ],
)
def test_a_users_command_that_cannot_be_done_says_why_in_one_line(
    notes: SignedInApp, arguments: tuple[str, ...], password: str | None, message: str
) -> None:
    done = _users_command(notes, *arguments, password=password)
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr


def test_an_app_without_users_says_how_to_create_the_first_admin(
    notes: SignedInApp, mongo_url: str
) -> None:
    database = f"auth_{uuid.uuid4().hex[:8]}"
    env = {"JOBHUNTER_SECRET_KEY": SECRET}
    try:
        with ApiServer(notes.server.project, mongo_url, database, env=env) as server:
            assert "jobhunter users create EMAIL --role admin" in server.log()
    finally:
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


# --------------------------------------------------------------------------- the throttle


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_counts_per_account_and_per_address_within_its_window() -> None:
    from jobhunter_runtime.signin import SignInThrottle

    clock = _Clock()
    throttle = SignInThrottle(per_account=3, per_address=5, window_s=60, clock=clock)
    ann = [("account", "ann@example.org"), ("address", "10.0.0.1")]
    for _ in range(3):
        assert throttle.retry_after(ann) is None
        throttle.failed(ann)
        clock.now += 1
    assert throttle.retry_after(ann) == 58  # the first failure leaves the window at 1060
    assert throttle.retry_after([("account", "bob@example.org"), ("address", "10.0.0.1")]) is None
    for name in ("bob", "cy"):  # other accounts from the same address fill its count
        throttle.failed([("account", f"{name}@example.org"), ("address", "10.0.0.1")])
    dan = [("account", "dan@example.org"), ("address", "10.0.0.1")]
    assert throttle.retry_after(dan) is not None
    assert throttle.retry_after([("account", "dan@example.org"), ("address", "10.0.0.2")]) is None
    clock.now += 60
    assert throttle.retry_after(ann) is None and throttle.retry_after(dan) is None


def test_a_successful_sign_in_clears_the_accounts_count() -> None:
    from jobhunter_runtime.signin import SignInThrottle

    throttle = SignInThrottle(per_account=2, per_address=100, window_s=60, clock=_Clock())
    keys = [("account", "ann@example.org"), ("address", "10.0.0.1")]
    throttle.failed(keys)
    throttle.succeeded(keys[0])
    throttle.failed(keys)
    assert throttle.retry_after(keys) is None


def test_each_model_route_needs_the_roles_of_its_action() -> None:
    from jobhunter_runtime.sessions import AccessRules

    roles = {"read": {"viewer"}, "create": {"editor"}, "update": {"editor"}, "delete": {"owner"}}
    rules = AccessRules(
        models={"Note": {action: frozenset(r) for action, r in roles.items()}}, operations={}
    )
    assert rules.allowed_roles("GET", "/api/models/Note/") == {"viewer"}
    assert rules.allowed_roles("POST", "/api/models/Note/") == {"editor"}
    assert rules.allowed_roles("PATCH", "/api/models/Note/abc") == {"editor"}
    assert rules.allowed_roles("DELETE", "/api/models/Note/abc") == {"owner"}
    # Restoring a soft-deleted record undoes a delete.
    assert rules.allowed_roles("POST", "/api/models/Note/abc/restore") == {"owner"}
    assert rules.allowed_roles("GET", "/api/models/Other/") is None
