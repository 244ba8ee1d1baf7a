"""The generated CLI of an `api.auth: users` app as a client of the app's HTTP API: `login`
and `logout`, the stored sign-in, and the records and runs of the data commands, which
the server allows or refuses exactly as it does for the admin and any other client.

`login` keeps `{api_url, token}` in a file only its owner may read (0600, in a 0700
folder under the user's config folder); $JOBHUNTER_TOKEN and $JOBHUNTER_API_URL override
it. The token is sent to the API it was issued by, never to another one, and is never
printed. httpx is imported only when a command runs, so `--help` stays quick.
"""

# No `from __future__ import annotations`: Typer reads the options' annotations at run time,
# and the help of `login --api-url` names the default URL of its own `Api`.
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import quote

import typer

from .cli import (
    FoundRecords,
    GivenBody,
    ModelCommands,
    OperationCommand,
    RunOutput,
    fail,
    invalid_id,
    progress_bar,
    stdout,
)

if TYPE_CHECKING:
    import httpx

TOKEN_ENV = "JOBHUNTER_TOKEN"
API_URL_ENV = "JOBHUNTER_API_URL"
PASSWORD_ENV = "JOBHUNTER_PASSWORD"
SESSION_FILE = "session.json"
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
"""How long a records call may take; an operation's run is bounded by its own timeout_s
on the server, so its answer is awaited without a limit."""
FOLLOW_TIMEOUT_S = 60.0
"""How long a run's event stream may stay silent: the API sends a heartbeat every 10 s."""
TASK_RUN_HEADER = "X-Task-Run-Id"
TOTAL_COUNT_HEADER = "X-Total-Count"
SHORTENED_HEADER = "X-Shortened-Ids"


@dataclass(frozen=True)
class SignIn:
    """Where the commands send their requests, and the token they send."""

    api_url: str
    token: str | None


@dataclass(frozen=True)
class Api:
    """The app's API as the generated CLI reaches it: `app_name` names the config folder
    (`typer.get_app_dir`) holding the sign-in; `default_url` is where `jobhunter run` and
    docker compose serve the API."""

    app_name: str
    default_url: str

    def records(self) -> "ApiRecords":
        return ApiRecords(self.sign_in())

    @property
    def session_path(self) -> Path:
        return Path(typer.get_app_dir(self.app_name)) / SESSION_FILE

    def stored(self) -> SignIn | None:
        """The sign-in `login` stored; None without one (a file that cannot be read as one
        is none either: `login` replaces it)."""
        try:
            data = json.loads(self.session_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(key), str) for key in ("api_url", "token")
        ):
            return None
        return SignIn(data["api_url"], data["token"])

    def sign_in(self) -> SignIn:
        """The API to call and the token to send: $JOBHUNTER_API_URL and $JOBHUNTER_TOKEN
        when set, else what `login` stored. The stored token goes only to the API that
        issued it."""
        stored = self.stored()
        url = os.environ.get(API_URL_ENV) or (stored.api_url if stored else self.default_url)
        url = url.rstrip("/")
        token = os.environ.get(TOKEN_ENV)
        if not token and stored is not None and stored.api_url.rstrip("/") == url:
            token = stored.token
        return SignIn(url, token or None)

    def store(self, sign_in: SignIn) -> None:
        """Write the sign-in for its owner's eyes only, replacing the file in one step so
        no reader ever sees half of it."""
        path = self.session_path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = json.dumps({"api_url": sign_in.api_url, "token": sign_in.token})
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session-")  # 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------- login


def sign_in_commands(api: Api) -> tuple[Any, Any]:
    """The `login` and `logout` commands of a generated CLI."""
    app = typer.Typer(add_completion=False)

    @app.command("login")
    def login(
        email: Annotated[
            str,
            typer.Option("--email", "-e", prompt=True, help="Your email (asked when not given)."),
        ],
        api_url: Annotated[
            str | None,
            typer.Option(
                "--api-url",
                metavar="URL",
                help=f"The app's API (default: ${API_URL_ENV}, the last one signed in to, "
                f"else {api.default_url}).",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Sign in to the app's API; the data commands then act as you. The password comes
        from $JOBHUNTER_PASSWORD, else a hidden prompt."""
        url = (api_url or api.sign_in().api_url).rstrip("/")
        password = os.environ.get(PASSWORD_ENV) or typer.prompt("Password", hide_input=True)
        with _client(url, None) as client:
            answer = _sent(
                client, "POST", "/api/auth/login", data={"username": email, "password": password}
            )
        if answer.status_code == 401:
            fail("wrong email or password")
        if answer.status_code == 429:
            wait = answer.headers.get("Retry-After")
            fail(f"too many failed sign-ins; try again in {wait} s" if wait else _detail(answer))
        data = _json(answer, "sign-in") if answer.is_success else None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            _unexpected(answer, "sign-in")
        api.store(SignIn(url, token))
        stdout.print(f"signed in to {url} as {email}")

    @app.command("logout")
    def logout() -> None:
        """Sign out: every token of yours stops working, and the stored one is deleted."""
        current = api.sign_in()
        stored = api.session_path.is_file()
        try:
            if current.token is not None:
                with _client(current.api_url, current.token) as client:
                    answer = _sent(client, "POST", "/api/auth/logout")
                # 401: the session had ended already, which is what signing out asks for.
                if not answer.is_success and answer.status_code != 401:
                    _unexpected(answer, "sign-out")
        finally:  # forgotten here even when the API could not be told
            api.session_path.unlink(missing_ok=True)
        stdout.print("signed out" if current.token is not None or stored else "not signed in")

    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    return commands["login"], commands["logout"]


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class ApiRecords:
    """Records and runs through the app's API, as the signed-in user."""

    sign_in: SignIn

    def find_records(
        self, commands: ModelCommands, params: list[tuple[str, str]], limit: int
    ) -> FoundRecords:
        answer = self._call("GET", _model_path(commands), f"read {commands.name}", params=params)
        if answer.status_code == 400:
            raise typer.BadParameter(_detail(answer))
        records = self._checked(answer, commands)
        total = answer.headers.get(TOTAL_COUNT_HEADER, "")
        shortened = answer.headers.get(SHORTENED_HEADER, "")
        return FoundRecords(
            int(total) if total.isdigit() else len(records),
            records,
            tuple(filter(None, shortened.split(","))),
        )

    def read_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        path = _model_path(commands, id_text)
        return self._checked(self._call("GET", path, f"read {commands.name}"), commands)

    def create_record(self, commands: ModelCommands, body: GivenBody) -> dict[str, Any]:
        answer = self._call("POST", _model_path(commands), f"create {commands.name}", body.data)
        return self._checked(answer, commands, body)

    def patch_record(
        self, commands: ModelCommands, id_text: str, body: GivenBody
    ) -> dict[str, Any]:
        path = _model_path(commands, id_text)
        answer = self._call("PATCH", path, f"update {commands.name}", body.data)
        return self._checked(answer, commands, body)

    def delete_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        path = _model_path(commands, id_text)
        return self._checked(self._call("DELETE", path, f"delete {commands.name}"), commands)

    def restore_record(self, commands: ModelCommands, id_text: str) -> dict[str, Any]:
        path = f"{_model_path(commands, id_text)}/restore"
        return self._checked(self._call("POST", path, f"delete {commands.name}"), commands)

    def run_operation(self, command: OperationCommand, body: GivenBody | None) -> RunOutput:
        """Start the run in the background and follow its events to the end, so its
        progress shows as it goes; an operation that keeps no TaskRun is awaited instead."""
        if not command.records_runs:
            return self._run_awaited(command, body)
        path = f"/api/operations/{quote(command.name, safe='')}/"
        data = body.data if body is not None else None
        params = [("background", "true")]
        answer = self._call("POST", path, f"run {command.name}", data, params=params)
        if answer.status_code == 422 and body is not None:
            raise body.invalid(_body_errors(answer))
        if answer.status_code != 202:
            fail(_detail(answer))
        run_id = str(_json(answer, command.name).get("task_run_id"))
        with progress_bar() as show:
            run = self._finished_run(run_id, show)
        if run.get("status") != "success":
            fail(
                f"{command.name} failed: {run.get('error') or run.get('status')} (TaskRun {run_id})"
            )
        return RunOutput(run.get("output_dump"), run_id)

    def _finished_run(
        self, run_id: str, show: Callable[[float, str | None], None]
    ) -> dict[str, Any]:
        """The run once it ends, read from its event stream (opened again each time the API
        ends it), telling `show` each progress it reports on the way."""
        # start-up time: httpx loads only for a command that calls the API
        import httpx

        path = f"/api/taskruns/{quote(run_id, safe='')}/events"
        while True:
            with _client(self.sign_in.api_url, self.sign_in.token, FOLLOW_TIMEOUT_S) as client:
                try:
                    with client.stream("GET", path) as answer:
                        if answer.status_code == 401:
                            _not_signed_in(self.sign_in.api_url)
                        if answer.status_code != 200:
                            answer.read()
                            fail(f"following TaskRun {run_id}: {_detail(answer)}")
                        for event, data in _server_sent_events(answer.iter_lines()):
                            run = json.loads(data)
                            if run.get("progress") is not None:
                                show(run["progress"], run.get("progress_message"))
                            if event == "end":
                                return dict(run)
                except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                    fail(f"cannot reach the API at {self.sign_in.api_url} ({type(exc).__name__})")
                except httpx.TransportError:
                    continue  # the stream broke off: open it again, as a browser would

    def _run_awaited(self, command: OperationCommand, body: GivenBody | None) -> RunOutput:
        path = f"/api/operations/{quote(command.name, safe='')}/"
        data = body.data if body is not None else None
        answer = self._call("POST", path, f"run {command.name}", data, timeout=None)
        task_run = answer.headers.get(TASK_RUN_HEADER)
        if answer.status_code == 400:  # the operation refused the input (OperationError)
            run_id = f" (TaskRun {task_run})" if task_run else ""
            fail(f"{command.name}: {_detail(answer)}{run_id}")
        if answer.status_code == 422 and body is not None:
            raise body.invalid(_body_errors(answer))
        if not answer.is_success:
            fail(_detail(answer))
        return RunOutput(_json(answer, command.name), task_run)

    def _call(
        self,
        method: str,
        path: str,
        action: str,
        data: Any = None,
        *,
        params: list[tuple[str, str]] | None = None,
        timeout: float | None = READ_TIMEOUT_S,
    ) -> "httpx.Response":
        """Send one request as the signed-in user; a missing or refused sign-in ends the
        command with one line."""
        if self.sign_in.token is None:
            _not_signed_in(self.sign_in.api_url)
        with _client(self.sign_in.api_url, self.sign_in.token, timeout) as client:
            answer = _sent(
                client, method, path, params=params, json=data if data is not None else None
            )
        if answer.status_code == 401:
            _not_signed_in(self.sign_in.api_url)
        if answer.status_code == 403:
            fail(f"you may not {action}: {_detail(answer)}")
        return answer

    def _checked(
        self, answer: "httpx.Response", commands: ModelCommands, body: GivenBody | None = None
    ) -> Any:
        """The answer's record(s); a missing record or a taken key fails (exit 1), an
        invalid id or record is a usage error naming the options (exit 2)."""
        if answer.status_code == 422:
            errors = _errors(answer)
            if any(list(error.get("loc", ()))[:1] == ["path"] for error in errors):
                raise invalid_id(commands.name)
            raise (body or GivenBody({})).invalid(_body_errors(answer))
        if not answer.is_success:
            fail(_detail(answer))
        return _json(answer, commands.name)


def _model_path(commands: ModelCommands, id_text: str | None = None) -> str:
    base = f"/api/models/{quote(commands.name, safe='')}"
    return f"{base}/" if id_text is None else f"{base}/{quote(id_text, safe='')}"


# --------------------------------------------------------------------------- HTTP


@contextmanager
def _client(
    url: str, token: str | None, timeout: float | None = READ_TIMEOUT_S
) -> Iterator["httpx.Client"]:
    # start-up time: httpx loads only for a command that calls the API
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(
        base_url=url,
        headers=headers,
        timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
        follow_redirects=False,
    ) as client:
        yield client


def _sent(client: "httpx.Client", method: str, path: str, **options: Any) -> "httpx.Response":
    """The answer to one request; an API that cannot be reached (or stops answering)
    ends the command with one line naming it."""
    # start-up time: httpx loads only for a command that calls the API
    import httpx

    url = str(client.base_url).rstrip("/")
    try:
        return client.request(method, path, **options)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        fail(
            f"cannot reach the API at {url} ({type(exc).__name__}): start it (`jobhunter run`), "
            f"or point ${API_URL_ENV} or `login --api-url` at it"
        )
    except httpx.TransportError as exc:
        fail(f"the API at {url} did not answer ({type(exc).__name__})")
    except httpx.InvalidURL as exc:
        fail(f"{url} is not a valid API URL: {exc}")


def _server_sent_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) per event of a `text/event-stream`; comments and `retry` are left out."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)


def _not_signed_in(url: str) -> NoReturn:
    fail(f"not signed in to {url}, or the session expired: run `{_program()} login`")


def _program() -> str:
    """How this CLI was started: `python -m cli` from the output folder, else the script
    (`jobhunter` in the project)."""
    started = Path(sys.argv[0])
    return "python -m cli" if started.name == "__main__.py" else started.name


def _json(answer: "httpx.Response", what: str) -> Any:
    try:
        return answer.json()
    except ValueError:
        _unexpected(answer, what)


def _errors(answer: "httpx.Response") -> list[dict[str, Any]]:
    data = _json(answer, "validation")
    detail = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(detail, list):
        _unexpected(answer, "validation")
    return [error for error in detail if isinstance(error, dict)]


def _body_errors(answer: "httpx.Response") -> list[dict[str, Any]]:
    """The 422's errors about the body, located in the body as the CLI's own are."""
    errors = []
    for error in _errors(answer):
        loc = list(error.get("loc", ()))
        errors.append({**error, "loc": loc[1:] if loc[:1] == ["body"] else loc})
    return errors


def _detail(answer: "httpx.Response") -> str:
    """The answer's `detail` message, else its status."""
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail
    return f"the API answered {answer.status_code} {answer.reason_phrase}"


def _unexpected(answer: "httpx.Response", what: str) -> NoReturn:
    fail(f"{what}: {_detail(answer)} (an unexpected answer from {answer.request.url})")
