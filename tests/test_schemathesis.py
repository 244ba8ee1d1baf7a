"""Schemathesis against the demo project's generated API, served by uvicorn on a real MongoDB.

The OpenAPI document must describe what the server does, since clients are built from it.
Whatever schemathesis sends, valid or not, the server never answers 5xx, every answer has a
documented status code and content type, and its body fits the schema documented for that
status code.

Checks left out, on purpose:
- `negative_data_rejection`: pydantic's lax mode accepts `0`/`1` for booleans, `1.0` for
  integers and Unix timestamps for date-times, as every FastAPI app does; the schemas say
  `boolean`, `integer` and `date-time` all the same.
- `positive_data_acceptance`: schema-valid requests may be refused for what a schema cannot
  say: a link to a record that does not exist (422), an operation refusing its input (400).

Bounded for CI: derandomized, MAX_EXAMPLES per operation, no deadline. Every operation is
tested, operations and background runs included: none of the demo's runs for long.

The demo is compiled with the smallest body limit (`api.max_body_bytes: 1024`), so the
bodies generated reach it and pass it (about 1 in 60, up to 20 KB): a 413 must be what
the OpenAPI document says, and what stays under the limit is served as ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from api_server import ApiServer
from conftest import FIXTURES, copy_project
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jobhunter_compiler.pipeline import compile_project

MAX_EXAMPLES = 15
MAX_BODY_BYTES = 1024
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def demo_api(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[ApiServer]:
    project = copy_project(FIXTURES / "demo_project", tmp_path_factory.mktemp("st") / "demo")
    with (project / ".jobhunter.yml").open("a", encoding="utf-8") as config:
        config.write(f"\napi:\n  max_body_bytes: {MAX_BODY_BYTES}\n")
    result = compile_project(project, mode="write")
    assert result.ok, result.diagnostics
    database = f"test_schemathesis_{uuid.uuid4().hex[:12]}"
    try:
        with ApiServer(project, mongo_url, database) as server:
            yield server
    finally:
        from pymongo import MongoClient

        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


@pytest.fixture(scope="module")
def api_schema(demo_api: ApiServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{demo_api.url}/openapi.json")


@pytest.fixture
def _pytest9_node_id(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32's `from_fixture` reads and rewrites `node._nodeid` (for its report
    labels), an attribute pytest 9.2 no longer has; give it one to read."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(
    derandomize=True,
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_does_what_its_openapi_says(
    case: schemathesis.Case, demo_api: ApiServer, _pytest9_node_id: None
) -> None:
    case.call_and_validate(checks=CHECKS, timeout=30)


# Values a JSON body can carry that BSON or the JSON answer cannot. Schemathesis finds these
# only with more examples than CI affords, or never (it sends standard JSON), so they are
# pinned here: each must be refused with a 4xx, never a 500.
UNSTORABLE_BODIES: list[tuple[str, str, dict[str, Any] | str]] = [
    # An integer beyond BSON's 64 bits, in a model field without an upper bound.
    ("int64-model", "/api/models/Job/", {"title": "Dev", "company": "A", "salary_min": 2**70}),
    # The same in an operation's input: the TaskRun records the input before the run.
    (
        "int64-operation",
        "/api/operations/submit_application/",
        {"job_id": "", "applicant_name": "A", "email": "a@b.co", "expected_salary": 2**70},
    ),
    # A date-time that leaves datetime's range once converted to UTC.
    (
        "datetime-range",
        "/api/models/Job/",
        {"title": "Late", "company": "A", "posted_at": "9999-12-31T23:00:00-05:00"},
    ),
    # A lone surrogate: pydantic refuses it and the 422 echoes it, which is not UTF-8.
    ("lone-surrogate", "/api/models/TestItem/", '{"name": "\\ud800"}'),
    ("lone-surrogate-operation", "/api/operations/search_jobs/", '{"query": "\\udfff"}'),
    # NaN is not JSON, but Python's json module reads it and pydantic's float accepts it;
    # nx-27017 refuses to store it, MongoDB stores it and the answer's orjson makes it null.
    ("nan-model", "/api/models/TestItem/", '{"name": "a", "score": NaN}'),
    ("nan-operation", "/api/operations/create_test_item/", '{"name": "a", "score": NaN}'),
]


@pytest.mark.parametrize(
    ("path", "body"),
    [case[1:] for case in UNSTORABLE_BODIES],
    ids=[case[0] for case in UNSTORABLE_BODIES],
)
def test_unstorable_values_are_a_client_error(
    demo_api: ApiServer, path: str, body: dict[str, Any] | str
) -> None:
    if isinstance(body, str):
        request = {"content": body, "headers": {"Content-Type": "application/json"}}
    else:
        request = {"json": body}
    response = httpx.post(f"{demo_api.url}{path}", timeout=30, **request)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/json"


# --------------------------------------------------------------------------- signed in

SECRET_KEY = "st-" + uuid.uuid4().hex + uuid.uuid4().hex
ADMIN_PASSWORD = "schemathesis password"


@pytest.fixture(scope="module")
def signed_in_api(
    tmp_path_factory: pytest.TempPathFactory, mongo_url: str
) -> Iterator[tuple[ApiServer, str]]:
    """The demo with `api.auth: users`, and an admin's token: every route is reachable, so
    the sign-in layer's answers are checked against the document beside the routes' own."""
    import asyncio

    from beanie import init_beanie
    from pymongo import AsyncMongoClient, MongoClient

    from jobhunter_runtime.users import AppUser, create_user

    project = copy_project(FIXTURES / "demo_project", tmp_path_factory.mktemp("st") / "demo")
    with (project / ".jobhunter.yml").open("a", encoding="utf-8") as config:
        config.write(f"\napi:\n  max_body_bytes: {MAX_BODY_BYTES}\n  auth: users\n")
    result = compile_project(project, mode="write")
    assert result.ok, result.diagnostics
    database = f"test_schemathesis_{uuid.uuid4().hex[:12]}"

    async def create_admin() -> None:
        client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_url, tz_aware=True)
        try:
            await init_beanie(database=client[database], document_models=[AppUser])
            await create_user("admin@example.org", ADMIN_PASSWORD, ["admin"], ["admin"])
        finally:
            await client.close()

    asyncio.run(create_admin())
    try:
        env = {"JOBHUNTER_SECRET_KEY": SECRET_KEY}
        with ApiServer(project, mongo_url, database, env=env) as server:
            answer = httpx.post(
                f"{server.url}/api/auth/login",
                data={"username": "admin@example.org", "password": ADMIN_PASSWORD},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            yield server, answer.json()["access_token"]
    finally:
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


@pytest.fixture(scope="module")
def signed_in_schema(signed_in_api: tuple[ApiServer, str]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{signed_in_api[0].url}/openapi.json")


# Signing in and out is left out: a sign-out would end the token the others use.
signed_in_schema_cases = schemathesis.pytest.from_fixture("signed_in_schema").exclude(
    path_regex="^/api/auth/"
)


@pytest.mark.slow
@signed_in_schema_cases.parametrize()
@settings(
    derandomize=True,
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_signed_in_api_does_what_its_openapi_says(
    case: schemathesis.Case, signed_in_api: tuple[ApiServer, str], _pytest9_node_id: None
) -> None:
    # In place of the Authorization schemathesis makes up for the OAuth2 scheme.
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {signed_in_api[1]}"}
    response = case.call_and_validate(checks=CHECKS, timeout=30)
    assert response.status_code not in (401, 403), (case.method, case.path, response.text)
