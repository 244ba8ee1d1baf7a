"""Emitters: each turns the IR into files, and all are called alike (see `Emitter`).

An emitter is a pure function of the IR and the `EmitSettings`: no reading of user files,
no writing, no state of its own. `output/` decides what reaches the disk. Emitters agree
on names and paths through `naming.py`, never by importing one another.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from ..config import Config
    from ..ir import ProjectIR
    from .emit_cache import EmitCache
    from .template_set import TemplateSet


class OutputFile(BaseModel):
    """One generated file; `path` is POSIX, relative to the output folder."""

    path: str
    content: bytes


@dataclass(frozen=True)
class EmitSettings:
    """Everything an emitter reads besides the IR, for one compile."""

    config: Config
    templates: TemplateSet
    """The built-in templates behind the user's overrides (`templates_dir`)."""
    cache: EmitCache | None = None
    """Rendered values kept across compiles; None renders everything."""


class Emitter(Protocol):
    def __call__(self, ir: ProjectIR, settings: EmitSettings) -> Iterable[OutputFile]: ...
