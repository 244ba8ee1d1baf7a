"""The TaskRun audit trail: one document per operation run, and the lifecycle that writes it.

The record is inserted (`pending`) before the function runs, so a crash still leaves a trace;
it then moves to `running` and ends `success`, `failed` (whatever the function raised, even
SystemExit, fails its run and nothing else) or `timed_out` (past the operation's `timeout_s`).
Surfaces (API, CLI, UI, Prefect) set who is acting with `acting_as` and run operations through
`call_operation` (wait for the result) or `submit_operation` (return the pending record, finish
in the background).

A run executed in this process holds a lease on its record, renewed while it runs; when the
process dies, the lease expires and any process sweeping (`reclaiming_abandoned_runs`) marks
the run `abandoned`, so several API replicas on one database never leave a run `running`.
Errors and tracebacks are redacted (redaction.py) before they are stored or logged.

A running operation says how far it is with `report_progress`; the latest report is written
to its record at most every `PROGRESS_WRITE_INTERVAL_S`, so surfaces can show a live bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import os
import secrets
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, Protocol

import bson
import pymongo
from beanie import Document, PydanticObjectId
from beanie.exceptions import CollectionWasNotInitialized
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import to_jsonable_python

from .prefect import prefect_run_ids
from .redaction import redact
from .registry import OperationInfo

logger = logging.getLogger("jobhunter.operations")

DEFAULT_RUN_LEASE_S = 30.0
"""How long a run's lease lasts unless the surface says otherwise (`api.run_lease_s`)."""
RENEWALS_PER_LEASE = 3
"""A running run renews its lease this often per lease, so one late renewal costs nothing."""
SWEEPS_PER_LEASE = 3
"""How often per lease a sweeper looks for abandoned runs."""

RUN_OWNER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
"""This process, as the owner of the leases it holds: the host and pid say where to look,
the random part tells processes apart when pids repeat (each container's API is pid 1)."""

PROGRESS_WRITE_INTERVAL_S = 0.5
"""A run's progress reaches its record at most this often: an operation may report in a tight
loop without costing a database write per call."""
PROGRESS_MESSAGE_MAX_CHARS = 500

ABANDONED_ERROR = (
    "abandoned: the process running this operation stopped (crashed, was killed, or was "
    "blocked longer than its lease) before the run finished"
)

Channel = Literal["api", "cli", "ui", "prefect", "python"]


class Actor(BaseModel):
    """Who started a run and through which surface."""

    model_config = ConfigDict(frozen=True)

    user_id: str | None = None
    email: str | None = None
    """The signed-in user's email (`auth: users`)."""
    channel: Channel = "python"


class TaskRunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"


UNFINISHED = [TaskRunStatus.PENDING.value, TaskRunStatus.RUNNING.value]


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
    lease_owner: str | None = Field(
        default=None, description="The process running the run in-process (host:pid:nonce)."
    )
    lease_expires_at: datetime | None = Field(
        default=None, description="Past this, with the run unfinished, its process is gone."
    )
    created_at: datetime = Field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    progress: float | None = Field(
        default=None, description="How far the run is, from 0 to 1, as it last reported."
    )
    progress_message: str | None = Field(
        default=None, description="What the run said with its last progress report."
    )

    class Settings:
        name = "task_runs"
        indexes = [
            "operation_name",
            "status",
            [("created_at", pymongo.DESCENDING)],
        ]

    @field_validator("created_at", "started_at", "finished_at", "lease_expires_at")
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


class OperationTimedOut(Exception):
    """The operation ran past its `timeout_s` and was cancelled or, run in a thread (which
    cannot be stopped), left behind."""

    def __init__(self, operation_name: str, timeout_s: float, in_thread: bool) -> None:
        fate = (
            "it runs in a thread, which cannot be stopped, so it may still be running and its "
            "effects may still happen"
            if in_thread
            else "it was cancelled"
        )
        super().__init__(
            f"operation {operation_name!r} exceeded its time limit (timeout_s={timeout_s:g}): "
            f"{fate}"
        )
        self.timeout_s = timeout_s


class OutputNotStorable(Exception):
    """The operation returned what cannot be stored in its TaskRun nor answered as JSON."""

    def __init__(self, operation_name: str, reason: Exception) -> None:
        super().__init__(
            f"the output of operation {operation_name!r} cannot be stored in its TaskRun: "
            f"{type(reason).__name__}: {reason}"
        )


class OperationFailed(Exception):
    """Raised by `call_operation` when the operation raised `original` (anything but
    cancellation); the failure is already recorded on `task_run` (None for operations with
    async_enabled=False)."""

    def __init__(
        self, operation_name: str, task_run: TaskRun | None, original: BaseException
    ) -> None:
        where = f" (see TaskRun {task_run.id})" if task_run is not None else ""
        super().__init__(f"operation {operation_name!r} failed{where}: {error_text(original)}")
        self.operation_name = operation_name
        self.task_run = task_run
        self.original = original

    @property
    def reported(self) -> bool:
        """True when the operation refused the request on purpose (OperationError) rather
        than crashed: surfaces show its (redacted) message, not the traceback."""
        return isinstance(self.original, OperationError)


@dataclass(frozen=True)
class OperationOutcome:
    output: Any
    output_dump: Any
    """The output in JSON form, as recorded."""
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
    op: Operation | OperationInfo,
    *args: Any,
    replay_of: str | None = None,
    lease_s: float = DEFAULT_RUN_LEASE_S,
) -> OperationOutcome:
    """Run the operation to completion, holding a lease of `lease_s` on its record. Raises
    OperationFailed (after recording the failure) when the operation raises, times out or
    returns what cannot be stored, RuntimeError when TaskRun is not initialised in Beanie."""
    info = _info_of(op)
    task_run = await _open_task_run(info, args, replay_of, lease_s) if info.async_enabled else None
    output, output_dump = await _execute(info, args, task_run, lease_s)
    return OperationOutcome(output=output, output_dump=output_dump, task_run=task_run)


Dispatch = Callable[[OperationInfo, "TaskRun"], Awaitable[None]]
"""Hands a recorded run to something else to execute (an orchestrator's worker), which
finishes it with `run_recorded`."""


class DispatchFailed(Exception):
    """`submit_operation` could not hand the run to its dispatcher; the failure is recorded
    on `task_run`."""

    def __init__(self, task_run: TaskRun, original: Exception) -> None:
        super().__init__(
            redact(
                f"could not hand operation {task_run.operation_name!r} to the orchestrator "
                f"(TaskRun {task_run.id}): {type(original).__name__}: {original}"
            )
        )
        self.task_run = task_run
        self.original = original


async def submit_operation(
    op: Operation | OperationInfo,
    *args: Any,
    replay_of: str | None = None,
    dispatch: Dispatch | None = None,
    lease_s: float = DEFAULT_RUN_LEASE_S,
) -> TaskRun:
    """Insert the `pending` TaskRun and return it at once (a snapshot: read it again to follow
    the run); the run goes on in the background, holding a lease of `lease_s`, and ends on the
    record (failures are recorded and logged, never raised). With `dispatch`, the run goes on
    elsewhere, with no lease: `dispatch` gets the record (raising DispatchFailed, after
    recording it, when it fails). Raises ValueError for an operation with
    async_enabled=False, which keeps no record to return."""
    info = _info_of(op)
    if not info.async_enabled:
        raise ValueError(
            f"operation {info.name!r} has async_enabled=False: it keeps no TaskRun, so it cannot "
            "run in the background; use call_operation"
        )
    task_run = await _open_task_run(info, args, replay_of, None if dispatch else lease_s)
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
        _run_in_background(info, args, task_run.model_copy(), lease_s),
        name=f"{info.name} (TaskRun {task_run.id})",
    )
    _background_runs.add(task)
    task.add_done_callback(_background_runs.discard)
    return task_run


async def direct_call(info: OperationInfo, args: tuple[Any, ...]) -> Any:
    """A direct call `await op(...)`: like calling the function, the caller gets its output or
    its own exception (recorded first)."""
    task_run = (
        await _open_task_run(info, args, None, DEFAULT_RUN_LEASE_S) if info.async_enabled else None
    )
    try:
        output, _ = await _execute(info, args, task_run, DEFAULT_RUN_LEASE_S)
        return output
    except OperationFailed as failed:
        original = failed.original
    # Raised outside the except block so the wrapper does not become the original's context.
    raise original


async def mark_dispatched(task_run: TaskRun, flow_run_id: str) -> None:
    """Record that an orchestrator took the run, as flow run `flow_run_id`."""
    await _record(task_run, orchestrated=True, prefect_flow_run_id=flow_run_id)


async def run_recorded(op: Operation | OperationInfo, task_run_id: str) -> Any:
    """Run a dispatched run on its TaskRun (pending, or failed by an earlier attempt), from the
    recorded input, with no lease (the orchestrator watches its workers); return the output.
    Run again after success, it returns the recorded output without running the operation
    twice. Raises OperationFailed when the operation fails, LookupError when no TaskRun has the
    id, ValueError when the input no longer fits."""
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
    output, _ = await _execute(info, args, task_run, None)
    return output


def _info_of(op: Operation | OperationInfo) -> OperationInfo:
    return op if isinstance(op, OperationInfo) else op.operation_info


async def _open_task_run(
    info: OperationInfo, args: tuple[Any, ...], replay_of: str | None, lease_s: float | None
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
    if lease_s is not None:
        task_run.lease_owner = RUN_OWNER
        task_run.lease_expires_at = _now() + timedelta(seconds=lease_s)
    await task_run.insert()
    return task_run


async def _execute(
    info: OperationInfo, args: tuple[Any, ...], task_run: TaskRun | None, lease_s: float | None
) -> tuple[Any, Any]:
    """Run the function, holding a lease of `lease_s` (None: none) on `task_run`, and record
    its end there; returns the output and its JSON form. Whatever the function raises, even
    SystemExit or KeyboardInterrupt, comes out wrapped in OperationFailed, so it fails this run
    and nothing else, and errors of the recording itself are not mistaken for it; only
    cancellation stays what it is."""
    if task_run is not None:
        await _record(task_run, status=TaskRunStatus.RUNNING, started_at=_now())
    started = time.perf_counter()
    reporter = _ProgressReporter(task_run)
    try:
        with reporter.current():
            async with _holding_lease(task_run, lease_s), reporter.writing():
                output = await _invoke(info, args)
        output_dump = _output_dump(info, output)
    except BaseException as exc:
        if task_run is not None:
            await _record(
                task_run,
                **reporter.latest_fields(),
                status=(
                    TaskRunStatus.TIMED_OUT
                    if isinstance(exc, OperationTimedOut)
                    else TaskRunStatus.FAILED
                ),
                error=error_text(exc),
                traceback=_traceback_text(exc),
                finished_at=_now(),
                duration_ms=_ms_since(started),
            )
        _log_failure(info, task_run, exc)
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise OperationFailed(info.name, task_run, exc) from exc
    if task_run is not None:
        await _record(
            task_run,
            **reporter.latest_fields(),
            status=TaskRunStatus.SUCCESS,
            output_dump=output_dump,
            result_refs=list(_result_refs(output)),
            finished_at=_now(),
            duration_ms=_ms_since(started),
        )
    return output, output_dump


async def _invoke(info: OperationInfo, args: tuple[Any, ...]) -> Any:
    """The function's output, within its `timeout_s` (OperationTimedOut past it)."""
    call = info.func(*args) if info.is_async else _in_own_thread(info, args)
    if info.timeout_s is None:
        return await call
    limit = asyncio.timeout(info.timeout_s)
    try:
        async with limit:
            return await call
    except TimeoutError as exc:
        if limit.expired():  # not a TimeoutError of the operation's own
            raise OperationTimedOut(info.name, info.timeout_s, not info.is_async) from exc
        raise


async def _in_own_thread(info: OperationInfo, args: tuple[Any, ...]) -> Any:
    """Call a sync operation in a daemon thread of its own, in the caller's context (so it
    sees the actor). A thread cannot be stopped: one past its timeout must neither hold a
    worker of a shared pool nor keep the process from exiting."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if result.done():  # the caller stopped waiting (timed out, cancelled)
            return
        if error is None:
            result.set_result(value)
        else:
            result.set_exception(error)

    def work() -> None:
        try:
            value, error = context.run(info.func, *args), None
        except BaseException as exc:
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the event loop closed meanwhile
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=f"operation {info.name}", daemon=True).start()
    return await result


async def _run_in_background(
    info: OperationInfo, args: tuple[Any, ...], task_run: TaskRun, lease_s: float
) -> None:
    try:
        with contextlib.suppress(OperationFailed):  # recorded and logged already
            await _execute(info, args, task_run, lease_s)
    except Exception as exc:
        logger.error(
            "could not record the run of %r (TaskRun %s):\n%s",
            info.name,
            task_run.id,
            _traceback_text(exc),
        )


def _log_failure(info: OperationInfo, task_run: TaskRun | None, exc: BaseException) -> None:
    """One log line per failed run: a refusal or a timeout says what happened, a crash
    brings its traceback; all redacted."""
    where = f"TaskRun {task_run.id}" if task_run is not None else "no TaskRun"
    if isinstance(exc, OperationError):
        logger.info("operation %r refused (%s): %s", info.name, where, redact(str(exc)))
    elif isinstance(exc, OperationTimedOut):
        logger.warning("operation %r stopped (%s): %s", info.name, where, exc)
    elif isinstance(exc, asyncio.CancelledError):
        logger.warning("operation %r cancelled (%s)", info.name, where)
    else:
        logger.error("operation %r failed (%s):\n%s", info.name, where, _traceback_text(exc))


def error_text(exc: BaseException) -> str:
    """`Type: message`, redacted; the type alone when the message is empty (KeyboardInterrupt)."""
    message = str(exc)
    return redact(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)


def _traceback_text(exc: BaseException) -> str:
    return redact("".join(traceback.format_exception(exc)))


# --------------------------------------------------------------------------- leases


@asynccontextmanager
async def _holding_lease(task_run: TaskRun | None, lease_s: float | None) -> AsyncIterator[None]:
    """Renew the lease on `task_run` while the block runs (with a lease to renew)."""
    if task_run is None or lease_s is None:
        yield
        return
    async with _alongside(_renew_lease(task_run, lease_s), f"lease of TaskRun {task_run.id}"):
        yield


async def _renew_lease(task_run: TaskRun, lease_s: float) -> None:
    collection = TaskRun.get_pymongo_collection()
    while True:
        await asyncio.sleep(lease_s / RENEWALS_PER_LEASE)
        expires_at = _now() + timedelta(seconds=lease_s)
        try:
            await collection.update_one(
                {"_id": task_run.id, "lease_owner": RUN_OWNER, "status": {"$in": UNFINISHED}},
                {"$set": {"lease_expires_at": expires_at}},
            )
        except Exception as exc:  # the next renewal may succeed; the run goes on meanwhile
            logger.warning(
                "could not renew the lease of TaskRun %s: %s", task_run.id, redact(str(exc))
            )
        else:
            task_run.lease_expires_at = expires_at


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    fraction: float
    message: str | None


ProgressListener = Callable[[Progress], None]

_progress_listener: ContextVar[ProgressListener | None] = ContextVar(
    "jobhunter_progress_listener", default=None
)


class _ProgressReporter:
    """The progress of one run: `report_progress` keeps the latest report here (from the event
    loop or the operation's own thread: one attribute assignment), and `writing` copies it to
    the run's record at most every PROGRESS_WRITE_INTERVAL_S."""

    def __init__(self, task_run: TaskRun | None) -> None:
        self.task_run = task_run
        self.latest: Progress | None = None

    @contextmanager
    def current(self) -> Iterator[None]:
        token = _current_progress.set(self)
        try:
            yield
        finally:
            _current_progress.reset(token)

    def writing(self) -> contextlib.AbstractAsyncContextManager[None]:
        if self.task_run is None:
            return contextlib.nullcontext()
        return _alongside(self._write_changes(self.task_run), f"progress of {self.task_run.id}")

    def latest_fields(self) -> dict[str, Any]:
        if self.latest is None:
            return {}
        return {"progress": self.latest.fraction, "progress_message": self.latest.message}

    async def _write_changes(self, task_run: TaskRun) -> None:
        collection = TaskRun.get_pymongo_collection()
        written: Progress | None = None
        while True:
            await asyncio.sleep(PROGRESS_WRITE_INTERVAL_S)
            latest = self.latest
            if latest is None or latest == written:
                continue
            try:
                await collection.update_one(
                    {"_id": task_run.id, "status": TaskRunStatus.RUNNING.value},
                    {"$set": self.latest_fields()},
                )
            except Exception as exc:  # a later write may succeed; the run goes on meanwhile
                logger.warning(
                    "could not record the progress of TaskRun %s: %s",
                    task_run.id,
                    redact(str(exc)),
                )
            else:
                written = latest


_current_progress: ContextVar[_ProgressReporter | None] = ContextVar(
    "jobhunter_progress", default=None
)


def report_progress(fraction: float, message: str | None = None) -> None:
    """Say how far the running operation is: `fraction` from 0 (started) to 1 (done), with an
    optional short message ("page 3 of 10"). Call it from the operation's body, async or sync;
    it returns at once, and its record shows the latest report within a moment. Outside an
    operation's run (the function called directly, in a unit test) it does nothing, so the
    same code runs either way. Raises ValueError for a fraction that is not a number from 0
    to 1."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float):
        raise ValueError(f"progress must be a number from 0 to 1, not {fraction!r}")
    if not (math.isfinite(fraction) and 0 <= fraction <= 1):
        raise ValueError(f"progress must be a number from 0 to 1, not {fraction!r}")
    if message is not None:
        message = redact(str(message))[:PROGRESS_MESSAGE_MAX_CHARS]
    reporter = _current_progress.get()
    if reporter is None:
        return
    progress = Progress(float(fraction), message)
    reporter.latest = progress
    if (listener := _progress_listener.get()) is not None:
        listener(progress)


@contextmanager
def following_progress(listener: ProgressListener) -> Iterator[None]:
    """Runs started inside the block tell `listener` every progress report, as it is made
    (possibly from the operation's own thread): a terminal draws its bar from it."""
    token = _progress_listener.set(listener)
    try:
        yield
    finally:
        _progress_listener.reset(token)


async def mark_abandoned_runs() -> int:
    """Mark `abandoned` every unfinished run whose lease has expired; returns how many. One
    atomic update, the expiry in its filter: processes sweeping at once each mark a run at
    most once between them, and never a run whose owner renewed its lease meanwhile."""
    now = _now()
    result = await TaskRun.get_pymongo_collection().update_many(
        {"status": {"$in": UNFINISHED}, "lease_expires_at": {"$lt": now}},
        {
            "$set": {
                "status": TaskRunStatus.ABANDONED.value,
                "error": ABANDONED_ERROR,
                "finished_at": now,
            }
        },
    )
    return result.modified_count


def reclaiming_abandoned_runs(lease_s: float) -> contextlib.AbstractAsyncContextManager[None]:
    """While the block runs, look for abandoned runs `SWEEPS_PER_LEASE` times per lease:
    an app's lifespan, so that any live replica reclaims the runs of a dead one."""
    return _alongside(_sweep(lease_s / SWEEPS_PER_LEASE), "abandoned TaskRun sweeper")


async def _sweep(every_s: float) -> None:
    while True:
        try:
            if marked := await mark_abandoned_runs():
                logger.warning("marked %d run(s) abandoned: their lease expired", marked)
        except Exception as exc:  # the database may be back at the next sweep
            logger.warning("could not look for abandoned runs: %s", redact(str(exc)))
        await asyncio.sleep(every_s)


@asynccontextmanager
async def _alongside(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run `work` as a task while the block runs; cancel it after."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


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


def _output_dump(info: OperationInfo, output: Any) -> Any:
    """The output's JSON form, checked to fit a MongoDB document (64-bit integers, valid
    UTF-8), so that what a run records as its success can be stored and answered."""
    try:
        dump = to_jsonable_python(output)
        bson.encode({"output_dump": dump})
    except Exception as exc:
        raise OutputNotStorable(info.name, exc) from exc
    return dump


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
