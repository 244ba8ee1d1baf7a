"""The pacing of a TaskRun's event stream (`jobhunter_runtime.http.task_run_events`), driven
in-process against a real MongoDB server with short timings: the heartbeat, the bounded
lifetime, the client going away and the database failing. The stream over HTTP (events in
order, the final event, 401/404 before any byte) is tested on the generated apps, in
tests/test_generated_api.py and tests/test_auth_matrix.py."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from fastapi import Request
from fastapi.sse import ServerSentEvent
from pymongo.errors import ServerSelectionTimeoutError

from jobhunter_runtime.http import (
    TASK_RUN_DEFAULT_SORT,
    TASK_RUN_FILTERS,
    ModelResource,
    RunStreamTiming,
    task_run_events,
)
from jobhunter_runtime.records import Pagination
from jobhunter_runtime.taskrun import RUNTIME_DOCUMENT_MODELS, TaskRun, TaskRunStatus

pytestmark = pytest.mark.anyio

RESOURCE = ModelResource(
    name="TaskRun",
    document=TaskRun,
    list_spec=TASK_RUN_FILTERS,
    pagination=Pagination(max_page_size=100, default_page_size=25, max_list_bytes=1 << 20),
    default_sort=TASK_RUN_DEFAULT_SORT,
)
QUICK = RunStreamTiming(check_s=0.02, heartbeat_s=0.15, lifetime_s=0.5, reconnect_ms=250)


class Client:
    """The request of a stream: `gone` says the client closed the connection."""

    def __init__(self) -> None:
        self.gone = False

    async def is_disconnected(self) -> bool:
        return self.gone


@pytest.fixture
def document_models() -> list[Any]:
    return [*RUNTIME_DOCUMENT_MODELS]


async def running_run() -> TaskRun:
    """A running run as the stream gets it: read from the database (which keeps times to
    the millisecond)."""
    run = await TaskRun(operation_name="events_test", status=TaskRunStatus.RUNNING).insert()
    stored = await TaskRun.get(run.id)
    assert stored is not None
    return stored


def stream(run: TaskRun, client: Client, timing: RunStreamTiming = QUICK) -> Any:
    request: Request = client  # type: ignore[assignment]  # the stream asks it one thing
    return task_run_events(RESOURCE, run, request, timing)


async def test_the_first_event_says_when_to_reconnect_and_later_ones_only_changes(
    beanie_database: None,
) -> None:
    run = await running_run()
    events = stream(run, Client())
    first = await anext(events)
    assert (first.event, first.retry) == ("update", QUICK.reconnect_ms)
    await TaskRun.get_pymongo_collection().update_one(
        {"_id": run.id}, {"$set": {"progress": 0.5, "progress_message": "half"}}
    )
    second = await anext(events)
    assert second.event == "update" and second.retry is None
    assert '"progress":0.5' in (second.raw_data or "")
    await TaskRun.get_pymongo_collection().update_one(
        {"_id": run.id}, {"$set": {"status": "success", "progress": 1.0}}
    )
    last = await anext(events)
    assert last.event == "end" and '"status":"success"' in (last.raw_data or "")
    with pytest.raises(StopAsyncIteration):
        await anext(events)


async def test_an_unchanged_run_gets_heartbeats_until_the_stream_s_lifetime_ends(
    beanie_database: None,
) -> None:
    run = await running_run()
    started = time.monotonic()
    sent: list[ServerSentEvent] = [event async for event in stream(run, Client())]
    elapsed = time.monotonic() - started
    assert sent[0].event == "update"
    heartbeats = sent[1:]
    assert heartbeats and all(event.comment == "heartbeat" for event in heartbeats), sent
    assert len(heartbeats) <= QUICK.lifetime_s / QUICK.heartbeat_s
    assert QUICK.lifetime_s <= elapsed < QUICK.lifetime_s + 5


async def test_the_stream_ends_when_the_client_goes_away(beanie_database: None) -> None:
    run = await running_run()
    client = Client()
    events = stream(run, client, RunStreamTiming(check_s=0.02, lifetime_s=60))
    assert (await anext(events)).event == "update"
    client.gone = True
    started = time.monotonic()
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert time.monotonic() - started < 5


async def test_a_database_failure_ends_the_stream_with_a_log_line_not_an_event(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    run = await running_run()

    async def unreachable(*args: Any, **kwargs: Any) -> None:
        raise ServerSelectionTimeoutError("db.example:27017: timed out")

    events = stream(run, Client())
    assert (await anext(events)).event == "update"
    monkeypatch.setattr(TaskRun, "get", unreachable)
    with caplog.at_level(logging.WARNING, logger="jobhunter.api"):
        rest = [event async for event in events]
    assert rest == []
    assert any("the database failed" in record.getMessage() for record in caplog.records)
