"""Stage 2: file summaries -> the metadata graph (`ProjectIR`).

Works in two passes. First every decorated class and function in the discovered files is
found and its decorator read, so model names are known before any field type refers to
one (`Link["Job"]` may point at a later file). Then models, operations and everything they
reference (schemas, enums) are built. Problems local to one declaration are reported here,
where the expression and its position are at hand; cross-declaration checks live in
`checks.py`.
"""

from .resolver import TASK_RUN_COLLECTION, NestingTooDeep, build_ir

__all__ = ["TASK_RUN_COLLECTION", "NestingTooDeep", "build_ir"]
