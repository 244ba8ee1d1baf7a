"""`@datamodel` and `@operation`: register metadata when user modules are imported.

The compiler reads these decorators statically, so every argument must be a literal (or a
name bound to a module-level literal). At run time `@datamodel` returns the class unchanged
and `@operation` wraps the function in the TaskRun lifecycle (see taskrun.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from .registry import ModelInfo, ModelRegistry, OperationInfo, OperationRegistry
from .taskrun import Operation, direct_call

C = TypeVar("C", bound=type)


def datamodel(
    name: str | None = None,
    *,
    description: str | None = None,
    tags: Sequence[str] = (),
    ui: dict[str, Any] | None = None,
    relations: Sequence[Any] = (),
    permissions: dict[str, Sequence[str]] | None = None,
) -> Callable[[C], C]:
    """Mark a Beanie `Document` as a model of the generated stack. `permissions` (roles per
    action) is read by the compiler and enforced by the generated API."""

    def register(cls: C) -> C:
        ModelRegistry.register(
            name or cls.__name__,
            ModelInfo(
                name=name or cls.__name__,
                document_cls=cls,
                description=description,
                tags=tuple(tags),
                ui=dict(ui or {}),
                relations=tuple(relations),
            ),
        )
        return cls

    return register


def operation(
    name: str | None = None,
    *,
    description: str | None = None,
    category: str | None = None,
    inputs: type | None = None,
    outputs: type | None = None,
    tags: Sequence[str] = (),
    models_in: Sequence[str] = (),
    models_out: Sequence[str] = (),
    async_enabled: bool = True,
    retries: int = 0,
    timeout_s: float | None = None,
    roles: Sequence[str] | None = None,
) -> Callable[[Callable[..., Any]], Operation]:
    """Mark a function (async or not) as an operation exposed by every surface. The result is
    always awaited; `retries` and `timeout_s` are for the orchestration layer, not enforced;
    `roles` (who may run it) is read by the compiler and enforced by the generated API."""

    def register(func: Callable[..., Any]) -> Operation:
        info = OperationInfo(
            name=name or func.__name__,
            func=func,
            description=description,
            category=category,
            inputs=inputs,
            outputs=outputs,
            tags=tuple(tags),
            models_in=tuple(models_in),
            models_out=tuple(models_out),
            async_enabled=async_enabled,
            retries=retries,
            timeout_s=timeout_s,
        )
        OperationRegistry.register(info.name, info)

        @functools.wraps(func)
        async def run(*args: Any) -> Any:
            return await direct_call(info, args)

        run.operation_info = info  # type: ignore[attr-defined]
        return cast(Operation, run)

    return register
