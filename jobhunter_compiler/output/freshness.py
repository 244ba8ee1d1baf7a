"""The no-op fast path: is the output already what a compile would produce?

After each successful compile we record, in `.jobhunter_cache/state.json`, what the output
was computed from (the compiler version, the config, every Python file of the project and
the hashes of the scanned ones) and what was on disk afterwards (size and mtime of each
output file). If all of that still holds, compiling again would rewrite nothing, so the
whole pipeline is skipped. Any doubt (a new or removed .py file anywhere under the source
roots, an edited output, another compiler version) means a full compile.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import orjson
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from ..diagnostics import Diagnostic
from ..fingerprint import compiler_fingerprint
from ..scan.discover import ALWAYS_EXCLUDED_PARTS
from ..scan.scan_cache import CACHE_DIR

STATE_FILE = "state.json"
CONFIG_FILE = ".jobhunter.yml"
SETTINGS_FILES = (CONFIG_FILE, "pyproject.toml")
TEMPLATES_KEY = "templates_dir"
MIGRATIONS_KEY = "migrations_dir"
DEFAULT_SNAPSHOT = "migrations/schema.json"
"""`Config().schema_snapshot`, spelled out: the fast path parses no config that leaves it."""


class OutputStamp(BaseModel):
    size: int
    mtime_ns: int


_STAMPS = TypeAdapter(dict[str, OutputStamp])


class BuildState(BaseModel):
    compiler: str = Field(default_factory=compiler_fingerprint)
    settings: dict[str, str | None]
    """sha256 of .jobhunter.yml and pyproject.toml (None when absent): the project name
    may come from pyproject.toml, so creating one changes the output. With template
    overrides, also `templates_dir`: the digest of the override files."""
    python_files: list[str] = []
    """Every .py file of the project (sorted), scanned or not: a new one could shadow an
    import and change what a name resolves to."""
    inputs: dict[str, str]
    output_dir: str = ""
    """The output folder `outputs` are relative to (absolute)."""
    outputs: dict[str, OutputStamp] = {}
    warnings: list[Diagnostic]
    models: int
    operations: int


def record(
    root: Path,
    out_dir: Path,
    state: BuildState,
    output_paths: list[str],
    known: dict[str, tuple[int, int]] | None = None,
) -> None:
    """Complete `state` with the outputs' stamps, and save it. Everything else in it must
    have been taken before the compile read any file, so an edit made during the compile
    is seen by the next one. `known` are stamps taken earlier in this compile of files it
    did not write (if one was changed since, the next compile sees a mismatch and looks)."""
    state.output_dir = str(out_dir)
    folder = os.path.join(out_dir, "")  # plain strings: pathlib costs more than the stat
    known = known or {}
    stamps = {}
    for path in output_paths:
        stamp = known.get(path)
        if stamp is None:
            stat = os.stat(folder + path)
            stamp = (stat.st_size, stat.st_mtime_ns)
        stamps[path] = {"size": stamp[0], "mtime_ns": stamp[1]}
    state.outputs.update(_STAMPS.validate_python(stamps))  # 3x faster than one by one
    path = root / CACHE_DIR / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(state.model_dump_json(), encoding="utf-8")
    os.replace(tmp, path)


def forget(root: Path) -> None:
    """Drop the recorded state before the output folder changes: a compile killed before
    it records the new one must leave no state that calls the folder fresh."""
    (root / CACHE_DIR / STATE_FILE).unlink(missing_ok=True)


def recorded_stamps(root: Path, out_dir: Path) -> dict[str, tuple[int, int]]:
    """Output path -> (size, mtime_ns) as the last compile left them in `out_dir`; empty
    when unknown. `output.plan` trusts the previous manifest's hash of a file whose stamp
    still matches instead of reading it."""
    try:
        state = orjson.loads((root / CACHE_DIR / STATE_FILE).read_bytes())
        if state["output_dir"] != str(out_dir):
            return {}
        return {path: (s["size"], s["mtime_ns"]) for path, s in state["outputs"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}  # stamps are a hint: `plan` reads back a file whose stamp does not match


def file_digest(path: Path) -> str | None:
    """sha256 of a file's bytes, None when it cannot be read."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def settings_digests(root: Path) -> dict[str, str | None]:
    """Digests of the settings files, of the schema snapshot (the schema-change warnings
    depend on it), and (when `templates_dir` is set) one over the template overrides:
    editing any of them must defeat the no-op fast path."""
    digests = {name: file_digest(root / name) for name in SETTINGS_FILES}
    mentioned = _mentions(root / CONFIG_FILE) if digests[CONFIG_FILE] is not None else set()
    snapshot = DEFAULT_SNAPSHOT
    if mentioned:
        # the no-op check reads the config only when it moves the snapshot or names
        # template overrides
        from ..config import load_config
        from ..emit.template_set import templates_digest

        config = load_config(root).config
        snapshot = config.schema_snapshot
        if config.templates_dir is not None:
            digests[TEMPLATES_KEY] = templates_digest(config, root)
    digests[MIGRATIONS_KEY] = file_digest(root / snapshot)
    return digests


def _mentions(config_file: Path) -> set[str]:
    """Which of the keys that change the settings' digests the config may set: skips
    parsing YAML on the fast path of the projects that set neither."""
    try:
        text = config_file.read_bytes()
    except OSError:
        return set()
    return {key for key in (TEMPLATES_KEY, MIGRATIONS_KEY) if key.encode() in text}


def fresh_state(
    root: Path, out_dir: Path, settings: dict[str, str | None], files: list[str]
) -> BuildState | None:
    """The recorded state if the output is provably up to date, else None. Cheapest checks
    first, and the inputs before the ~6,000 outputs of a large project: after an edit this
    stops at the edited file. The state is validated only once it proved fresh."""
    try:
        raw = (root / CACHE_DIR / STATE_FILE).read_bytes()
        data = orjson.loads(raw)
        if (
            data["compiler"] != compiler_fingerprint()
            or data["settings"] != settings
            or data["python_files"] != files
        ):
            return None
        inputs, outputs = data["inputs"].items(), data["outputs"].items()
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    for path, digest in inputs:
        if file_digest(root / path) != digest:
            return None
    folder = os.path.join(out_dir, "")  # plain strings: pathlib costs more than the stat
    for path, stamp in outputs:
        try:
            stat = os.stat(folder + path)
            same = stat.st_size == stamp["size"] and stat.st_mtime_ns == stamp["mtime_ns"]
        except (OSError, TypeError, KeyError):
            return None
        if not same:
            return None
    try:
        return BuildState.model_validate_json(raw)
    except ValidationError:
        return None


def python_files(root: Path) -> list[str]:
    found = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ALWAYS_EXCLUDED_PARTS and not d.startswith(".")]
        relative = os.path.relpath(directory, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in files if name.endswith(".py"))
    return sorted(found)
