"""What user code and generated code import at run time. Keep it light: no libcst, Jinja
or compiler modules are imported from here."""

from .decorators import datamodel, operation
from .registry import ModelInfo, ModelRegistry, OperationInfo, OperationRegistry
from .taskrun import (
    RUNTIME_DOCUMENT_MODELS,
    Actor,
    Channel,
    Operation,
    OperationError,
    OperationFailed,
    OperationOutcome,
    ResultRef,
    TaskRun,
    TaskRunStatus,
    acting_as,
    call_operation,
    current_actor,
    report_progress,
    submit_operation,
)

__all__ = [
    "RUNTIME_DOCUMENT_MODELS",
    "Actor",
    "Channel",
    "ModelInfo",
    "ModelRegistry",
    "Operation",
    "OperationError",
    "OperationFailed",
    "OperationInfo",
    "OperationOutcome",
    "OperationRegistry",
    "ResultRef",
    "TaskRun",
    "TaskRunStatus",
    "acting_as",
    "call_operation",
    "current_actor",
    "datamodel",
    "operation",
    "report_progress",
    "submit_operation",
]
