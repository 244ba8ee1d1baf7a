"""Operations that fail in every way an operation can (`conftest.FAULT_OPERATIONS`), run by
the demo's generated API under a real uvicorn against a real MongoDB server: each failure
ends its own run, recorded and answered with the TaskRun id, and nothing else; no secret
and no input value leaks; `timeout_s` holds; and when one of two API processes on one
database is killed mid-run, the other marks the run abandoned once its lease expires.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import ApiServer
from conftest import FAULT_OPERATIONS, FIXTURES, copy_project

from jobhunter_compiler.pipeline import compile_project

LEASE_S = 2.0
SWEEP_INTERVAL_S = LEASE_S / 3
POLL_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 20.0
FAULT_PASSWORD = f"pw-{secrets.token_hex(8)}"
FAULT_TOKEN = f"tok-{secrets.token_hex(12)}"
SECRETS_ENV = {"FAULT_PASSWORD": FAULT_PASSWORD, "FAULT_TOKEN": FAULT_TOKEN}
TERMINAL = {"success", "failed", "timed_out", "abandoned"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(FIXTURES / "demo_project", tmp_path_factory.mktemp("faults") / "demo")
    (project / "operations" / "faults.py").write_text(FAULT_OPERATIONS, encoding="utf-8")
    config = project / ".jobhunter.yml"
    config.write_text(
        config.read_text(encoding="utf-8") + f"\napi:\n  run_lease_s: {LEASE_S}\n",
        encoding="utf-8",
    )
    result = compile_project(project, mode="write")
    assert result.ok, "\n".join(str(d) for d in result.diagnostics)
    return project


class Api:
    """One generated API process, started again by the next test if a test killed it."""

    def __init__(self, project: Path, mongo_url: str) -> None:
        self.project, self.mongo_url = project, mongo_url
        self.database = f"faults_{uuid.uuid4().hex[:8]}"
        self.server: ApiServer | None = None

    def running(self) -> ApiServer:
        if self.server is None or self.server.exit_code is not None:
            if self.server is not None:
                self.server.stop()
            self.server = ApiServer(
                self.project, self.mongo_url, self.database, env=SECRETS_ENV
            ).start()
        return self.server

    def close(self) -> None:
        from pymongo import MongoClient

        if self.server is not None:
            self.server.stop()
        with MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(self.database)


@pytest.fixture(scope="module")
def api_process(project: Path, mongo_url: str) -> Iterator[Api]:
    api = Api(project, mongo_url)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def api(api_process: Api) -> ApiServer:
    return api_process.running()


def run(
    server: ApiServer, operation: str, body: dict[str, Any], *, background: bool = False
) -> httpx.Response:
    params = {"background": "true"} if background else {}
    return httpx.post(
        f"{server.url}/api/operations/{operation}/",
        json=body,
        params=params,
        timeout=HTTP_TIMEOUT_S,
    )


def task_run(server: ApiServer, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/taskruns/{run_id}", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_status(
    server: ApiServer, run_id: str, statuses: set[str], timeout_s: float = POLL_TIMEOUT_S
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (found := task_run(server, run_id))["status"] not in statuses:
        assert time.monotonic() < deadline, found
        time.sleep(0.05)
    return found


def the_run_of(response: httpx.Response) -> str:
    """The TaskRun id an operation's answer names, in its header and its JSON body."""
    run_id = response.headers["X-Task-Run-Id"]
    assert response.json()["task_run_id"] == run_id
    return run_id


def assert_still_serving(server: ApiServer) -> None:
    assert server.exit_code is None, f"the API process exited:\n{server.log()}"
    assert httpx.get(f"{server.url}/health", timeout=HTTP_TIMEOUT_S).status_code == 200
    answer = run(server, "work", {"seconds": 0})
    assert answer.status_code == 200 and answer.json() == {"ok": True}, answer.text


# --------------------------------------------------------------------------- interpreter exits


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
@pytest.mark.parametrize(
    ("operation", "raised"),
    [
        ("exit_async", "SystemExit"),
        ("exit_sync", "SystemExit"),
        ("interrupt_async", "KeyboardInterrupt"),
        ("interrupt_sync", "KeyboardInterrupt"),
    ],
)
def test_an_operation_exiting_the_interpreter_fails_only_its_run(
    api: ApiServer, operation: str, raised: str, background: bool
) -> None:
    try:
        response = run(api, operation, {}, background=background)
    except httpx.TransportError as error:
        pytest.fail(f"no answer ({error!r}); API exit code {api.exit_code}:\n{api.log()}")
    if background:
        assert response.status_code == 202, response.text
        recorded = wait_for_status(api, the_run_of(response), TERMINAL)
    else:
        assert response.status_code == 500, response.text
        recorded = task_run(api, the_run_of(response))
    assert recorded["status"] == "failed"
    assert recorded["error"].startswith(raised), recorded["error"]
    assert raised in recorded["traceback"]
    assert_still_serving(api)


# --------------------------------------------------------------------------- what answers say


@pytest.mark.parametrize(
    ("operation", "text", "message"),
    [
        ("parse_json", '{"card": "4111 1111 1111 1111"', "Expecting"),
        ("validate_output", "card 4111 1111 1111 1111", "validation error"),
    ],
)
def test_a_value_error_is_a_500_naming_the_run_without_its_message_or_input(
    api: ApiServer, operation: str, text: str, message: str
) -> None:
    response = run(api, operation, {"text": text})
    assert response.status_code == 500, response.text
    run_id = the_run_of(response)
    assert response.json()["detail"] == (
        f"operation {operation} failed; the traceback is in TaskRun {run_id}"
    )
    assert "4111" not in response.text and message not in response.text
    recorded = task_run(api, run_id)
    assert recorded["status"] == "failed" and message in recorded["error"]


def test_secrets_reach_no_task_run_answer_or_log_line(api: ApiServer) -> None:
    crashed = run(api, "leak_secrets", {"text": "crash"})
    refused = run(api, "leak_secrets", {"text": "refuse"})
    background = run(api, "leak_secrets", {"text": "crash"}, background=True)

    assert crashed.status_code == 500, crashed.text
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"] == "mongodb://***@db.internal:27017 refused token ***"
    assert background.status_code == 202, background.text
    runs = [
        task_run(api, the_run_of(crashed)),
        task_run(api, the_run_of(refused)),
        wait_for_status(api, the_run_of(background), TERMINAL),
    ]
    for recorded in runs:
        assert recorded["status"] == "failed"
        assert "mongodb://***@db.internal:27017 refused token ***" in recorded["error"]
        assert "mongodb://***@db.internal" in recorded["traceback"]
    log = api.log()
    assert "RuntimeError: mongodb://***@db.internal:27017 refused token ***" in log, log
    for secret in (FAULT_PASSWORD, FAULT_TOKEN):
        for place in (crashed.text, refused.text, *map(str, runs), log):
            assert secret not in place


# --------------------------------------------------------------------------- timeouts and outputs


@pytest.mark.parametrize("operation", ["sleep_async", "sleep_sync"])
def test_an_operation_past_its_timeout_is_stopped_and_recorded_timed_out(
    api: ApiServer, operation: str
) -> None:
    started = time.monotonic()
    response = run(api, operation, {"seconds": 4})
    answered_s = time.monotonic() - started
    print(f"{operation} (timeout_s=1, 4 s): answered {response.status_code} in {answered_s:.2f} s")

    assert response.status_code == 504, response.text
    assert 1.0 <= answered_s < 2.0
    run_id = the_run_of(response)
    assert response.json()["detail"] == (
        f"operation {operation} exceeded its time limit (timeout_s=1); see TaskRun {run_id}"
    )
    recorded = task_run(api, run_id)
    assert recorded["status"] == "timed_out"
    assert "timeout_s=1" in recorded["error"]
    if operation == "sleep_sync":
        assert "cannot be stopped" in recorded["error"]
    assert 1000 <= recorded["duration_ms"] < 2000

    background = run(api, operation, {"seconds": 4}, background=True)
    assert background.status_code == 202, background.text
    assert wait_for_status(api, the_run_of(background), TERMINAL)["status"] == "timed_out"


def test_an_operation_within_its_timeout_succeeds(api: ApiServer) -> None:
    for operation in ("sleep_async", "sleep_sync"):
        response = run(api, operation, {"seconds": 0.1})
        assert response.status_code == 200, response.text
        assert task_run(api, response.headers["X-Task-Run-Id"])["status"] == "success"


@pytest.mark.parametrize(
    ("operation", "why"),
    [("unserialisable", "Unable to serialize unknown type"), ("unstorable", "8-byte ints")],
)
def test_an_output_that_cannot_be_stored_fails_the_run(
    api: ApiServer, operation: str, why: str
) -> None:
    response = run(api, operation, {})
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == "application/json"
    run_id = the_run_of(response)
    recorded = task_run(api, run_id)
    assert recorded["status"] == "failed", recorded
    assert recorded["output_dump"] is None
    assert f"the output of operation {operation!r} cannot be stored" in recorded["error"]
    assert why in recorded["error"]
    assert_still_serving(api)


# --------------------------------------------------------------------------- replicas


def test_a_run_of_a_killed_replica_is_marked_abandoned_by_a_survivor(
    project: Path, mongo_url: str
) -> None:
    from pymongo import MongoClient

    database = f"replicas_{uuid.uuid4().hex[:8]}"
    doomed = ApiServer(project, mongo_url, database).start()
    survivor = ApiServer(project, mongo_url, database).start()
    try:
        orphan = run(doomed, "work", {"seconds": 600}, background=True)
        assert orphan.status_code == 202, orphan.text
        # Longer than three leases: its heartbeat must keep the survivor's sweeper off it.
        kept = run(survivor, "work", {"seconds": 3.5 * LEASE_S}, background=True)
        assert kept.status_code == 202, kept.text
        orphan_id = the_run_of(orphan)
        leased = wait_for_status(survivor, orphan_id, {"running"})
        assert leased["lease_owner"] and leased["lease_expires_at"]
        assert leased["lease_owner"] != task_run(survivor, the_run_of(kept))["lease_owner"]

        doomed.kill()
        killed_at = time.monotonic()
        abandoned = wait_for_status(survivor, orphan_id, TERMINAL)
        detected_s = time.monotonic() - killed_at
        print(f"abandoned run detected {detected_s:.2f} s after SIGKILL (lease {LEASE_S} s)")

        assert abandoned["status"] == "abandoned"
        assert "stopped" in abandoned["error"] and abandoned["finished_at"]
        assert detected_s <= LEASE_S + SWEEP_INTERVAL_S + 1.0
        assert wait_for_status(survivor, the_run_of(kept), TERMINAL)["status"] == "success"
        assert_still_serving(survivor)
    finally:
        doomed.stop()
        survivor.stop()
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)
