"""The exact versions a generated stack installs: the ones its code was tested with.

The compiler never looks at what happens to be installed on the machine it runs on (the
output must not depend on it). The versions come from `constraints.txt`, shipped with the
compiler: the same file the development environment is installed with, so the tests run on
exactly what a generated `requirements.txt` pins.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

from ..ir import OPTIONAL_PACKAGES, ProjectIR

CONSTRAINTS_FILE = "constraints.txt"


@dataclass(frozen=True)
class PinGroup:
    """A section of the constraints file: the closure of `roots`, less earlier groups."""

    name: str
    description: str
    roots: tuple[str, ...]
    """Distributions the group exists for; empty for the rest of the environment."""


API = PinGroup(
    "api",
    "The generated API and CLI and the runtime they import, with everything they need.",
    (
        "argon2-cffi",
        "beanie",
        "fastapi",
        "httptools",
        "httpx",
        "orjson",
        "pydantic",
        "pyjwt",
        "pymongo",
        "python-multipart",
        "rich",
        "typer",
        "uvicorn",
        "uvloop",
    ),
)
EMAIL = PinGroup("email", "Added for EmailStr fields.", ("email-validator",))
PREFECT = PinGroup("prefect", "Added with `orchestration: prefect`.", ("prefect",))
DEV = PinGroup("dev", "The compiler, its tests and tools; never in generated output.", ())
GROUPS = (API, EMAIL, PREFECT, DEV)

MONGO_IMAGE = "mongo:7"
TESTED_PYTHON = "3.11"


@functools.cache
def pinned() -> dict[str, dict[str, str]]:
    """Group name -> {distribution: version}, as the constraints file says."""
    text = resources.files("jobhunter_compiler").joinpath(CONSTRAINTS_FILE).read_text()
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("# ["):
            current = sections.setdefault(line[3 : line.index("]")], {})
        elif line and not line.startswith("#"):
            if current is None:
                raise ValueError(f"{CONSTRAINTS_FILE}: {line!r} comes before any group")
            name, _, version = line.partition("==")
            current[name] = version
    return sections


def version_of(name: str) -> str:
    return next(group[name] for group in pinned().values() if name in group)


def prefect_image() -> str:
    """The Prefect server's image: the pinned Prefect on the Python the tests use."""
    return f"prefecthq/prefect:{version_of('prefect')}-python{TESTED_PYTHON}"


def field_type_groups(ir: ProjectIR) -> list[PinGroup]:
    """The groups the project's field types need (an EmailStr field: `email`)."""
    needed = {OPTIONAL_PACKAGES[kind][0] for kind in ir.optional_package_fields()}
    return [group for group in GROUPS if needed & set(group.roots)]


def requirement_lines(*groups: PinGroup) -> list[str]:
    """`name==version` lines, sorted, for the generated API with `groups` added."""
    pins: dict[str, str] = {}
    for group in (API, *groups):
        pins.update(pinned()[group.name])
    return [f"{name}=={version}" for name, version in sorted(pins.items())]
