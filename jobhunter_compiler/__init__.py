"""jobhunter: a compiler from decorated Beanie documents and operations to a full stack.

Importing this package gives user code the runtime API only (re-exported from
`jobhunter_runtime`, which a deployed app carries without the compiler); the compiler lives in
submodules that user code never imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from jobhunter_runtime import (
        RUNTIME_DOCUMENT_MODELS,
        Actor,
        OperationError,
        OperationFailed,
        OperationOutcome,
        TaskRun,
        TaskRunStatus,
        acting_as,
        call_operation,
        current_actor,
        datamodel,
        operation,
        report_progress,
        submit_operation,
    )

__all__ = [
    "RUNTIME_DOCUMENT_MODELS",
    "Actor",
    "OperationError",
    "OperationFailed",
    "OperationOutcome",
    "TaskRun",
    "TaskRunStatus",
    "__version__",
    "acting_as",
    "call_operation",
    "current_actor",
    "datamodel",
    "operation",
    "report_progress",
    "submit_operation",
]


def __getattr__(name: str) -> Any:
    """The runtime API is imported on first use: the compiler's commands import this package
    too, and must not pay for Beanie and PyMongo (about 150 ms) that they never use."""
    if name in __all__:
        import jobhunter_runtime

        return getattr(jobhunter_runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
