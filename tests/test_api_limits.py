"""The generated API's HTTP surface against hostile input, a dead database and a second
process: body limits, the key before the body, read-only fields, writes that answer what
was stored, 503s, and two API processes on one database. Real uvicorn processes
(tests/api_server.py) on a real MongoDB server (tests/mongo_fixture.py).

The app under test is a one-model project written here: a `Ticket` with a unique `code`,
a read-only field without a default (`opened_by`, written once by the create), read-only
fields with defaults (`source`, `created_at`), a validator, a date-time and a list.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import select
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import ApiServer
from pymongo import MongoClient

from jobhunter_compiler.devserver.embedded_mongo import EmbeddedMongo
from jobhunter_compiler.pipeline import CompileResult, compile_project

TICKET_MODEL = '''"""Tickets (test fixture)."""

from datetime import datetime, timezone

from beanie import Document, Indexed
from pydantic import Field, field_validator

from jobhunter_compiler import datamodel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@datamodel(name="Ticket", ui={"readonly_fields": ["opened_by", "source", "created_at"]})
class Ticket(Document):
    code: Indexed(str, unique=True)
    title: str = ""
    opened_by: str
    source: str = "api"
    created_at: datetime = Field(default_factory=utcnow)
    due_at: datetime | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _no_tabs(cls, value: str) -> str:
        if "\\t" in value:
            raise ValueError("a title has no tabs")
        return value

    class Settings:
        name = "tickets"
'''
MAX_BODY_BYTES = 1_048_576  # the default
MAX_LIST_BYTES = 65_536  # the smallest allowed, so a few records fill it
API_KEY = "k3y-" + uuid.uuid4().hex + uuid.uuid4().hex
TICKETS = "/api/models/Ticket/"
JOBHUNTER = str(Path(sys.executable).parent / "jobhunter")


def write_tickets_project(folder: Path, config: str) -> CompileResult:
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "__init__.py").write_text("", encoding="utf-8")
    (folder / "models" / "ticket.py").write_text(TICKET_MODEL, encoding="utf-8")
    (folder / "pyproject.toml").write_text('[project]\nname = "tickets"\n', encoding="utf-8")
    (folder / ".jobhunter.yml").write_text(config, encoding="utf-8")
    return compile_project(folder, mode="write")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CompileResult]:
    folder = tmp_path_factory.mktemp("limits") / "tickets"
    result = write_tickets_project(folder, f"api:\n  max_list_bytes: {MAX_LIST_BYTES}\n")
    assert result.ok, result.diagnostics
    return folder, result


@pytest.fixture(scope="module")
def tickets(compiled: tuple[Path, CompileResult]) -> Path:
    return compiled[0]


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("limits") / "keyed"
    assert write_tickets_project(folder, "api:\n  auth: api_key\n").ok
    return folder


@pytest.fixture(scope="module")
def database(mongo_url: str) -> Iterator[str]:
    name = f"limits_{uuid.uuid4().hex[:8]}"
    yield name
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture(scope="module")
def api(tickets: Path, mongo_url: str, database: str) -> Iterator[ApiServer]:
    with ApiServer(tickets, mongo_url, database) as server:
        yield server


@pytest.fixture(scope="module")
def keyed_api(keyed: Path, mongo_url: str, database: str) -> Iterator[ApiServer]:
    with ApiServer(keyed, mongo_url, database, env={"JOBHUNTER_API_KEY": API_KEY}) as server:
        yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


def new_ticket(**fields: Any) -> dict[str, Any]:
    return {"code": uuid.uuid4().hex, "opened_by": "ann", **fields}


def peak_memory_mib(server: ApiServer) -> float:
    with open(f"/proc/{server.pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def raw_post(
    url: str, path: str, head: dict[str, str], pieces: Iterable[bytes]
) -> tuple[int, int, float]:
    """POST the body `pieces` with the given headers over a plain socket, sending until
    the server answers (as curl does with `Expect: 100-continue`): (status, body bytes
    sent before the answer came, seconds to the answer)."""
    host, port = url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in head.items())]
    started = time.monotonic()
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        for piece in pieces:
            if select.select([connection], [], [], 0)[0]:
                break
            try:
                connection.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(65536)
            assert chunk, f"no answer after {sent} bytes"
            answer += chunk
    return int(answer.split(b" ", 2)[1]), sent, time.monotonic() - started


def padded_body(size: int) -> Iterator[bytes]:
    """A valid ticket of exactly `size` bytes of JSON, in 64 KiB pieces."""
    head = json.dumps(new_ticket())[:-1].encode() + b', "title": "'
    tail = b'"}'
    padding = size - len(head) - len(tail)
    yield head
    while padding > 0:
        yield b"x" * min(padding, 65536)
        padding -= 65536
    yield tail


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


JSON_HEAD = {"Content-Type": "application/json"}
UNREAD = 16 * 2**20
"""Less than what a client sends before an answer that read none of it (or only the
limit): the rest of the bytes sent sit in loopback socket buffers (~6 MB here)."""


# --------------------------------------------------------------------------- body size


def test_a_body_declared_too_large_is_refused_before_any_of_it_is_sent(api: ApiServer) -> None:
    head = {**JSON_HEAD, "Content-Length": str(100 * 2**20)}
    status, sent, seconds = raw_post(api.url, TICKETS, head, padded_body(100 * 2**20))
    assert status == 413
    assert sent < UNREAD and seconds < 5, (sent, seconds)


def test_a_chunked_body_is_refused_once_it_passes_the_limit(api: ApiServer) -> None:
    head = {**JSON_HEAD, "Transfer-Encoding": "chunked"}
    status, sent, _ = raw_post(api.url, TICKETS, head, chunked(padded_body(64 * 2**20)))
    assert status == 413
    assert sent < UNREAD, sent


def test_a_body_at_the_limit_is_read(api: ApiServer) -> None:
    body = b"".join(padded_body(MAX_BODY_BYTES))
    assert httpx.post(f"{api.url}{TICKETS}", content=body, headers=JSON_HEAD).status_code == 201
    over = body[:-2] + b'x"}'
    response = httpx.post(f"{api.url}{TICKETS}", content=over, headers=JSON_HEAD)
    assert response.status_code == 413
    assert str(MAX_BODY_BYTES) in response.json()["detail"]


def test_an_error_never_echoes_a_large_input(client: httpx.Client) -> None:
    # pydantic's error about the body, and the model's own validator (run by the records).
    for body in (new_ticket(tags="x" * 900_000), new_ticket(title="\t" + "x" * 900_000)):
        response = client.post(TICKETS, json=body)
        assert response.status_code == 422, response.text[:300]
        assert len(response.content) < 1024, len(response.content)
        [error] = response.json()["detail"]
        assert error["input"].startswith("x" * 100) or error["input"].startswith("\tx")
        assert error["input"].endswith("…")


def test_an_error_lists_a_bounded_number_of_errors(client: httpx.Client) -> None:
    response = client.post(TICKETS, json=new_ticket(tags=[1] * 100_000))
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert len(errors) == 21 and errors[-1]["msg"] == "and 99980 more"
    assert len(response.content) < 8192, len(response.content)


def test_a_list_answer_stays_within_max_list_bytes(
    client: httpx.Client, mongo_url: str, database: str
) -> None:
    """Records written by other means than the API can be large: the page keeps them all,
    shortened, and says which; a small record of the same page stays whole."""
    title = f"big {uuid.uuid4().hex}"
    small = client.post(TICKETS, json=new_ticket(title=title, tags=["a"])).json()
    large_tags = [f"{i:04d}" + "y" * 996 for i in range(200)]  # 200 KB each
    with MongoClient(mongo_url) as mongo:
        inserted = mongo[database]["tickets"].insert_many(
            [{**new_ticket(title=title, tags=large_tags), "source": "api"} for _ in range(4)]
        )
    large_ids = [str(i) for i in inserted.inserted_ids]
    response = client.get(TICKETS, params={"title": title, "_sort": "id"})
    assert response.status_code == 200
    assert len(response.content) <= MAX_LIST_BYTES, len(response.content)
    assert response.headers["X-Total-Count"] == "5"
    assert response.headers["X-Shortened-Ids"].split(",") == large_ids
    records = {record["id"]: record for record in response.json()}
    assert records[small["id"]] == client.get(f"{TICKETS}{small['id']}").json()
    for large_id in large_ids:
        shortened = records[large_id]["tags"]
        assert 0 < len(shortened) < len(large_tags)
        assert shortened[:-1] == large_tags[: len(shortened) - 1]
        assert client.get(f"{TICKETS}{large_id}").json()["tags"] == large_tags


# --------------------------------------------------------------------------- API key


def test_without_the_key_the_body_is_never_read(keyed_api: ApiServer) -> None:
    url = f"{keyed_api.url}{TICKETS}"
    bad_json = {"content": b"{not json", "headers": JSON_HEAD}
    assert httpx.post(url, **bad_json).status_code == 401
    with_key = {**bad_json["headers"], "Authorization": f"Bearer {API_KEY}"}
    assert httpx.post(url, content=b"{not json", headers=with_key).status_code == 422
    before = peak_memory_mib(keyed_api)
    head = {**JSON_HEAD, "Content-Length": str(100 * 2**20)}
    status, sent, _ = raw_post(keyed_api.url, TICKETS, head, padded_body(100 * 2**20))
    assert status == 401
    assert sent < UNREAD, sent
    assert peak_memory_mib(keyed_api) - before < 16


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", "is empty"),
        ("change-me", "is the placeholder 'change-me'"),
        ("short-but-still-not-enough-31ch", "has 31 characters, fewer than 32"),
    ],
    ids=["empty", "placeholder", "short"],
)
def test_an_unsafe_key_stops_the_start_with_a_message(
    keyed: Path, mongo_url: str, key: str, problem: str
) -> None:
    server = ApiServer(keyed, mongo_url, "never_used", env={"JOBHUNTER_API_KEY": key})
    try:
        with pytest.raises(RuntimeError, match="exited at start"):
            server.start()
        log = server.log()
        assert server.exit_code == 1
        assert f"$JOBHUNTER_API_KEY {problem}" in log and "token_urlsafe" in log, log
        assert "Traceback" not in log
        if len(key) > len("change-me"):
            assert key not in log
    finally:
        server.stop()


def test_the_env_example_says_how_to_make_a_key(keyed: Path) -> None:
    text = (keyed / ".run_cache" / ".env.example").read_text(encoding="utf-8")
    assert "\nJOBHUNTER_API_KEY=\n" in text
    assert "secrets.token_urlsafe(32)" in text and "change-me" not in text


# --------------------------------------------------------------------------- read-only


def _refused_fields(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["loc"][-1] for e in response.json()["detail"] if e["type"] == "read_only"]


def test_read_only_fields_are_refused_by_the_api(client: httpx.Client) -> None:
    forged = new_ticket(source="forged", created_at="2000-01-01T00:00:00Z")
    assert _refused_fields(client.post(TICKETS, json=forged)) == ["source", "created_at"]
    created = client.post(TICKETS, json=new_ticket(title="first"))
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert (ticket["opened_by"], ticket["source"]) == ("ann", "api")
    path = f"{TICKETS}{ticket['id']}"
    stored = client.get(path).json()
    assert _refused_fields(client.patch(path, json={"opened_by": "eve"})) == ["opened_by"]
    assert _refused_fields(client.patch(path, json={"source": "x"})) == ["source"]
    replacement = {"code": ticket["code"], "title": "second"}
    assert _refused_fields(client.put(path, json={**replacement, "opened_by": "eve"})) == [
        "opened_by"
    ]
    replaced = client.put(path, json=replacement)
    assert replaced.status_code == 200, replaced.text
    kept = ("opened_by", "source", "created_at")
    assert {k: replaced.json()[k] for k in kept} == {k: stored[k] for k in kept}
    assert client.get(path).json() == replaced.json()


def test_read_only_fields_are_refused_by_the_cli(
    tickets: Path, mongo_url: str, database: str
) -> None:
    env = {**os.environ, "MONGODB_URL": mongo_url, "MONGODB_DB": database, "COLUMNS": "200"}

    def models(*args: str) -> subprocess.CompletedProcess[str]:
        command = [JOBHUNTER, "models", *args]
        return subprocess.run(command, cwd=tickets, env=env, capture_output=True, text=True)

    code = uuid.uuid4().hex
    forged = models("create", "Ticket", "--code", code, "--opened-by", "ann", "--source", "x")
    assert forged.returncode == 2 and "No such option: --source" in forged.stderr
    forged = models(
        "create", "Ticket", "--code", code, "--opened-by", "ann", "--json", '{"source": "x"}'
    )
    assert forged.returncode == 2 and "source: this field is read-only" in forged.stderr
    created = models("create", "Ticket", "--code", code, "--opened-by", "ann")
    assert created.returncode == 0, created.stderr
    ticket = json.loads(created.stdout)
    changed = models("update", "Ticket", ticket["id"], "--opened-by", "eve")
    assert changed.returncode == 2 and "this field is read-only" in changed.stderr
    assert "Traceback" not in forged.stderr + changed.stderr


def test_a_read_only_field_without_a_default_is_a_warning(
    compiled: tuple[Path, CompileResult],
) -> None:
    [warning] = [d for d in compiled[1].diagnostics if d.code == "JH211"]
    assert warning.severity == "warning" and "'opened_by'" in warning.message
    assert (warning.path, warning.line) == ("models/ticket.py", 15)


# --------------------------------------------------------------------------- what is stored


def test_every_write_answers_what_a_read_returns(client: httpx.Client) -> None:
    """MongoDB keeps date-times in UTC to the millisecond; the answers must say so too."""
    due = "2024-05-01T10:00:00.123456+02:00"
    created = client.post(TICKETS, json=new_ticket(due_at=due)).json()
    path = f"{TICKETS}{created['id']}"
    assert created["due_at"] == "2024-05-01T08:00:00.123000Z"
    assert created == client.get(path).json()
    patched = client.patch(path, json={"due_at": "2025-01-01T00:00:00.999999Z"}).json()
    assert patched == client.get(path).json()
    replaced = client.put(path, json={"code": created["code"], "due_at": due}).json()
    assert replaced == client.get(path).json()


# --------------------------------------------------------------------------- database down


def test_an_unreachable_database_is_a_503_within_seconds(tickets: Path) -> None:
    mongo = EmbeddedMongo().start()
    try:
        with (
            ApiServer(tickets, mongo.url, "unreachable") as server,
            httpx.Client(base_url=server.url, timeout=60) as client,
        ):
            ticket = client.post(TICKETS, json=new_ticket()).json()
            mongo.stop()
            for method, path, body in (
                ("POST", TICKETS, new_ticket()),
                ("GET", TICKETS, None),
                ("GET", f"{TICKETS}{ticket['id']}", None),
                ("PATCH", f"{TICKETS}{ticket['id']}", {"title": "t"}),
            ):
                started = time.monotonic()
                response = client.request(method, path, json=body)
                seconds = time.monotonic() - started
                assert response.status_code == 503, (method, path, response.text)
                assert response.headers["content-type"] == "application/json"
                assert int(response.headers["Retry-After"]) > 0
                assert "unreachable" in response.json()["detail"]
                assert seconds < 6, (method, path, seconds)
    finally:
        mongo.stop()


# --------------------------------------------------------------------------- two processes


def test_replicas_start_together_and_a_unique_value_is_taken_once(
    tickets: Path, mongo_url: str
) -> None:
    """Three processes start on a fresh database at once (each creates the indexes), then
    20 concurrent creates of one unique code, spread over them: one 201, nineteen 409s."""
    database = f"replicas_{uuid.uuid4().hex[:8]}"
    servers = [ApiServer(tickets, mongo_url, database) for _ in range(3)]
    try:
        with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(ApiServer.start, servers))
        body = new_ticket()

        def create(i: int) -> int:
            url = f"{servers[i % len(servers)].url}{TICKETS}"
            return httpx.post(url, json=body, timeout=60).status_code

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            statuses = Counter(pool.map(create, range(20)))
        assert statuses == {201: 1, 409: 19}, statuses
    finally:
        for server in servers:
            server.stop()
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as mongo:
            mongo.drop_database(database)
