"""The TaskRun lifecycle of `@operation`, against a real MongoDB server (the
`mongo_url`/`mongo_db_name` fixtures of tests/mongo_fixture.py)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
import types
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from beanie import Document
from pydantic import BaseModel

from jobhunter_compiler import (
    RUNTIME_DOCUMENT_MODELS,
    Actor,
    OperationError,
    OperationFailed,
    TaskRun,
    TaskRunStatus,
    acting_as,
    call_operation,
    current_actor,
    operation,
    report_progress,
    submit_operation,
)
from jobhunter_runtime import OperationRegistry
from jobhunter_runtime.prefect import prefect_run_ids
from jobhunter_runtime.taskrun import (
    ABANDONED_ERROR,
    RUN_OWNER,
    OperationTimedOut,
    OutputNotStorable,
    Progress,
    finish_background_runs,
    following_progress,
    mark_abandoned_runs,
    reclaiming_abandoned_runs,
)

pytestmark = pytest.mark.anyio
TERMINAL = {
    TaskRunStatus.SUCCESS,
    TaskRunStatus.FAILED,
    TaskRunStatus.TIMED_OUT,
    TaskRunStatus.ABANDONED,
}


class Note(Document):
    text: str

    class Settings:
        name = "notes"


class WriteNotesInput(BaseModel):
    texts: list[str]


class WriteNotesOutput(BaseModel):
    count: int
    notes: list[Note]


class EchoInput(BaseModel):
    text: str
    times: int = 1


@operation(name="taskrun_test.echo", models_out=[])
async def echo(payload: EchoInput) -> dict[str, Any]:
    await asyncio.sleep(0.001)
    return {"echo": payload.text * payload.times, "actor": current_actor().channel}


@operation(name="taskrun_test.crash")
async def crash(payload: EchoInput) -> None:
    raise RuntimeError(f"the scraper fell over on {payload.text}")


@operation(name="taskrun_test.refuse")
async def refuse(payload: EchoInput) -> None:
    raise OperationError(f"no job called {payload.text!r}")


@operation(name="taskrun_test.ping")
async def ping() -> str:
    return "pong"


@operation(name="taskrun_test.unrecorded", async_enabled=False)
async def unrecorded(payload: EchoInput) -> str:
    if payload.times < 0:
        raise ValueError("times must not be negative")
    return payload.text


@operation(name="taskrun_test.in_thread")
def in_thread(payload: EchoInput) -> dict[str, Any]:
    return {"thread": threading.get_ident(), "actor": current_actor().model_dump()}


@operation(name="taskrun_test.own_record")
async def own_record() -> dict[str, Any]:
    """Reads the record of its own run while it runs."""
    runs = await TaskRun.find(TaskRun.operation_name == "taskrun_test.own_record").to_list()
    return {"count": len(runs), "status": runs[0].status, "started": runs[0].started_at is not None}


@operation(name="taskrun_test.write_notes", models_out=["Note"])
async def write_notes(payload: WriteNotesInput) -> WriteNotesOutput:
    notes = [Note(text=text) for text in payload.texts]
    for note in notes:
        await note.insert()
    return WriteNotesOutput(count=len(notes), notes=notes)


@operation(name="taskrun_test.write_note")
async def write_note(payload: EchoInput) -> Note:
    return await Note(text=payload.text).insert()


@operation(name="taskrun_test.exit")
async def exit_interpreter() -> None:
    sys.exit(2)


@operation(name="taskrun_test.interrupt_in_thread")
def interrupt_in_thread() -> None:
    raise KeyboardInterrupt


@operation(name="taskrun_test.overrun", timeout_s=0.3)
async def overrun() -> str:
    await asyncio.sleep(5)
    return "too late"


THREAD_RELEASED = threading.Event()


@operation(name="taskrun_test.overrun_in_thread", timeout_s=0.3)
def overrun_in_thread() -> str:
    THREAD_RELEASED.wait(5)
    return "too late"


@operation(name="taskrun_test.own_timeout", timeout_s=5)
async def own_timeout() -> None:
    raise TimeoutError("the job board did not answer")


@operation(name="taskrun_test.unstorable")
async def unstorable(payload: EchoInput) -> dict[str, Any]:
    return {"big": 2**70} if payload.text == "big" else {"handle": object()}


@operation(name="taskrun_test.leak")
async def leak() -> None:
    url, token = os.environ["TASKRUN_TEST_DB_URL"], os.environ["TASKRUN_TEST_TOKEN"]
    raise RuntimeError(f"cannot log in to {url} with {token}")


GATES: dict[str, asyncio.Event] = {}
"""Events a test sets to let `wait_for_gate` finish (one per test: an Event binds to a loop)."""


@operation(name="taskrun_test.wait_for_gate")
async def wait_for_gate(payload: EchoInput) -> str:
    if payload.text in GATES:
        await GATES.pop(payload.text).wait()
    if payload.times < 0:
        raise RuntimeError("negative in the background")
    return f"{payload.text} by {current_actor().user_id}"


STEP_GATES: dict[str, threading.Event] = {}
"""Per test: each step of `in_steps` waits for its event, so a test sees every step recorded."""


@operation(name="taskrun_test.in_steps")
def in_steps(payload: EchoInput) -> str:
    """A sync operation (its own thread) reporting `times` steps."""
    for step in range(1, payload.times + 1):
        if payload.text in STEP_GATES:
            STEP_GATES[payload.text].wait(5)
            STEP_GATES[payload.text].clear()
        report_progress(step / payload.times, f"step {step} of {payload.times}")
    return "done"


@operation(name="taskrun_test.reports_quickly")
async def reports_quickly(payload: EchoInput) -> str:
    for step in range(payload.times + 1):
        report_progress(step / payload.times)
    if payload.text == "bad":
        report_progress(1.5)
    return "done"


@pytest.fixture
def document_models() -> list[Any]:
    return [*RUNTIME_DOCUMENT_MODELS, Note]


async def stored(task_run: TaskRun | None) -> TaskRun:
    assert task_run is not None and task_run.id is not None
    found = await TaskRun.get(task_run.id)
    assert found is not None
    return found


async def wait_until_finished(task_run: TaskRun, timeout_s: float = 10.0) -> TaskRun:
    async with asyncio.timeout(timeout_s):
        while (found := await stored(task_run)).status not in TERMINAL:
            await asyncio.sleep(0.01)
    return found


async def test_success_records_the_whole_lifecycle(beanie_database: None) -> None:
    with acting_as(Actor(user_id="ada", channel="cli")):
        outcome = await call_operation(echo, EchoInput(text="ab", times=2))

    assert outcome.output == {"echo": "abab", "actor": "cli"}
    run = await stored(outcome.task_run)
    assert run.operation_name == "taskrun_test.echo"
    assert run.status is TaskRunStatus.SUCCESS
    assert run.actor == Actor(user_id="ada", channel="cli")
    assert run.input_dump == {"text": "ab", "times": 2}
    assert run.output_dump == {"echo": "abab", "actor": "cli"}
    assert run.error is None and run.traceback is None
    assert run.started_at is not None and run.finished_at is not None
    assert run.created_at <= run.started_at <= run.finished_at
    assert run.created_at.tzinfo is not None
    assert run.duration_ms is not None and run.duration_ms > 0
    assert not run.orchestrated and run.prefect_flow_run_id is None and run.replay_of is None


async def test_a_direct_call_returns_the_output_and_records_the_python_channel(
    beanie_database: None,
) -> None:
    assert await echo(EchoInput(text="hi")) == {"echo": "hi", "actor": "python"}

    [run] = await TaskRun.find_all().to_list()
    assert run.status is TaskRunStatus.SUCCESS
    assert run.actor == Actor(user_id=None, channel="python")
    assert echo.__wrapped__.__name__ == "echo"
    assert echo.operation_info is OperationRegistry.get("taskrun_test.echo")


async def test_a_crash_is_recorded_with_its_traceback(beanie_database: None) -> None:
    with pytest.raises(OperationFailed) as caught:
        await call_operation(crash, EchoInput(text="page 3"))

    failed = caught.value
    assert isinstance(failed.original, RuntimeError)
    assert failed.__cause__ is failed.original
    assert not failed.reported
    assert failed.task_run is not None and str(failed.task_run.id) in str(failed)
    run = await stored(failed.task_run)
    assert run.status is TaskRunStatus.FAILED
    assert run.error == "RuntimeError: the scraper fell over on page 3"
    assert run.traceback is not None
    assert 'raise RuntimeError(f"the scraper fell over on {payload.text}")' in run.traceback
    assert "in crash" in run.traceback
    assert run.output_dump is None
    assert run.finished_at is not None and run.duration_ms is not None


async def test_a_direct_call_raises_the_operations_own_exception_after_recording(
    beanie_database: None,
) -> None:
    with pytest.raises(RuntimeError, match="fell over on p1") as caught:
        await crash(EchoInput(text="p1"))

    assert not isinstance(caught.value.__context__, OperationFailed)
    [run] = await TaskRun.find_all().to_list()
    assert run.status is TaskRunStatus.FAILED


async def test_operation_error_is_a_reported_failure(beanie_database: None) -> None:
    with pytest.raises(OperationFailed) as caught:
        await call_operation(refuse, EchoInput(text="x"))

    assert caught.value.reported
    assert str(caught.value.original) == "no job called 'x'"
    assert (await stored(caught.value.task_run)).error == "OperationError: no job called 'x'"


async def test_the_record_exists_before_the_body_runs(beanie_database: None) -> None:
    outcome = await call_operation(own_record)

    assert outcome.output == {"count": 1, "status": TaskRunStatus.RUNNING, "started": True}


async def test_a_sync_operation_runs_in_a_worker_thread_as_the_actor(beanie_database: None) -> None:
    with acting_as(Actor(user_id="bob", channel="api")):
        outcome = await call_operation(in_thread, EchoInput(text="t"))

    assert outcome.output["thread"] != threading.get_ident()
    assert outcome.output["actor"] == {"user_id": "bob", "email": None, "channel": "api"}
    assert in_thread.operation_info.is_async is False
    assert (await stored(outcome.task_run)).status is TaskRunStatus.SUCCESS


async def test_async_enabled_false_writes_nothing(beanie_database: None) -> None:
    assert await unrecorded(EchoInput(text="quiet")) == "quiet"
    outcome = await call_operation(unrecorded, EchoInput(text="quiet"))
    assert outcome.output == "quiet" and outcome.task_run is None
    with pytest.raises(OperationFailed) as caught:
        await call_operation(unrecorded, EchoInput(text="x", times=-1))
    assert caught.value.task_run is None and not caught.value.reported
    with pytest.raises(ValueError, match="async_enabled=False"):
        await submit_operation(unrecorded, EchoInput(text="x"))

    assert await TaskRun.find_all().count() == 0


async def test_submit_returns_the_pending_run_and_finishes_in_the_background(
    beanie_database: None,
) -> None:
    gate = GATES["job"] = asyncio.Event()
    with acting_as(Actor(user_id="cy", channel="ui")):
        submitted = await submit_operation(wait_for_gate, EchoInput(text="job"))

    assert submitted.status is TaskRunStatus.PENDING
    assert (await stored(submitted)).status in {TaskRunStatus.PENDING, TaskRunStatus.RUNNING}
    gate.set()
    run = await wait_until_finished(submitted)
    assert run.status is TaskRunStatus.SUCCESS
    assert run.output_dump == "job by cy"
    assert run.actor == Actor(user_id="cy", channel="ui")
    assert submitted.status is TaskRunStatus.PENDING, "the caller's copy is a snapshot"


async def test_shutdown_cancels_runs_still_going_and_records_them(beanie_database: None) -> None:
    GATES["never"] = asyncio.Event()  # never set: the run would wait forever
    submitted = await submit_operation(wait_for_gate, EchoInput(text="never"))
    await finish_background_runs(timeout_s=0.2)
    run = await stored(submitted)
    assert run.status is TaskRunStatus.FAILED
    assert run.error is not None and run.error.startswith("CancelledError")
    assert run.finished_at is not None
    await finish_background_runs(timeout_s=0.2)  # nothing left: returns at once


async def test_a_background_failure_is_recorded_and_logged(
    beanie_database: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="jobhunter.operations"):
        submitted = await submit_operation(wait_for_gate, EchoInput(text="oops", times=-1))
        run = await wait_until_finished(submitted)

    assert run.status is TaskRunStatus.FAILED
    assert run.error == "RuntimeError: negative in the background"
    assert str(submitted.id) in caplog.text


async def test_replay_of_is_recorded(beanie_database: None) -> None:
    first = (await call_operation(echo, EchoInput(text="a"))).task_run
    assert first is not None
    replay = await call_operation(echo, EchoInput(text="a"), replay_of=str(first.id))
    submitted = await submit_operation(echo, EchoInput(text="a"), replay_of=str(first.id))

    assert (await stored(replay.task_run)).replay_of == str(first.id)
    assert (await wait_until_finished(submitted)).replay_of == str(first.id)


async def test_returned_documents_become_result_refs(beanie_database: None) -> None:
    many = await call_operation(write_notes, WriteNotesInput(texts=["a", "b"]))
    one = await call_operation(write_note, EchoInput(text="c"))

    notes = many.output.notes
    assert [(r.collection, r.document_id) for r in (await stored(many.task_run)).result_refs] == [
        ("notes", str(notes[0].id)),
        ("notes", str(notes[1].id)),
    ]
    run = await stored(one.task_run)
    assert [(r.collection, r.document_id) for r in run.result_refs] == [
        ("notes", str(one.output.id))
    ]
    assert run.output_dump["text"] == "c" and run.output_dump["_id"] == str(one.output.id)


async def test_no_input_operation(beanie_database: None) -> None:
    outcome = await call_operation(ping)

    run = await stored(outcome.task_run)
    assert outcome.output == "pong"
    assert run.input_dump == {} and run.output_dump == "pong"


def fake_prefect(flow_run_id: str | None, task_run_id: str | None) -> dict[str, Any]:
    """Modules standing in for Prefect's context API (Prefect is not installed)."""

    def context_class(attribute: str, run_id: str | None) -> type:
        run = types.SimpleNamespace(id=run_id)
        context = None if run_id is None else types.SimpleNamespace(**{attribute: run})
        return type(attribute, (), {"get": staticmethod(lambda: context)})

    context_module = types.ModuleType("prefect.context")
    context_module.FlowRunContext = context_class("flow_run", flow_run_id)  # type: ignore[attr-defined]
    context_module.TaskRunContext = context_class("task_run", task_run_id)  # type: ignore[attr-defined]
    prefect = types.ModuleType("prefect")
    prefect.context = context_module  # type: ignore[attr-defined]
    return {"prefect": prefect, "prefect.context": context_module}


async def test_a_run_inside_prefect_records_the_run_ids(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, module in fake_prefect("flow-1", "task-1").items():
        monkeypatch.setitem(sys.modules, name, module)

    outcome = await call_operation(echo, EchoInput(text="orchestrated"))

    run = await stored(outcome.task_run)
    assert run.orchestrated
    assert (run.prefect_flow_run_id, run.prefect_task_run_id) == ("flow-1", "task-1")
    assert run.actor.channel == "prefect"
    with acting_as(Actor(channel="api")):
        assert current_actor().channel == "api"


def test_prefect_ids_need_prefect_to_be_imported_already(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "prefect", raising=False)
    assert prefect_run_ids() is None
    assert "prefect" not in sys.modules

    for name, module in fake_prefect(None, None).items():
        monkeypatch.setitem(sys.modules, name, module)
    assert prefect_run_ids() is None
    for name, module in fake_prefect("flow-2", None).items():
        monkeypatch.setitem(sys.modules, name, module)
    assert prefect_run_ids() == ("flow-2", None)


async def test_an_uninitialised_task_run_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TaskRun, "_document_settings", None)

    with pytest.raises(RuntimeError, match=r"TaskRun is not initialised.*init_beanie"):
        await call_operation(echo, EchoInput(text="x"))
    with pytest.raises(RuntimeError, match="document_models"):
        await echo(EchoInput(text="x"))


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("op", [exit_interpreter, interrupt_in_thread], ids=["exit", "interrupt"])
async def test_an_interpreter_exit_fails_its_run_and_nothing_else(
    beanie_database: None, op: Any
) -> None:
    raised = SystemExit if op is exit_interpreter else KeyboardInterrupt
    error = "SystemExit: 2" if op is exit_interpreter else "KeyboardInterrupt"
    with pytest.raises(OperationFailed) as caught:
        await call_operation(op)
    submitted = await submit_operation(op)

    assert isinstance(caught.value.original, raised)
    for run in (await stored(caught.value.task_run), await wait_until_finished(submitted)):
        assert run.status is TaskRunStatus.FAILED
        assert run.error == error
    with pytest.raises(raised):  # a direct call gets the function's own exception
        await op()


async def test_an_operation_past_its_timeout_is_cancelled_and_recorded_timed_out(
    beanie_database: None,
) -> None:
    started = time.monotonic()
    with pytest.raises(OperationFailed) as caught:
        await call_operation(overrun)
    elapsed = time.monotonic() - started

    assert 0.3 <= elapsed < 1.0
    assert isinstance(caught.value.original, OperationTimedOut)
    run = await stored(caught.value.task_run)
    assert run.status is TaskRunStatus.TIMED_OUT
    assert run.error == (
        "OperationTimedOut: operation 'taskrun_test.overrun' exceeded its time limit "
        "(timeout_s=0.3): it was cancelled"
    )
    assert run.duration_ms is not None and 300 <= run.duration_ms < 1000
    assert "await asyncio.sleep(5)" in (run.traceback or "")
    background = await wait_until_finished(await submit_operation(overrun))
    assert background.status is TaskRunStatus.TIMED_OUT


async def test_a_sync_operation_past_its_timeout_is_left_behind_and_says_so(
    beanie_database: None,
) -> None:
    THREAD_RELEASED.clear()
    started = time.monotonic()
    try:
        with pytest.raises(OperationFailed) as caught:
            await call_operation(overrun_in_thread)
    finally:
        THREAD_RELEASED.set()

    assert time.monotonic() - started < 1.0
    run = await stored(caught.value.task_run)
    assert run.status is TaskRunStatus.TIMED_OUT
    assert run.error is not None and "timeout_s=0.3" in run.error
    assert "it runs in a thread, which cannot be stopped" in run.error


async def test_a_timeout_error_of_the_operations_own_is_a_plain_failure(
    beanie_database: None,
) -> None:
    with pytest.raises(OperationFailed) as caught:
        await call_operation(own_timeout)

    assert type(caught.value.original) is TimeoutError
    run = await stored(caught.value.task_run)
    assert run.status is TaskRunStatus.FAILED
    assert run.error == "TimeoutError: the job board did not answer"


@pytest.mark.parametrize(
    ("text", "why"),
    [("big", "MongoDB can only handle up to 8-byte ints"), ("object", "Unable to serialize")],
)
async def test_an_output_that_cannot_be_stored_fails_the_run(
    beanie_database: None, text: str, why: str
) -> None:
    with pytest.raises(OperationFailed) as caught:
        await call_operation(unstorable, EchoInput(text=text))

    assert isinstance(caught.value.original, OutputNotStorable)
    run = await stored(caught.value.task_run)
    assert run.status is TaskRunStatus.FAILED and run.output_dump is None
    assert run.error is not None
    assert "the output of operation 'taskrun_test.unstorable' cannot be stored" in run.error
    assert why in run.error


async def test_errors_tracebacks_and_log_lines_are_redacted(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TASKRUN_TEST_DB_URL", "mongodb://app:hunter2hunter2@db:27017/jobs")
    monkeypatch.setenv("TASKRUN_TEST_TOKEN", "tok_8c1d9f2e7a")
    with (
        caplog.at_level(logging.ERROR, logger="jobhunter.operations"),
        pytest.raises(OperationFailed) as caught,
    ):
        await call_operation(leak)

    run = await stored(caught.value.task_run)
    assert run.error == "RuntimeError: cannot log in to mongodb://***@db:27017/jobs with ***"
    assert run.traceback is not None and run.error in run.traceback
    assert run.error in caplog.text and "Traceback" in caplog.text
    for text in (run.error, run.traceback, str(caught.value), caplog.text):
        assert "hunter2hunter2" not in text and "tok_8c1d9f2e7a" not in text


# --------------------------------------------------------------------------- leases


async def test_a_run_holds_a_lease_its_process_renews_while_it_runs(beanie_database: None) -> None:
    gate = GATES["leased"] = asyncio.Event()
    submitted = await submit_operation(wait_for_gate, EchoInput(text="leased"), lease_s=0.6)
    first = await stored(submitted)
    assert first.lease_owner == RUN_OWNER and first.lease_expires_at is not None
    assert first.lease_expires_at - first.created_at <= timedelta(seconds=0.7)

    # Three leases long, with a sweep every 50 ms: the renewals keep it from being reclaimed.
    deadline = time.monotonic() + 1.8
    while time.monotonic() < deadline:
        assert await mark_abandoned_runs() == 0
        await asyncio.sleep(0.05)
    renewed = await stored(submitted)
    assert renewed.lease_expires_at is not None
    assert renewed.lease_expires_at > first.lease_expires_at + timedelta(seconds=1)
    gate.set()
    assert (await wait_until_finished(submitted)).status is TaskRunStatus.SUCCESS


async def test_runs_whose_lease_expired_are_marked_abandoned_once(beanie_database: None) -> None:
    now = datetime.now(UTC)
    past, future = now - timedelta(seconds=5), now + timedelta(minutes=5)

    async def insert(status: TaskRunStatus, lease_expires_at: datetime | None) -> TaskRun:
        return await TaskRun(
            operation_name="taskrun_test.lease",
            status=status,
            lease_owner=None if lease_expires_at is None else "gone:1:0",
            lease_expires_at=lease_expires_at,
        ).insert()

    orphans = [await insert(TaskRunStatus.RUNNING, past), await insert(TaskRunStatus.PENDING, past)]
    untouched = [
        await insert(TaskRunStatus.RUNNING, future),  # its process renews it
        await insert(TaskRunStatus.SUCCESS, past),  # finished
        await insert(TaskRunStatus.PENDING, None),  # handed to an orchestrator: no lease
    ]

    # Five replicas sweeping at once mark each orphan exactly once between them.
    assert sum(await asyncio.gather(*(mark_abandoned_runs() for _ in range(5)))) == 2
    for orphan in orphans:
        run = await stored(orphan)
        assert run.status is TaskRunStatus.ABANDONED and run.error == ABANDONED_ERROR
        assert run.finished_at is not None and run.finished_at >= now - timedelta(seconds=1)
    for kept in untouched:
        assert (await stored(kept)).status is kept.status


async def test_a_sweeper_reclaims_abandoned_runs_while_its_block_runs(
    beanie_database: None,
) -> None:
    expiring = await TaskRun(
        operation_name="taskrun_test.lease",
        status=TaskRunStatus.RUNNING,
        lease_owner="gone:1:0",
        lease_expires_at=datetime.now(UTC) + timedelta(seconds=0.3),
    ).insert()

    async with reclaiming_abandoned_runs(lease_s=0.6):
        run = await wait_until_finished(expiring, timeout_s=1.0)

    assert run.status is TaskRunStatus.ABANDONED


async def test_progress_reaches_the_record_while_the_run_goes_on(beanie_database: None) -> None:
    gate = STEP_GATES["stepped"] = threading.Event()
    submitted = await submit_operation(in_steps, EchoInput(text="stepped", times=3))
    seen: list[float] = []
    async with asyncio.timeout(10):
        for step in range(1, 4):
            gate.set()
            while (run := await stored(submitted)).progress != pytest.approx(step / 3):
                await asyncio.sleep(0.05)
            assert run.progress_message == f"step {step} of 3"
            if run.status is TaskRunStatus.RUNNING:
                seen.append(run.progress)
    assert seen == sorted(seen) and len(seen) >= 2
    finished = await wait_until_finished(submitted)
    assert finished.status is TaskRunStatus.SUCCESS
    assert (finished.progress, finished.progress_message) == (1.0, "step 3 of 3")
    del STEP_GATES["stepped"]


async def test_progress_is_throttled_and_the_last_report_is_kept(beanie_database: None) -> None:
    outcome = await call_operation(reports_quickly, EchoInput(text="many", times=1000))
    run = await stored(outcome.task_run)
    assert run.status is TaskRunStatus.SUCCESS and run.progress == 1.0
    assert run.progress_message is None


async def test_a_progress_out_of_range_fails_the_run_saying_why(beanie_database: None) -> None:
    with pytest.raises(OperationFailed) as failed:
        await call_operation(reports_quickly, EchoInput(text="bad", times=2))
    run = await stored(failed.value.task_run)
    assert run.status is TaskRunStatus.FAILED and run.progress == 1.0
    assert run.error == "ValueError: progress must be a number from 0 to 1, not 1.5"


@pytest.mark.parametrize("fraction", [-0.1, float("nan"), True, "half"])
def test_report_progress_refuses_what_is_not_a_fraction(fraction: Any) -> None:
    with pytest.raises(ValueError, match="progress must be a number from 0 to 1"):
        report_progress(fraction)


def test_report_progress_outside_a_run_does_nothing() -> None:
    heard: list[Progress] = []
    with following_progress(heard.append):
        report_progress(0.5, "halfway")
    assert heard == []


async def test_a_listener_hears_every_report_of_a_run(beanie_database: None) -> None:
    heard: list[Progress] = []
    with following_progress(heard.append):
        await call_operation(in_steps, EchoInput(text="heard", times=4))
    assert heard == [Progress(step / 4, f"step {step} of 4") for step in range(1, 5)]
