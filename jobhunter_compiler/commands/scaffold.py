"""`jobhunter init`: write a new project from the templates in templates/init/.

The templates are package data. A file whose name ends in `.j2` is rendered with Jinja (the
suffix dropped); the rest are copied as they are. A leading `dot-` becomes `.`, so the
scaffold's `.gitignore` is not a live ignore file inside this package (and hatch, which honours
.gitignore files, still ships every template).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from jinja2 import Environment, StrictUndefined
from pydantic import BaseModel

TEMPLATE_ROOT = ("templates", "init")
JINJA_SUFFIX = ".j2"
DOT_PREFIX = "dot-"
SKIPPED = {"__pycache__"}


class ScaffoldError(Exception):
    """The target cannot take a new project; the message says why and what to do."""


class ScaffoldResult(BaseModel):
    project: str
    root: Path
    written: list[str]
    skipped: list[str]
    """Files that already existed (with --force): left exactly as they were."""


def project_name(directory: Path) -> str:
    """The folder's own name (for `.`, the current folder's)."""
    return directory.resolve().name or "app"


def scaffold(directory: Path, force: bool = False) -> ScaffoldResult:
    """Write the starter project into `directory` (created if missing). A non-empty folder is
    refused unless `force`; even then no existing file is overwritten."""
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} is a file, not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ScaffoldError(
            f"{directory} is not empty (use --force to add the missing files; "
            "existing files are never overwritten)"
        )
    name = project_name(directory)
    context = {"project": name, "project_yaml": _yaml_string(name)}
    environment = Environment(
        undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    written: list[str] = []
    skipped: list[str] = []
    for relative, template in _templates():
        target = directory.joinpath(*relative.parts)
        if target.exists() or target.is_symlink():
            skipped.append(relative.as_posix())
            continue
        text = template.read_text(encoding="utf-8")
        if template.name.endswith(JINJA_SUFFIX):
            text = environment.from_string(text).render(context)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(relative.as_posix())
    return ScaffoldResult(project=name, root=directory, written=written, skipped=skipped)


def _templates() -> Iterator[tuple[PurePosixPath, Traversable]]:
    """(output path, template) for every template, in a stable order."""
    root = resources.files("jobhunter_compiler").joinpath(*TEMPLATE_ROOT)

    def walk(
        folder: Traversable, prefix: PurePosixPath
    ) -> Iterator[tuple[PurePosixPath, Traversable]]:
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name in SKIPPED or entry.name.endswith(".pyc"):
                continue
            name = entry.name
            if name.startswith(DOT_PREFIX):
                name = "." + name[len(DOT_PREFIX) :]
            if name.endswith(JINJA_SUFFIX):
                name = name[: -len(JINJA_SUFFIX)]
            if entry.is_dir():
                yield from walk(entry, prefix / name)
            else:
                yield prefix / name, entry

    yield from walk(root, PurePosixPath())


def _yaml_string(value: str) -> str:
    """A YAML double-quoted scalar: a JSON string is one, whatever the folder name holds
    (quotes, colons, `#`, non-ASCII letters)."""
    return json.dumps(value, ensure_ascii=False)
