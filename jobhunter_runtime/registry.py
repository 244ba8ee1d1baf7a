"""Registries filled by the decorators when user modules are imported.

The compiler never reads them (it reads source); they exist for code that runs in the
same process as the user's modules: the generated app, the generated CLI, tests.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    document_cls: type
    description: str | None = None
    tags: tuple[str, ...] = ()
    ui: dict[str, Any] = field(default_factory=dict)
    relations: tuple[Any, ...] = ()


@dataclass(frozen=True)
class OperationInfo:
    """What `@operation` declared; `func` is the undecorated function."""

    name: str
    func: Callable[..., Any]
    description: str | None = None
    category: str | None = None
    inputs: type | None = None
    outputs: type | None = None
    tags: tuple[str, ...] = ()
    models_in: tuple[str, ...] = ()
    models_out: tuple[str, ...] = ()
    async_enabled: bool = True
    retries: int = 0
    timeout_s: float | None = None

    @property
    def is_async(self) -> bool:
        """`async def` runs on the event loop; a plain `def` is run in a worker thread."""
        return inspect.iscoroutinefunction(self.func)


class _Registry(Generic[T]):
    """Name -> info. Re-registering a name replaces it, so re-importing a module (a test
    reloading it, a dev server reloading) does not fail."""

    def __init__(self) -> None:
        self._items: dict[str, T] = {}

    def register(self, name: str, info: T) -> None:
        self._items[name] = info

    def get(self, name: str) -> T | None:
        return self._items.get(name)

    def list_all(self) -> list[T]:
        return [self._items[name] for name in sorted(self._items)]

    def clear(self) -> None:
        self._items.clear()


ModelRegistry: _Registry[ModelInfo] = _Registry()
OperationRegistry: _Registry[OperationInfo] = _Registry()
