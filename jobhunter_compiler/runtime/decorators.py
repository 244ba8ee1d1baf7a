"""`@datamodel` and `@operation`: record metadata and return the decorated object.

The compiler reads these decorators statically, so every argument must be a literal (or a
name bound to a module-level literal). At run time they only fill the registries; the
TaskRun lifecycle around operations is added by the runtime of the generated API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .registry import ModelInfo, ModelRegistry, OperationInfo, OperationRegistry

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


def datamodel(
    name: str | None = None,
    *,
    description: str | None = None,
    tags: Sequence[str] = (),
    ui: dict[str, Any] | None = None,
    relations: Sequence[Any] = (),
) -> Callable[[C], C]:
    """Mark a Beanie `Document` as a model of the generated stack."""

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
) -> Callable[[F], F]:
    """Mark a function (async or not) as an operation exposed by every surface."""

    def register(func: F) -> F:
        op_name = name or func.__name__
        OperationRegistry.register(
            op_name,
            OperationInfo(
                name=op_name,
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
            ),
        )
        return func

    return register
