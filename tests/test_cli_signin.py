"""The generated CLI of an `api.auth: users` app signs in and works through the API: `python
-m cli login` stores a token only its owner can read, the data commands send it and the
server allows or refuses them by the same permissions as for any client; 401 and 403 are
one line and exit 1, an unreachable API too; `logout` ends the session and deletes the
file. The operator commands (`users`) keep working on the database directly.

Real parts: the project of tests/test_auth_matrix.py compiled with `auth: users`, its
generated API under uvicorn against nx-27017, and the CLI as a subprocess from the output
folder, as users run it. The data commands get a MongoDB URL that answers nothing, so a
command that passes can only have gone through the API.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from api_server import ApiServer, with_source_roots
from pymongo import MongoClient
from test_auth_matrix import SECRET, write_notes_project

from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.pipeline import compile_project
from jobhunter_runtime.api_client import CONNECT_TIMEOUT_S

PASSWORD = "a long enough test password"
PEOPLE = {"editor": "editor", "viewer": "viewer", "leaver": "editor"}
"""Who signs in: an editor, a viewer, and an editor whose sign-out ends their sessions."""
TIMEOUT_S = 60
MAX_LIST_BYTES = 65_536
NO_MONGODB = "mongodb://127.0.0.1:9"
"""Where the data commands would find MongoDB: nowhere."""
PROGRESS_OPERATIONS = '''"""Operations that report their progress (test fixture)."""

import asyncio

from pydantic import BaseModel

from jobhunter_compiler import OperationError, operation, report_progress


class Steps(BaseModel):
    steps: int = 3
    pause_s: float = 0.6


@operation(name="count_up", roles=["editor"])
async def count_up(data: Steps) -> Steps:
    for step in range(1, data.steps + 1):
        await asyncio.sleep(data.pause_s)
        report_progress(step / data.steps, f"step {step} of {data.steps}")
    return data


@operation(name="give_up", roles=["editor"])
async def give_up() -> None:
    report_progress(0.5, "half way")
    raise OperationError("not today")


@operation(name="unrecorded", roles=["editor"], async_enabled=False)
async def unrecorded(data: Steps) -> Steps:
    return data
'''


@dataclass
class SignedInCli:
    project: Path
    api_url: str
    mongo_url: str
    database: str

    def run(
        self, *args: str, config: Path, password: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """`python -m cli ARGS...` from the output folder, with `config` as the user's
        config folder and no MongoDB."""
        env = with_source_roots(self.project)
        for name in ("JOBHUNTER_TOKEN", "JOBHUNTER_API_URL", "JOBHUNTER_PASSWORD"):
            env.pop(name, None)
        env.update(
            {
                "XDG_CONFIG_HOME": str(config),
                "MONGODB_URL": NO_MONGODB,
                "COLUMNS": "200",
                "PYTHONDONTWRITEBYTECODE": "1",
                **extra,
            }
        )
        if password is not None:
            env["JOBHUNTER_PASSWORD"] = password
        return subprocess.run(
            [sys.executable, "-m", "cli", *args],
            cwd=self.project / ".run_cache",
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    def login(self, person: str, config: Path) -> str:
        """Sign `person` in with `config` as their config folder; their token."""
        result = self.run(
            "login",
            "--email",
            f"{person}@example.org",
            "--api-url",
            self.api_url,
            config=config,
            password=PASSWORD,
        )
        assert result.returncode == 0, result.stderr
        return str(json.loads(session_file(config).read_text())["token"])


def session_file(config: Path) -> Path:
    return config / "notes" / "session.json"


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[SignedInCli]:
    folder = tmp_path_factory.mktemp("signin") / "notes"
    write_notes_project(folder, f"api:\n  auth: users\n  max_list_bytes: {MAX_LIST_BYTES}\n")
    (folder / "operations" / "progress.py").write_text(PROGRESS_OPERATIONS, encoding="utf-8")
    assert compile_project(folder, mode="write").ok
    database = f"signin_{uuid.uuid4().hex[:8]}"
    setup = SignedInCli(folder, "", mongo_url, database)
    config = tmp_path_factory.mktemp("operator")
    for person, role in PEOPLE.items():
        created = setup.run(
            "users",
            "create",
            f"{person}@example.org",
            "--role",
            role,
            config=config,
            password=PASSWORD,
            MONGODB_URL=mongo_url,
            MONGODB_DB=database,
        )
        assert created.returncode == 0, created.stderr
    try:
        with ApiServer(folder, mongo_url, database, env={"JOBHUNTER_SECRET_KEY": SECRET}) as api:
            setup.api_url = api.url
            yield setup
    finally:
        with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
            client.drop_database(database)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command, which must show no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def no_secrets(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    for secret in (PASSWORD, *secrets):
        assert secret not in result.stdout + result.stderr


# --------------------------------------------------------------------------- sign-in


def test_login_stores_the_token_for_its_owner_only(cli: SignedInCli, tmp_path: Path) -> None:
    result = cli.run(
        "login",
        "--email",
        "editor@example.org",
        "--api-url",
        cli.api_url,
        config=tmp_path,
        password=PASSWORD,
    )
    assert result.returncode == 0, result.stderr
    stored = session_file(tmp_path)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    data = json.loads(stored.read_text())
    assert data["api_url"] == cli.api_url
    claims = jwt.decode(data["token"], SECRET, algorithms=["HS256"])
    assert claims["sub"]
    assert f"signed in to {cli.api_url} as editor@example.org" in result.stdout
    no_secrets(result, data["token"])
    assert [path.name for path in stored.parent.iterdir()] == ["session.json"]


def test_login_with_a_wrong_password_stores_nothing(cli: SignedInCli, tmp_path: Path) -> None:
    result = cli.run(
        "login",
        "-e",
        "viewer@example.org",
        "--api-url",
        cli.api_url,
        config=tmp_path,
        password="not the password at all",
    )
    assert one_line(result) == "error: wrong email or password"
    assert "not the password at all" not in result.stdout + result.stderr
    assert not session_file(tmp_path).exists()


def test_the_password_is_asked_hidden_when_not_in_the_environment(
    cli: SignedInCli, tmp_path: Path
) -> None:
    env = {**with_source_roots(cli.project), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("JOBHUNTER_PASSWORD", None)
    result = subprocess.run(
        [sys.executable, "-m", "cli", "login", "--api-url", cli.api_url],
        cwd=cli.project / ".run_cache",
        env=env,
        input=f"viewer@example.org\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr
    assert "Email:" in result.stdout and "Password:" in result.stdout
    no_secrets(result)
    assert session_file(tmp_path).is_file()


# --------------------------------------------------------------------------- data commands


def test_an_editor_lists_and_creates_through_the_api(cli: SignedInCli, tmp_path: Path) -> None:
    token = cli.login("editor", tmp_path)
    created = cli.run("models", "create", "Note", "--title", "from the cli", config=tmp_path)
    assert created.returncode == 0, created.stderr
    note = json.loads(created.stdout)
    assert note["title"] == "from the cli"
    listed = cli.run("models", "list", "Note", "--json", config=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert note in json.loads(listed.stdout)
    table = cli.run("models", "list", "Note", "--filter", "title=from the cli", config=tmp_path)
    assert table.returncode == 0, table.stderr
    assert note["id"] in table.stdout and "Note: 1-1 of 1" in table.stderr
    shown = cli.run("models", "get", "Note", note["id"], "--json", config=tmp_path)
    assert json.loads(shown.stdout) == note
    changed = cli.run("models", "update", "Note", note["id"], "--title", "changed", config=tmp_path)
    assert json.loads(changed.stdout)["title"] == "changed"
    for result in (created, listed, table, shown, changed):
        no_secrets(result, token)


def test_a_list_says_when_the_api_cut_records(cli: SignedInCli, tmp_path: Path) -> None:
    cli.login("editor", tmp_path)
    big = cli.run("models", "create", "Note", "--title", "x" * MAX_LIST_BYTES, config=tmp_path)
    assert big.returncode == 0, big.stderr
    big_id = json.loads(big.stdout)["id"]
    listed = cli.run("models", "list", "Note", "--json", "--limit", "100", config=tmp_path)
    assert listed.returncode == 0, listed.stderr
    cut = next(note for note in json.loads(listed.stdout) if note["id"] == big_id)
    assert len(cut["title"]) < MAX_LIST_BYTES
    assert "1 record cut to fit the API's answer; `models get Note ID` shows one in full" in (
        listed.stderr
    )
    whole = cli.run("models", "get", "Note", big_id, "--json", config=tmp_path)
    assert json.loads(whole.stdout)["title"] == "x" * MAX_LIST_BYTES


def test_usage_errors_read_as_in_direct_mode(cli: SignedInCli, tmp_path: Path) -> None:
    """The server's 422 names the options the CLI's own validation would (exit 2)."""
    cli.login("editor", tmp_path)
    missing = cli.run("models", "create", "Note", config=tmp_path)
    assert missing.returncode == 2
    assert "'--title': a value is required" in missing.stderr
    wrong_type = cli.run("models", "create", "Note", "--json", '{"title": [1]}', config=tmp_path)
    assert wrong_type.returncode == 2 and "'--title': Input should be a valid" in wrong_type.stderr
    bad_id = cli.run("models", "get", "Note", "not-an-id", config=tmp_path)
    assert bad_id.returncode == 2 and "not a valid Note id" in bad_id.stderr
    absent = cli.run("models", "get", "Note", "0" * 24, config=tmp_path)
    assert one_line(absent) == f"error: Note {'0' * 24} not found"
    bad_filter = cli.run("models", "list", "Note", "--filter", "nothing=1", config=tmp_path)
    assert bad_filter.returncode == 2 and "nothing" in bad_filter.stderr


def test_a_viewer_may_read_but_not_create(cli: SignedInCli, tmp_path: Path) -> None:
    cli.login("viewer", tmp_path)
    assert cli.run("models", "list", "Note", config=tmp_path).returncode == 0
    refused = cli.run("models", "create", "Note", "--title", "no", config=tmp_path)
    assert (
        one_line(refused) == "error: you may not create Note: "
        "your roles do not allow this (it takes one of: admin, editor)"
    )
    assert refused.stdout == ""


def test_operations_run_through_the_api_as_the_user(cli: SignedInCli, tmp_path: Path) -> None:
    token = cli.login("editor", tmp_path)
    echoed = cli.run("ops", "echo", "--text", "hello", config=tmp_path)
    assert echoed.returncode == 0, echoed.stderr
    assert json.loads(echoed.stdout) == {"text": "hello"}
    run_id = echoed.stderr.strip().removeprefix("TaskRun ")
    run = httpx.get(
        f"{cli.api_url}/api/taskruns/{run_id}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert run["actor"]["email"] == "editor@example.org" and run["actor"]["channel"] == "api"
    refused = cli.run("ops", "tidy", config=tmp_path)
    assert (
        one_line(refused)
        == "error: you may not run tidy: your roles do not allow this (it takes one of: admin)"
    )


def test_an_operation_through_the_api_shows_its_progress_then_its_output(
    cli: SignedInCli, tmp_path: Path
) -> None:
    cli.login("editor", tmp_path)
    # As on a terminal, where the bar is redrawn as the run goes.
    counted = cli.run(
        "ops", "count_up", "--steps", "3", "--pause-s", "1.2", config=tmp_path, TTY_COMPATIBLE="1"
    )
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout) == {"steps": 3, "pause_s": 1.2}
    # The steps before the last went by as the run went (at least one of them, on a
    # machine slow enough for a stream check to miss the other), then the last one.
    assert "step 1 of 3" in counted.stderr or "step 2 of 3" in counted.stderr, counted.stderr
    assert "step 3 of 3" in counted.stderr and "100%" in counted.stderr, counted.stderr
    assert "TaskRun " in counted.stderr.strip().splitlines()[-1], counted.stderr
    failed = cli.run("ops", "give_up", config=tmp_path)
    assert "half way" in failed.stderr and "50%" in failed.stderr, failed.stderr
    last = failed.stderr.strip().splitlines()[-1]
    assert failed.returncode == 1 and last.startswith(
        "error: give_up failed: OperationError: not today (TaskRun "
    ), failed.stderr
    # No TaskRun to follow: the command waits for the answer.
    awaited = cli.run("ops", "unrecorded", "--steps", "2", config=tmp_path)
    assert awaited.returncode == 0, awaited.stderr
    assert json.loads(awaited.stdout) == {"steps": 2, "pause_s": 0.6}
    assert awaited.stderr == ""


@pytest.mark.parametrize("kind", ["tampered", "expired", "garbled", "absent"])
def test_a_bad_or_missing_session_is_one_line(cli: SignedInCli, tmp_path: Path, kind: str) -> None:
    extra: dict[str, str] = {"JOBHUNTER_API_URL": cli.api_url}
    if kind == "tampered":
        token = cli.login("editor", tmp_path)
        session_file(tmp_path).unlink()
        extra["JOBHUNTER_TOKEN"] = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    elif kind == "expired":
        past = datetime.now(UTC) - timedelta(hours=2)
        claims = {"sub": "0" * 24, "ver": 0, "iat": past, "exp": past + timedelta(minutes=30)}
        extra["JOBHUNTER_TOKEN"] = jwt.encode(claims, SECRET, algorithm="HS256")
    elif kind == "garbled":
        cli.login("editor", tmp_path)
        session_file(tmp_path).write_text("{not json", encoding="utf-8")
    result = cli.run("models", "list", "Note", config=tmp_path, **extra)
    assert one_line(result) == (
        f"error: not signed in to {cli.api_url}, or the session expired: run "
        "`python -m cli login`"
    )
    no_secrets(result, extra.get("JOBHUNTER_TOKEN", PASSWORD))


def test_the_token_variable_overrides_the_stored_sign_in(cli: SignedInCli, tmp_path: Path) -> None:
    editor = cli.login("editor", tmp_path / "editor")
    cli.login("viewer", tmp_path)
    as_viewer = cli.run("models", "create", "Note", "--title", "x", config=tmp_path)
    assert "you may not create Note" in one_line(as_viewer)
    as_editor = cli.run(
        "models", "create", "Note", "--title", "x", config=tmp_path, JOBHUNTER_TOKEN=editor
    )
    assert as_editor.returncode == 0, as_editor.stderr


def test_the_stored_token_goes_only_to_the_api_it_came_from(
    cli: SignedInCli, tmp_path: Path
) -> None:
    cli.login("editor", tmp_path)
    elsewhere = f"http://127.0.0.1:{free_port()}"
    result = cli.run("models", "list", "Note", config=tmp_path, JOBHUNTER_API_URL=elsewhere)
    assert "not signed in to " + elsewhere in one_line(result)


def test_logout_ends_the_session_and_deletes_the_file(cli: SignedInCli, tmp_path: Path) -> None:
    token = cli.login("leaver", tmp_path)
    result = cli.run("logout", config=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "signed out"
    assert not session_file(tmp_path).exists()
    after = cli.run(
        "models",
        "list",
        "Note",
        config=tmp_path,
        JOBHUNTER_TOKEN=token,
        JOBHUNTER_API_URL=cli.api_url,
    )
    assert "the session expired" in one_line(after), "the server ended the session too"
    again = cli.run("logout", config=tmp_path)
    assert again.returncode == 0 and again.stdout.strip() == "not signed in"


def test_an_unreachable_api_is_one_line_within_seconds(tmp_path: Path, cli: SignedInCli) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = cli.run(
        "models", "list", "Note", config=tmp_path, JOBHUNTER_API_URL=nowhere, JOBHUNTER_TOKEN="t"
    )
    assert time.monotonic() - started < CONNECT_TIMEOUT_S + 10  # Python's start-up, loaded
    assert one_line(result).startswith(f"error: cannot reach the API at {nowhere} (ConnectError)")
    login = cli.run(
        "login", "-e", "a@example.org", "--api-url", nowhere, config=tmp_path, password="p"
    )
    assert f"cannot reach the API at {nowhere}" in one_line(login)
    cli.login("editor", tmp_path)
    logout = cli.run("logout", config=tmp_path, JOBHUNTER_API_URL=nowhere, JOBHUNTER_TOKEN="t")
    assert f"cannot reach the API at {nowhere}" in one_line(logout)
    assert not session_file(tmp_path).exists(), "forgotten here even so"


def test_jobhunter_signs_in_inside_the_project(cli: SignedInCli, tmp_path: Path) -> None:
    """`jobhunter login` and `jobhunter models` in the project are the same commands."""

    def jobhunter(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "MONGODB_URL": NO_MONGODB}
        env.pop("JOBHUNTER_TOKEN", None)
        return subprocess.run(
            [str(Path(sys.executable).parent / "jobhunter"), *args],
            cwd=cli.project,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    before = jobhunter("models", "list", "Note", JOBHUNTER_API_URL=cli.api_url)
    assert one_line(before).endswith("run `jobhunter login`")
    signed_in = jobhunter(
        "login", "-e", "viewer@example.org", "--api-url", cli.api_url, JOBHUNTER_PASSWORD=PASSWORD
    )
    assert signed_in.returncode == 0, signed_in.stderr
    listed = jobhunter("models", "list", "Note", "--json")
    assert listed.returncode == 0, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)


# --------------------------------------------------------------------------- help and modes


def test_help_says_the_commands_go_through_the_api(cli: SignedInCli, tmp_path: Path) -> None:
    result = cli.run("--help", config=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "through its API (sign in with `login`)" in result.stdout
    for command in ("login", "logout", "users", "models", "ops"):
        assert command in result.stdout


def test_operator_commands_stay_on_the_database(cli: SignedInCli, tmp_path: Path) -> None:
    """`users` works with no API and no sign-in, on MongoDB."""
    listed = cli.run(
        "users",
        "list",
        "--json",
        config=tmp_path,
        MONGODB_URL=cli.mongo_url,
        MONGODB_DB=cli.database,
        JOBHUNTER_API_URL=f"http://127.0.0.1:{free_port()}",
    )
    assert listed.returncode == 0, listed.stderr
    assert {user["email"] for user in json.loads(listed.stdout)} >= {
        f"{person}@example.org" for person in PEOPLE
    }
