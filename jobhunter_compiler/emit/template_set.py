"""The template set a compile renders with: the built-in templates, each replaceable by a
file of the same relative path in the user's `templates_dir`.

Jinja keeps compiled templates in a folder the set names: compiling the ~50 templates a
compile renders took ~50 ms in every new process.
"""

from __future__ import annotations

import hashlib
import os
from contextlib import suppress
from functools import cache, cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .python import docstring_text

if TYPE_CHECKING:
    import jinja2

    from ..config import Config

_SKIPPED_DIRS = frozenset({"__pycache__", ".git", "node_modules"})


class TemplateOverrideError(Exception):
    """A user's template override failed to compile or render. Raised instead of Jinja's
    own error so the pipeline can turn it into a diagnostic naming the override file."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def template_files(templates_dir: Path) -> list[tuple[str, Path]]:
    """The override files of `templates_dir` as (POSIX path relative to it, path), sorted;
    hidden files and caches are skipped (an editor's swap file is not a template)."""
    found: list[tuple[str, Path]] = []
    for folder, dirs, files in os.walk(templates_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            found.append((path.relative_to(templates_dir).as_posix(), path))
    return sorted(found)


def resolve_templates_dir(config: Config, root: Path) -> Path | None:
    """The absolute override folder of a project, None when `templates_dir` is unset."""
    return (root / config.templates_dir).resolve() if config.templates_dir else None


def templates_digest(source: Config | Path | str | None, root: Path | None = None) -> str:
    """sha256 over the override files' relative paths and bytes; "" without overrides.

    `source` is a project's Config (its `templates_dir` is taken relative to `root`, else
    the working folder) or the folder itself. Caches of rendered output key on it: editing,
    adding or removing an override changes the digest."""
    if source is None or isinstance(source, (str, Path)):
        folder = Path(source) if source is not None else None
    else:
        folder = resolve_templates_dir(source, root or Path.cwd())
    if folder is None or not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for relative, path in template_files(folder):
        try:
            content = path.read_bytes()
        except OSError:
            content = b"<unreadable>"
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


class TemplateSet:
    """Renders templates by their relative path: the override in `overrides` when there
    is one, else the built-in. `bytecode_dir` keeps compiled templates across processes
    (None: compile them in memory only)."""

    def __init__(self, overrides: Path | None = None, bytecode_dir: Path | None = None) -> None:
        self.overrides = overrides.resolve() if overrides is not None else None
        self.bytecode_dir = bytecode_dir
        self._environment = _environment(self.overrides, bytecode_dir)
        if self.overrides is not None:
            # Jinja checks a cached template's own file only: an override added since the
            # built-in was loaded (or one removed) would go unseen by a long-running process.
            self._environment.cache.clear()  # type: ignore[union-attr]

    @cached_property
    def digest(self) -> str:
        """Of the override files as they are now ("" without any): part of every key of
        the emission cache. Read once per set, so make a new set for each compile."""
        return templates_digest(self.overrides)

    def render(self, template: str, **context: Any) -> str:
        if self.overrides is None:
            return self._environment.get_template(template).render(**context)
        try:
            return self._environment.get_template(template).render(**context)
        except Exception as exc:
            located = _override_location(exc, self.overrides)
            if located is None:
                raise  # the built-in templates failed: a compiler bug, not the user's
            path, line = located
            raise TemplateOverrideError(path, line, f"{type(exc).__name__}: {exc}") from exc


@cache
def _environment(overrides: Path | None, bytecode_dir: Path | None) -> jinja2.Environment:
    """Jinja environment over the built-in templates, behind `overrides` when given (one
    environment per pair of folders; Jinja reloads an override whose mtime changed, which
    a long-running `compile --watch` relies on)."""
    import jinja2  # only when something is rendered: a no-op compile renders nothing

    builtin = jinja2.PackageLoader("jobhunter_compiler", "templates")
    loader: jinja2.BaseLoader = builtin
    if overrides is not None:
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(overrides)), builtin])
    environment = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        bytecode_cache=_bytecode_cache(bytecode_dir) if bytecode_dir is not None else None,
    )
    environment.filters["docstring"] = jinja2.pass_environment(_docstring_filter)
    return environment


def _docstring_filter(environment: jinja2.Environment, text: str, width: int = 0) -> str:
    """`{{ text | docstring(88) }}`: user text (a project name, a description) wrapped as
    Jinja's `wordwrap` wraps it (unless `width` is 0), then made safe inside a Python
    docstring. Wrapping comes first, so it never splits an escape sequence."""
    from jinja2.filters import do_wordwrap  # jinja2 only when rendering, as above

    return docstring_text(do_wordwrap(environment, text, width) if width else text)


def _bytecode_cache(folder: Path) -> jinja2.BytecodeCache:
    """Compiled templates in `folder`. Jinja files them by template name and checks the
    source's checksum (and its own and Python's version) before using one, so a stale
    file is recompiled; one that cannot be read or written only costs the compile."""
    import jinja2  # only when rendering, as above

    class ProjectBytecodeCache(jinja2.BytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            try:
                with open(folder / bucket.key, "rb") as handle:
                    bucket.load_bytecode(handle)
            except (OSError, ValueError, EOFError, TypeError):
                bucket.reset()

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            temporary = folder / f".{bucket.key}.{os.getpid()}.tmp"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                with open(temporary, "wb") as handle:
                    bucket.write_bytecode(handle)
                os.replace(temporary, folder / bucket.key)
            except OSError:
                with suppress(OSError):
                    temporary.unlink(missing_ok=True)

    return ProjectBytecodeCache()


def _override_location(exc: BaseException, templates_dir: Path) -> tuple[Path, int | None] | None:
    """The override file (and line) an error comes from: a syntax error names its file;
    at render time Jinja rewrites the traceback so template frames carry the template's
    filename and line, and the innermost one inside `templates_dir` is the culprit."""
    import jinja2  # only when rendering, as above

    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        path = Path(exc.filename).resolve()
        return (path, exc.lineno) if path.is_relative_to(templates_dir) else None
    found: tuple[Path, int | None] | None = None
    tb = exc.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename and not filename.startswith("<"):
            path = Path(filename)
            if path.is_absolute() and path.resolve().is_relative_to(templates_dir):
                found = (path.resolve(), tb.tb_lineno)
        tb = tb.tb_next
    return found
