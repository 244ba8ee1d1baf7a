"""What user code and generated code import at run time. Keep it light: no libcst, Jinja
or compiler modules are imported from here."""

from .decorators import datamodel, operation
from .registry import ModelInfo, ModelRegistry, OperationInfo, OperationRegistry

__all__ = [
    "ModelInfo",
    "ModelRegistry",
    "OperationInfo",
    "OperationRegistry",
    "datamodel",
    "operation",
]
