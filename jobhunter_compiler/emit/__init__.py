"""Emitters: each turns the IR (plus its own config section) into files.

An emitter is a pure function `(ir, config) -> list[OutputFile]`: no reading of user
files, no writing. `output.py` decides what reaches the disk.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    import jinja2


class OutputFile(BaseModel):
    """One generated file; `path` is POSIX, relative to the output folder."""

    path: str
    content: bytes


@cache
def template_environment() -> jinja2.Environment:
    """Jinja environment over the built-in templates (overrides come with [watch])."""
    import jinja2  # only when something is rendered: a no-op compile renders nothing

    return jinja2.Environment(
        loader=jinja2.PackageLoader("jobhunter_compiler", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(template: str, **context: Any) -> str:
    return template_environment().get_template(template).render(**context)
