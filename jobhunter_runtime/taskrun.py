"""The TaskRun audit trail: one document per operation run, and the lifecycle that writes it.

The record is inserted (`pending`) before the function runs, so a crash still leaves a trace;
it then moves to `running` and ends `success` or `failed`. Surfaces (API, CLI, UI, Prefect)
set who is acting with `acting_as` and run operations through `call_operation` (wait for the
result) or `submit_operation` (return the pending record, finish in the background).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

import pymongo
from beanie import Document, PydanticObjectId
from beanie.exceptions import CollectionWasNotInitialized
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import to_jsonable_python

from .prefect import prefect_run_ids
from .registry import OperationInfo

logger = logging.getLogger(__name__)

Channel = Literal["api", "cli", "ui", "prefect", "python"]


class Actor(BaseModel):
    """Who started a run and through which surface."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    channel: Channel = "python"


class TaskRunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


class ResultRef(BaseModel):
    """A document the operation returned, so the UI can link to it."""

    collection: str
    document_id: str


def _now() -> datetime:
    return datetime.now(UTC)


class TaskRun(Document):
    operation_name: str
    actor: Actor = Field(default_factory=Actor)
    status: TaskRunStatus = TaskRunStatus.PENDING
    input_dump: dict[str, Any] = Field(default_factory=dict)
    output_dump: Any = None
    result_refs: list[ResultRef] = Field(default_factory=list)
    error: str | None = None
    traceback: str | None = None
    orchestrated: bool = False
    prefect_flow_run_id: str | None = None
    prefect_task_run_id: str | None = None
    replay_of: str | None = Field(default=None, description="Id of the TaskRun this one re-runs.")
    created_at: datetime = Field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None

    class Settings:
        name = "task_runs"
        indexes = [
            "operation_name",
            "status",
            [("created_at", pymongo.DESCENDING)],
        ]

    @field_validator("created_at", "started_at", "finished_at")
    @classmethod
    def _as_utc(cls, value: datetime | None) -> datetime | None:
        """BSON stores UTC without a zone and PyMongo returns naive datetimes unless the client
        sets tz_aware=True; every reader gets aware UTC datetimes either way."""
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


RUNTIME_DOCUMENT_MODELS: tuple[type[Document], ...] = (TaskRun,)
"""The runtime's documents; pass them to `init_beanie(document_models=...)` with the app's."""


class OperationError(Exception):
    """A failure an operation reports to its caller on purpose (bad input, a missing record);
    surfaces show its message instead of a traceback (the API answers 400)."""


class OperationFailed(Exception):
    """Raised by `call_operation` when the operation raised `original`; the failure is already
    recorded on `task_run` (None for operations with async_enabled=False)."""

    def __init__(self, operation_name: str, task_run: TaskRun | None, original: Exception) -> None:
        where = f" (see TaskRun {task_run.id})" if task_run is not None else ""
        super().__init__(
            f"operation {operation_name!r} failed{where}: {type(original).__name__}: {original}"
        )
        self.operation_name = operation_name
        self.task_run = task_run
        self.original = original

    @property
    def reported(self) -> bool:
        """True when the operation refused the request on purpose (OperationError, ValueError)
        rather than crashed: surfaces show the message, not the traceback."""
        return isinstance(self.original, OperationError | ValueError)


@dataclass(frozen=True)
class OperationOutcome:
    output: Any
    task_run: TaskRun | None


class Operation(Protocol):
    """What `@operation` returns: an async callable that records a TaskRun per call."""

    operation_info: OperationInfo
    __wrapped__: Any

    def __call__(self, *args: Any) -> Coroutine[Any, Any, Any]: ...


_actor: ContextVar[Actor | None] = ContextVar("jobhunter_actor", default=None)
_background_runs: set[asyncio.Task[None]] = set()
"""Strong references: the event loop only keeps weak ones to running tasks."""


def current_actor() -> Actor:
    """The actor set by the surface; otherwise the plain Python caller, or Prefect when the
    code runs inside a Prefect flow or task run."""
    actor = _actor.get()
    if actor is not None:
        return actor
    return Actor(channel="prefect") if prefect_run_ids() is not None else Actor()


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Runs started inside the block record `actor`. It is a context variable, so threads of
    `asyncio.to_thread` and tasks of `asyncio.create_task` started in the block inherit it."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


async def call_operation(
    op: Operation | OperationInfo, *args: Any, replay_of: str | None = None
) -> OperationOutcome:
    """Run the operation to completion. Raises OperationFailed (after recording the failure)
    when the operation raises, RuntimeError when TaskRun is not initialised in Beanie."""
    info = _info_of(op)
    task_run = await _open_task_run(info, args, replay_of) if info.async_enabled else None
    output = await _execute(info, args, task_run)
    return OperationOutcome(output=output, task_run=task_run)


Dispatch = Callable[[OperationInfo, "TaskRun"], Awaitable[None]]
"""Hands a recorded run to something else to execute (an orchestrator's worker), which
finishes it with `run_recorded`."""


class DispatchFailed(Exception):
    """`submit_operation` could not hand the run to its dispatcher; the failure is recorded
    on `task_run`."""

    def __init__(self, task_run: TaskRun, original: Exception) -> None:
        super().__init__(
            f"could not hand operation {task_run.operation_name!r} to the orchestrator "
            f"(TaskRun {task_run.id}): {type(original).__name__}: {original}"
        )
        self.task_run = task_run
        self.original = original


async def submit_operation(
    op: Operation | OperationInfo,
    *args: Any,
    replay_of: str | None = None,
    dispatch: Dispatch | None = None,
) -> TaskRun:
    """Insert the `pending` TaskRun and return it at once (a snapshot: read it again to follow
    the run); the run goes on in the background and ends on the record (failures are recorded
    and logged, never raised). With `dispatch`, the run goes on elsewhere: `dispatch` gets the
    record (raising DispatchFailed, after recording it, when it fails). Raises ValueError for
    an operation with async_enabled=False, which keeps no record to return."""
    info = _info_of(op)
    if not info.async_enabled:
        raise ValueError(
            f"operation {info.name!r} has async_enabled=False: it keeps no TaskRun, so it cannot "
            "run in the background; use call_operation"
        )
    task_run = await _open_task_run(info, args, replay_of)
    if dispatch is not None:
        try:
            await dispatch(info, task_run)
        except Exception as exc:
            failure = DispatchFailed(task_run, exc)
            await _record(
                task_run, status=TaskRunStatus.FAILED, error=str(failure), finished_at=_now()
            )
            raise failure from exc
        return task_run
    task = asyncio.create_task(
        _run_in_background(info, args, task_run.model_copy()),
        name=f"{info.name} (TaskRun {task_run.id})",
    )
    _background_runs.add(task)
    task.add_done_callback(_background_runs.discard)
    return task_run


async def direct_call(info: OperationInfo, args: tuple[Any, ...]) -> Any:
    """A direct call `await op(...)`: like calling the function, the caller gets its output or
    its own exception (recorded first)."""
    task_run = await _open_task_run(info, args, None) if info.async_enabled else None
    try:
        return await _execute(info, args, task_run)
    except OperationFailed as failed:
        original = failed.original
    # Raised outside the except block so the wrapper does not become the original's context.
    raise original


async def mark_dispatched(task_run: TaskRun, flow_run_id: str) -> None:
    """Record that an orchestrator took the run, as flow run `flow_run_id`."""
    await _record(task_run, orchestrated=True, prefect_flow_run_id=flow_run_id)


async def run_recorded(op: Operation | OperationInfo, task_run_id: str) -> Any:
    """Run a dispatched run on its TaskRun (pending, or failed by an earlier attempt), from the
    recorded input; return the output. Run again after success, it returns the recorded output
    without running the operation twice. Raises OperationFailed when the operation fails,
    LookupError when no TaskRun has the id, ValueError when the input no longer fits."""
    info = _info_of(op)
    task_run = await TaskRun.get(PydanticObjectId(task_run_id))
    if task_run is None or task_run.operation_name != info.name:
        raise LookupError(f"no TaskRun {task_run_id} of operation {info.name!r}")
    if task_run.status == TaskRunStatus.SUCCESS:
        return task_run.output_dump
    args: tuple[Any, ...] = ()
    if info.inputs is not None:
        args = (info.inputs.model_validate(task_run.input_dump),)  # type: ignore[attr-defined]
    flow_run_id, prefect_task_run_id = prefect_run_ids() or (None, None)
    await _record(
        task_run,
        orchestrated=task_run.orchestrated or flow_run_id is not None,
        prefect_flow_run_id=flow_run_id or task_run.prefect_flow_run_id,
        prefect_task_run_id=prefect_task_run_id,
        error=None,
        traceback=None,
    )
    return await _execute(info, args, task_run)


def _info_of(op: Operation | OperationInfo) -> OperationInfo:
    return op if isinstance(op, OperationInfo) else op.operation_info


async def _open_task_run(
    info: OperationInfo, args: tuple[Any, ...], replay_of: str | None
) -> TaskRun:
    try:
        TaskRun.get_settings()
    except CollectionWasNotInitialized:
        raise RuntimeError(
            f"cannot record a run of operation {info.name!r}: TaskRun is not initialised. Pass "
            "TaskRun (jobhunter_compiler.RUNTIME_DOCUMENT_MODELS) in document_models to "
            "beanie.init_beanie() with the app's models before running operations."
        ) from None
    prefect_ids = prefect_run_ids()
    flow_run_id, task_run_id = prefect_ids or (None, None)
    task_run = TaskRun(
        operation_name=info.name,
        actor=current_actor(),
        input_dump=_input_dump(args),
        orchestrated=prefect_ids is not None,
        prefect_flow_run_id=flow_run_id,
        prefect_task_run_id=task_run_id,
        replay_of=replay_of,
    )
    await task_run.insert()
    return task_run


async def _execute(info: OperationInfo, args: tuple[Any, ...], task_run: TaskRun | None) -> Any:
    """Run the function and record its end on `task_run`; its exception comes out wrapped in
    OperationFailed so that errors of the recording itself are not mistaken for it."""
    if task_run is None:
        try:
            return await _invoke(info, args)
        except Exception as exc:
            raise OperationFailed(info.name, None, exc) from exc
    await _record(task_run, status=TaskRunStatus.RUNNING, started_at=_now())
    started = time.perf_counter()
    try:
        output = await _invoke(info, args)
    except BaseException as exc:
        await _record(
            task_run,
            status=TaskRunStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
            finished_at=_now(),
            duration_ms=_ms_since(started),
        )
        if isinstance(exc, Exception):
            raise OperationFailed(info.name, task_run, exc) from exc
        raise  # cancellation and interpreter exits stay what they are
    await _record(
        task_run,
        status=TaskRunStatus.SUCCESS,
        output_dump=_jsonable(output),
        result_refs=list(_result_refs(output)),
        finished_at=_now(),
        duration_ms=_ms_since(started),
    )
    return output


async def _invoke(info: OperationInfo, args: tuple[Any, ...]) -> Any:
    if info.is_async:
        return await info.func(*args)
    return await asyncio.to_thread(info.func, *args)


async def _run_in_background(info: OperationInfo, args: tuple[Any, ...], task_run: TaskRun) -> None:
    try:
        await _execute(info, args, task_run)
    except OperationFailed:
        logger.warning("operation %r failed; see TaskRun %s", info.name, task_run.id)
    except Exception:
        logger.exception("could not record the run of %r (TaskRun %s)", info.name, task_run.id)


async def finish_background_runs(timeout_s: float) -> None:
    """Give background runs `timeout_s` to end, then cancel the rest, which records them as
    failed: an app calls this as it shuts down, before it closes its database client, so no
    TaskRun is left `running` forever."""
    pending = set(_background_runs)
    if not pending:
        return
    _, still_running = await asyncio.wait(pending, timeout=timeout_s)
    for task in still_running:
        task.cancel()
    await asyncio.gather(*still_running, return_exceptions=True)


async def _record(task_run: TaskRun, **changes: Any) -> None:
    for name, value in changes.items():
        setattr(task_run, name, value)
    await task_run.save()


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _jsonable(value: Any) -> Any:
    """JSON form for the record; what pydantic cannot serialise is kept as its repr."""
    return to_jsonable_python(value, fallback=repr)


def _input_dump(args: tuple[Any, ...]) -> dict[str, Any]:
    if not args:
        return {}
    dump = _jsonable(args[0])
    return dump if isinstance(dump, dict) else {"input": dump}


def _result_refs(output: Any) -> Iterator[ResultRef]:
    """Saved documents in the output: itself, its items, or its fields and their items."""
    values = output if isinstance(output, list | tuple) else [output]
    if isinstance(output, BaseModel) and not isinstance(output, Document):
        values = [getattr(output, name) for name in type(output).model_fields]
    seen: set[tuple[str, str]] = set()
    for value in values:
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, Document) and item.id is not None:
                ref = (item.get_collection_name(), str(item.id))
                if ref not in seen:
                    seen.add(ref)
                    yield ResultRef(collection=ref[0], document_id=ref[1])
