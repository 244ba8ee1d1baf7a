"""Prefect orchestration, for the generated `orchestration/` package and the API.

Imported only by generated code of a project with `orchestration: prefect`; Prefect itself
is imported inside the functions that need it, so importing this module never does.

Two halves:
- the API side, `PrefectDispatch`: `?background=true` records the pending TaskRun, then
  starts a flow run of the project's `run-operation` deployment for it and returns;
- the worker side, `run_recorded_operation`: that flow runs the operation, as a Prefect
  task with the operation's retries and timeout, on the recorded TaskRun.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient

from .registry import OperationInfo
from .taskrun import TaskRun, mark_dispatched, run_recorded


@dataclass(frozen=True)
class OperationTask:
    """An operation and the Prefect task that runs it (orchestration/tasks.py)."""

    function: Callable[..., Awaitable[Any]]
    task: Any


# --------------------------------------------------------------------------- database

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncMongoClient[Any]] = (
    weakref.WeakKeyDictionary()
)


async def ensure_beanie(url: str, database: str, documents: Sequence[type[Document]]) -> None:
    """Register `documents` with Beanie on a client of this event loop, once per loop: a
    PyMongo async client belongs to the loop it was first used on, and Prefect may run
    tasks on other loops than the flow's."""
    loop = asyncio.get_running_loop()
    if loop in _clients:
        return
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        url, tz_aware=True, uuidRepresentation="standard"
    )
    await init_beanie(database=client[database], document_models=list(documents))
    _clients[loop] = client


# --------------------------------------------------------------------------- worker side


async def run_recorded_operation(
    operations: Mapping[str, OperationTask], name: str, task_run_id: str
) -> Any:
    """Run operation `name` on the recorded TaskRun `task_run_id`, as a Prefect task with
    the options (retries, timeout) of the operation's own task."""
    # optional dependency: Prefect is installed with the `prefect` extra only
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    entry = _entry(operations, name)
    options = entry.task
    recorded = task(
        _run_recorded,
        name=options.name,
        retries=options.retries,
        retry_delay_seconds=options.retry_delay_seconds,
        timeout_seconds=options.timeout_seconds,
        cache_policy=NO_CACHE,
    )
    return await recorded(entry.function, task_run_id)


async def _run_recorded(function: Callable[..., Awaitable[Any]], task_run_id: str) -> Any:
    return await run_recorded(function, task_run_id)


async def run_step(
    operations: Mapping[str, OperationTask], name: str, input_data: Mapping[str, Any]
) -> Any:
    """Run operation `name` through its task, with `input_data` validated by its inputs."""
    entry = _entry(operations, name)
    info: OperationInfo = entry.function.operation_info  # type: ignore[attr-defined]
    if info.inputs is None:
        return await entry.task()
    return await entry.task(info.inputs.model_validate(dict(input_data)))  # type: ignore[attr-defined]


def _entry(operations: Mapping[str, OperationTask], name: str) -> OperationTask:
    try:
        return operations[name]
    except KeyError:
        known = ", ".join(sorted(operations)) or "none"
        raise ValueError(f"no operation {name!r} (operations: {known})") from None


# --------------------------------------------------------------------------- API side


@dataclass(frozen=True)
class PrefectDispatch:
    """Hands a recorded run to Prefect: a flow run of `deployment` ("flow/deployment"),
    started on the Prefect API at $PREFECT_API_URL, which a worker then picks up."""

    deployment: str

    async def __call__(self, info: OperationInfo, task_run: TaskRun) -> None:
        # optional dependency: Prefect is installed with the `prefect` extra only
        from prefect.deployments import run_deployment

        start = getattr(run_deployment, "aio", run_deployment)  # the async variant
        flow_run = await start(
            name=self.deployment,
            parameters={"operation": info.name, "task_run_id": str(task_run.id)},
            timeout=0,
            tags=["jobhunter", f"operation:{info.name}"],
            idempotency_key=str(task_run.id),
        )
        await mark_dispatched(task_run, str(flow_run.id))
