"""What the generated FastAPI app imports: the CRUD behind every model router, the
operation endpoint, the health check, JSON responses and the answers for invalid input
and an unreachable database.

Generated routers stay declarative (typed schemas, routes, a filter table per model) and
delegate the behaviour to this module, so it is written and tested once instead of once
per model. Imported only by generated apps: it pulls in FastAPI, which user models and the
compiler never need.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import math
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from types import FrameType
from typing import Any

import orjson
from beanie import PydanticObjectId
from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.sse import ServerSentEvent
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from pymongo import AsyncMongoClient
from pymongo.errors import ConnectionFailure, PyMongoError

from .listing import (
    BOOLEAN,
    DATETIME,
    NUMBER,
    OBJECT_ID,
    TEXT,
    FilterField,
    ListSpec,
    QueryError,
    choice_of,
    enum_of,
)
from .records import (
    UNSTORABLE,
    InvalidRecord,
    ModelRecords,
    OnDelete,
    RecordConflict,
    RecordNotFound,
    unstorable_error,
)
from .redaction import redact
from .sessions import AccessRules, Principal
from .shortening import shortened_page, shown_errors
from .taskrun import (
    UNFINISHED,
    Actor,
    Dispatch,
    DispatchFailed,
    OperationFailed,
    OperationTimedOut,
    ResultRef,
    TaskRun,
    TaskRunStatus,
    acting_as,
    call_operation,
    submit_operation,
)

logger = logging.getLogger("jobhunter.api")

TASK_RUN_HEADER = "X-Task-Run-Id"
TOTAL_COUNT_HEADER = "X-Total-Count"
SHORTENED_HEADER = "X-Shortened-Ids"
CHANNEL_HEADER = "X-Jobhunter-Channel"
USER_HEADER = "X-Jobhunter-User"
HEALTH_TIMEOUT_S = 2.0
DATABASE_TIMEOUT_MS = 3000
"""How long a request waits for an unreachable database before its 503 (the driver's
own default is 30 s)."""
RETRY_AFTER_S = 5


class ErrorBody(BaseModel):
    """Body of every 4xx/5xx answer the app itself raises (FastAPI's own shape)."""

    detail: str


class ReferenceRead(BaseModel):
    """How many records of `model` link to a record through `field`, and what deleting
    the record does to them (`protect`: the delete is refused while any does)."""

    model: str
    field: str
    rule: OnDelete
    count: int


class OperationErrorBody(ErrorBody):
    task_run_id: str | None = None


class TaskRunAccepted(BaseModel):
    """Body of `202 Accepted` for `?background=true`: poll `/api/taskruns/{task_run_id}`."""

    task_run_id: str


def _described(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"model": model, "description": description}


_TOTAL_COUNT = {
    TOTAL_COUNT_HEADER: {
        "description": "How many records match the filters, on all pages.",
        "schema": {"type": "integer"},
    }
}
_TASK_RUN = {
    TASK_RUN_HEADER: {
        "description": "Id of the TaskRun recording this run (absent for operations that "
        "keep none).",
        "schema": {"type": "string"},
    }
}
_SHORTENED = {
    SHORTENED_HEADER: {
        "description": "Records of this page shortened to keep the answer within "
        "api.max_list_bytes (comma-separated ids; absent when none was): long strings "
        "end in `…` and long lists lose their tails. GET one by id for all of it.",
        "schema": {"type": "string"},
    }
}
_INVALID_JSON = _described(ErrorBody, "The body is not valid JSON")
_NOT_FOUND = _described(ErrorBody, "No record has this id")
_TAKEN = _described(ErrorBody, "A unique field is taken")
_TOO_LARGE = _described(ErrorBody, "The body is larger than api.max_body_bytes")
_UNAVAILABLE = _described(ErrorBody, "The database is unreachable; try again after Retry-After")

# OpenAPI `responses` of the generated routes, beside what FastAPI documents itself.
LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": {**_TOTAL_COUNT, **_SHORTENED}},
    400: _described(ErrorBody, "A filter, sort or page is invalid"),
    503: _UNAVAILABLE,
}
CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _INVALID_JSON,
    409: _TAKEN,
    413: _TOO_LARGE,
    503: _UNAVAILABLE,
}
READ_RESPONSES: dict[int | str, dict[str, Any]] = {404: _NOT_FOUND, 503: _UNAVAILABLE}
DELETE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **READ_RESPONSES,
    409: _described(ErrorBody, "Records link to this one (or to one it would cascade to)"),
}
REFERENCES_RESPONSES = READ_RESPONSES
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _INVALID_JSON,
    404: _NOT_FOUND,
    409: _TAKEN,
    413: _TOO_LARGE,
    503: _UNAVAILABLE,
}
OPERATION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": _TASK_RUN},
    202: {
        "model": TaskRunAccepted,
        "description": "Started in the background (`?background=true`)",
        "headers": _TASK_RUN,
    },
    400: _described(OperationErrorBody, "The operation refused the input"),
    413: _TOO_LARGE,
    500: _described(OperationErrorBody, "The operation failed"),
    503: _UNAVAILABLE,
    504: _described(OperationErrorBody, "The operation exceeded its time limit (`timeout_s`)"),
}
REPLAY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **OPERATION_RESPONSES,
    404: _described(ErrorBody, "No TaskRun has this id"),
    409: _described(ErrorBody, "The operation is gone or the recorded input no longer fits"),
}


def json_response(
    data: Any, status_code: int = status.HTTP_200_OK, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response from already JSON-able data (orjson: lists of records are the
    API's hot path, and FastAPI's own encoder walks every value in Python)."""
    return Response(
        orjson.dumps(data), status_code=status_code, headers=headers, media_type="application/json"
    )


async def validation_error_response(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 body, with long inputs cut (`shown_errors`), written with ASCII
    escapes: a body may carry lone surrogates (valid JSON, not valid UTF-8), which
    FastAPI's own handler fails to echo back."""
    errors = shown_errors(to_jsonable_python(exc.errors(), fallback=str))
    content = json.dumps({"detail": errors}, ensure_ascii=True).encode()
    return Response(content, status.HTTP_422_UNPROCESSABLE_CONTENT, media_type="application/json")


def not_found(what: str, id_value: object) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} {id_value} not found")


# --------------------------------------------------------------------------- models


class ModelResource(ModelRecords):
    """The records of one model as HTTP answers: JSON with `id` strings, a 404 for a
    missing record, a 409 for a taken unique key, a 422 (FastAPI's shape) for an invalid
    record or a link to nothing."""

    async def list(self, request: Request, within: Mapping[str, Any] | None = None) -> Response:
        try:
            page = await self.find_records(request.query_params.multi_items(), within=within)
        except QueryError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
        records, shortened = shortened_page(page.records, self.pagination.max_list_bytes)
        headers = {TOTAL_COUNT_HEADER: str(page.total)}
        if shortened:
            headers[SHORTENED_HEADER] = ",".join(shortened)
        return json_response(records, headers=headers)

    async def get(self, id_value: Any) -> Response:
        return await _answer(self.read_record(id_value))

    async def create(self, body: BaseModel) -> Response:
        return await _answer(self.create_record(body), status.HTTP_201_CREATED)

    async def replace(self, id_value: Any, body: BaseModel) -> Response:
        return await _answer(self.replace_record(id_value, body))

    async def patch(self, id_value: Any, body: BaseModel) -> Response:
        return await _answer(self.patch_record(id_value, body))

    async def delete(self, id_value: Any) -> Response:
        return await _answer(self.delete_record(id_value))

    async def restore(self, id_value: Any) -> Response:
        return await _answer(self.restore_record(id_value))

    async def list_references(self, id_value: Any) -> Response:
        try:
            found = await self.references(id_value)
        except RecordNotFound as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        return json_response([asdict(reference) for reference in found])


async def _answer(
    work: Awaitable[dict[str, Any]], status_code: int = status.HTTP_200_OK
) -> Response:
    try:
        record = await work
    except RecordNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except RecordConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except InvalidRecord as exc:
        raise RequestValidationError(_in_body(exc.errors)) from None
    return json_response(record, status_code)


def _in_body(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**error, "loc": ["body", *error["loc"]]} for error in errors]


# --------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class OperationEndpoint:
    """An operation as the API calls it: the decorated function and its input class."""

    operation: Callable[..., Awaitable[Any]]
    inputs: type[BaseModel] | None

    @property
    def records_runs(self) -> bool:
        return self.operation.operation_info.async_enabled  # type: ignore[attr-defined]


def request_actor(request: Request) -> Actor:
    """Who is calling: the signed-in user (`auth: users`), else whom the client names in a
    header; the admin UI says so in a header, anything else is a plain API call."""
    channel = "ui" if request.headers.get(CHANNEL_HEADER, "").lower() == "ui" else "api"
    principal = signed_in(request)
    if principal is not None:
        return Actor(channel=channel, user_id=principal.user_id, email=principal.email)
    user_id = request.headers.get(USER_HEADER) or None
    return Actor(channel=channel, user_id=user_id[:200] if user_id else None)


def signed_in(request: Request) -> Principal | None:
    """The user a request acts for when the app has sign-in (`UsersRequired` puts it)."""
    return getattr(request.state, "principal", None)


async def run_operation(
    endpoint: OperationEndpoint,
    body: BaseModel | None,
    request: Request,
    *,
    background: bool,
    replay_of: str | None = None,
) -> Response:
    """Run an operation for an HTTP request: its output (200) or, in the background,
    the TaskRun to poll (202). A failure the operation meant (`OperationError`) is a 400
    with its redacted message; a timeout a 504; anything else a 500 that names the TaskRun
    holding the traceback and says nothing of the error or the input."""
    args = () if body is None else (body,)
    lease_s = request.app.state.settings.run_lease_s
    name = endpoint.operation.operation_info.name  # type: ignore[attr-defined]
    if body is not None and _has_non_finite(body.model_dump()):
        # Python's JSON reader takes NaN and Infinity, JSON has neither: the TaskRun could
        # not record them faithfully, and the answer could not carry them.
        raise RequestValidationError(
            [{"type": "finite_number", "loc": ["body"], "msg": "NaN and Infinity are not JSON"}]
        )
    with acting_as(request_actor(request)):
        if background:
            if not endpoint.records_runs:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST,
                    f"operation {name} keeps no TaskRun (async_enabled=False), "
                    "so it cannot run in the background",
                )
            try:
                run = await submit_operation(
                    endpoint.operation,
                    *args,
                    replay_of=replay_of,
                    dispatch=_dispatch(request),
                    lease_s=lease_s,
                )
            except UNSTORABLE as exc:
                raise RequestValidationError(_in_body([unstorable_error(exc)])) from None
            except DispatchFailed as failed:
                logger.error("%s", failed)
                run_id = str(failed.task_run.id)
                return json_response(
                    {"detail": str(failed), "task_run_id": run_id},
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={TASK_RUN_HEADER: run_id},
                )
            run_id = str(run.id)
            return json_response(
                {"task_run_id": run_id},
                status.HTTP_202_ACCEPTED,
                headers={TASK_RUN_HEADER: run_id},
            )
        try:
            outcome = await call_operation(
                endpoint.operation, *args, replay_of=replay_of, lease_s=lease_s
            )
        except OperationFailed as failed:
            return _failure_response(failed)
        except UNSTORABLE as exc:  # the TaskRun could not record the input: nothing ran
            raise RequestValidationError(_in_body([unstorable_error(exc)])) from None
    headers = {TASK_RUN_HEADER: str(outcome.task_run.id)} if outcome.task_run else {}
    return json_response(outcome.output_dump, headers=headers)


def _dispatch(request: Request) -> Dispatch | None:
    """Where background runs go: the app's settings name an orchestrator (`orchestration:
    prefect` in .jobhunter.yml), else None and they run in this process."""
    settings = getattr(request.app.state, "settings", None)
    return getattr(settings, "dispatch", None)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_non_finite(item) for item in value)
    return False


def _failure_response(failed: OperationFailed) -> Response:
    """The answer to a failed run (recorded and logged already)."""
    run_id = str(failed.task_run.id) if failed.task_run is not None else None
    headers = {TASK_RUN_HEADER: run_id} if run_id else {}
    if failed.reported:
        body = {"detail": redact(str(failed.original)), "task_run_id": run_id}
        return json_response(body, status.HTTP_400_BAD_REQUEST, headers)
    name = failed.operation_name
    if isinstance(failed.original, OperationTimedOut):
        limit = f"timeout_s={failed.original.timeout_s:g}"
        detail = f"operation {name} exceeded its time limit ({limit})"
        code, pointer = status.HTTP_504_GATEWAY_TIMEOUT, "see"
    else:
        detail, code = f"operation {name} failed", status.HTTP_500_INTERNAL_SERVER_ERROR
        pointer = "the traceback is in"
    if run_id is not None:
        detail += f"; {pointer} TaskRun {run_id}"
    return json_response({"detail": detail, "task_run_id": run_id}, code, headers)


async def replay_task_run(
    run_id: Any,
    endpoints: Mapping[str, OperationEndpoint],
    request: Request,
    *,
    background: bool,
    access: AccessRules | None = None,
) -> Response:
    """Run a recorded TaskRun's input again, as a new TaskRun that points at the old one.
    With sign-in (`access`), only a run the user may see, which is one they may run."""
    run = await TaskRun.get(run_id)
    if run is None or not _may_see(request, access, run.operation_name):
        raise not_found("TaskRun", run_id)
    endpoint = endpoints.get(run.operation_name)
    if endpoint is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"operation {run.operation_name} no longer exists"
        )
    body = None
    if endpoint.inputs is not None:
        try:
            body = endpoint.inputs.model_validate(run.input_dump)
        except ValidationError as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"the recorded input no longer fits {endpoint.inputs.__name__}: "
                f"{exc.error_count()} error(s)",
            ) from None
    return await run_operation(
        endpoint, body, request, background=background, replay_of=str(run.id)
    )


# --------------------------------------------------------------------------- task runs


def runs_within(request: Request, access: AccessRules) -> dict[str, Any] | None:
    """The runs a signed-in user may see, as a filter: those of the operations they may
    run; None (all of them) for an admin."""
    principal = signed_in(request)
    if principal is None:
        return {"operation_name": {"$in": []}}
    names = access.runnable(principal)
    return None if names is None else {"operation_name": {"$in": names}}


def _may_see(request: Request, access: AccessRules | None, operation_name: str) -> bool:
    if access is None:
        return True
    principal = signed_in(request)
    return principal is not None and access.may_run(principal, operation_name)


async def _visible_run(run_id: Any, request: Request, access: AccessRules | None) -> TaskRun:
    """The TaskRun `run_id`, if the caller may see it (else 404, as for no run at all)."""
    run = await TaskRun.get(run_id)
    if run is None or not _may_see(request, access, run.operation_name):
        raise not_found("TaskRun", run_id)
    return run


async def read_task_run(
    resource: ModelResource, run_id: Any, request: Request, access: AccessRules
) -> Response:
    """One TaskRun, if the signed-in user may see it (else 404, as for no run at all)."""
    return json_response(resource.to_json(await _visible_run(run_id, request, access)))


def visible_task_run(
    access: AccessRules | None = None,
) -> Callable[[Any, Request], Awaitable[TaskRun]]:
    """A dependency giving the TaskRun of the path's `id`, if the caller may see it (404
    otherwise, as for reading it): a stream checks this before it sends a byte."""

    async def task_run_of(id: PydanticObjectId, request: Request) -> TaskRun:
        return await _visible_run(id, request, access)

    return task_run_of


@dataclass(frozen=True)
class RunStreamTiming:
    """How a TaskRun's event stream paces itself. It reads the run from the database rather
    than waiting for a change notice: any replica may be running the run, and not every
    MongoDB has change streams."""

    check_s: float = 0.5
    """How often the run is read again."""
    heartbeat_s: float = 10.0
    """A comment goes out after this long without an event, so proxies keep the line open."""
    lifetime_s: float = 25.0
    """The stream ends after this long and the client reconnects: no connection is held for
    good (by a proxy with its own limits, or a server that stops without a signal)."""
    reconnect_ms: int = 1000
    """What the stream tells the browser to wait before reconnecting."""


_stopping = threading.Event()
"""Set once this process is told to stop: open streams end at their next check instead of
holding the server's graceful shutdown up (it waits for open responses) for their lifetime."""


@dataclass(frozen=True)
class _StopSignal:
    """A SIGINT/SIGTERM handler that sets `_stopping`, then does what `previous` did (the
    server's own handler, or the default). The server tells the app nothing of its stop
    before open responses have ended, so streams learn of it here."""

    previous: Any

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        _stopping.set()
        if callable(self.previous):
            self.previous(signum, frame)
        elif self.previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)


def _ending_streams_on_stop() -> None:
    """Put `_StopSignal` before the current SIGINT and SIGTERM handlers, once (signal
    handlers belong to the main thread: elsewhere streams end by their lifetime alone)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if not isinstance(current, _StopSignal):
            signal.signal(signum, _StopSignal(current))


RUN_UPDATE_EVENT = "update"
RUN_END_EVENT = "end"
# A refusal comes before the stream starts, as JSON: said so, since the route's own media
# type (text/event-stream) would otherwise be documented for these answers too.
TASK_RUN_EVENTS_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": f"`{RUN_UPDATE_EVENT}` events carrying the TaskRun as it changes, then "
        f"one `{RUN_END_EVENT}` event with the finished run; comments as heartbeats. The "
        "stream ends after a while and the client reconnects."
    },
    **{
        code: {
            "description": response["description"],
            "content": {"application/json": {"schema": ErrorBody.model_json_schema()}},
        }
        for code, response in READ_RESPONSES.items()
    },
}


async def task_run_events(
    resource: ModelResource,
    run: TaskRun,
    request: Request,
    timing: RunStreamTiming = RunStreamTiming(),
) -> AsyncIterator[ServerSentEvent]:
    """The run as it is now, then each time it changes, as `update` events; the finished run
    as an `end` event, which closes the stream. Ends also when the client goes away, when
    the stream has lived `timing.lifetime_s`, when the server is told to stop, or when the
    database fails (logged, never sent: the client reconnects and gets the error as an
    HTTP status)."""
    _ending_streams_on_stop()
    started = last_sent = time.monotonic()
    sent: dict[str, Any] | None = None
    retry: int | None = timing.reconnect_ms
    while True:
        current = resource.to_json(run)
        finished = run.status not in UNFINISHED
        if current != sent:
            event = RUN_END_EVENT if finished else RUN_UPDATE_EVENT
            data = orjson.dumps(current).decode()
            yield ServerSentEvent(event=event, raw_data=data, retry=retry)
            sent, retry, last_sent = current, None, time.monotonic()
        if finished or time.monotonic() - started >= timing.lifetime_s or _stopping.is_set():
            return
        if time.monotonic() - last_sent >= timing.heartbeat_s:
            yield ServerSentEvent(comment="heartbeat")
            last_sent = time.monotonic()
        await asyncio.sleep(timing.check_s)
        if await request.is_disconnected():
            return
        try:
            fresh = await TaskRun.get(run.id)
        except PyMongoError as exc:
            logger.warning("TaskRun %s events: the database failed: %s", run.id, redact(str(exc)))
            return
        if fresh is None:
            return
        run = fresh


class TaskRunRead(BaseModel):
    """A TaskRun as `/api/taskruns/` returns it."""

    id: str
    operation_name: str
    actor: Actor
    status: TaskRunStatus
    input_dump: dict[str, Any]
    output_dump: Any
    result_refs: list[ResultRef]
    error: str | None
    traceback: str | None
    orchestrated: bool
    prefect_flow_run_id: str | None
    prefect_task_run_id: str | None
    replay_of: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    progress: float | None = None
    """How far the run is, from 0 to 1, as it last reported (None: it has not)."""
    progress_message: str | None = None


TASK_RUN_FILTERS = ListSpec(
    fields=(
        FilterField("id", OBJECT_ID, mongo_key="_id"),
        FilterField("operation_name", TEXT, searchable=True),
        FilterField("status", enum_of(TaskRunStatus)),
        FilterField("actor.channel", choice_of(["api", "cli", "ui", "prefect", "python"])),
        FilterField("actor.user_id", TEXT),
        FilterField("actor.email", TEXT),
        FilterField("error", TEXT, searchable=True),
        FilterField("orchestrated", BOOLEAN),
        FilterField("replay_of", TEXT),
        FilterField("prefect_flow_run_id", TEXT),
        FilterField("created_at", DATETIME),
        FilterField("started_at", DATETIME),
        FilterField("finished_at", DATETIME),
        FilterField("duration_ms", NUMBER),
    )
)
TASK_RUN_DEFAULT_SORT = [("created_at", -1), ("_id", -1)]
"""Newest first unless the request sorts otherwise."""


# --------------------------------------------------------------------------- app


async def database_unavailable_response(request: Request, exc: ConnectionFailure) -> Response:
    """503 with Retry-After for a request the database could not serve (down, unreachable,
    or not answering within DATABASE_TIMEOUT_MS), instead of a bare 500."""
    logger.warning("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return json_response(
        {"detail": "the database is unreachable; try again shortly"},
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


async def database_health(client: AsyncMongoClient[Any]) -> Response:
    """200 when the database answers a ping within two seconds, else 503."""
    try:
        await asyncio.wait_for(client.admin.command("ping"), HEALTH_TIMEOUT_S)
    except Exception as exc:
        logger.warning("health check: database unavailable: %s", exc)
        return json_response(
            {"status": "unavailable", "database": "unreachable"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return json_response({"status": "ok", "database": "ok"})


def cors_origins(configured: list[str]) -> list[str]:
    """`JOBHUNTER_CORS_ORIGINS` (comma-separated) when set, else the compiled-in list."""
    override = os.environ.get("JOBHUNTER_CORS_ORIGINS")
    if override is None:
        return configured
    return [origin.strip() for origin in override.split(",") if origin.strip()]


class ExtensionError(RuntimeError):
    """An `api.extensions` entry could not be mounted: said once, at app start."""


def extension_router(target: str) -> Any:
    """The user's router named by `target` (`module:attribute`, from `api.extensions`),
    imported when the app is built: after the generated package has put the project's
    source roots on sys.path, and so that a broken extension fails the start, loudly,
    rather than a request later."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ExtensionError(f"api.extensions: importing {module_name} failed: {exc!r}") from exc
    router = getattr(module, attribute, None)
    if not isinstance(router, APIRouter):
        found = "nothing" if router is None else type(router).__name__
        raise ExtensionError(f"api.extensions: {target} must be a fastapi.APIRouter, found {found}")
    return router
