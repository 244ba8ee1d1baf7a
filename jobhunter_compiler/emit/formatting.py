"""Format generated Python with ruff's formatter (black's style), so templates can hold
readable layout and still produce black-stable files whatever the user's names and
descriptions are.

ruff is pinned, so the same input gives the same bytes. Formatting costs a process start
plus ~1 ms per file, so results are cached by the hash of the unformatted text: a compile
that changes one model formats one module.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import pickle
import subprocess
import tempfile
from pathlib import Path

from . import OutputFile

LINE_LENGTH = 88  # black's default: what a user's formatter most likely expects


def _cache_file() -> str:
    return f"format-cache-ruff-{importlib.metadata.version('ruff')}.pickle"


class FormatterFailed(RuntimeError):
    """ruff could not format a generated file: a bug in a template, not in user code."""


def format_python(files: list[OutputFile], cache_dir: Path | None) -> list[OutputFile]:
    """`files` with every `.py` formatted; other files untouched."""
    cache = _load(cache_dir)
    keys = {f.path: hashlib.sha256(f.content).hexdigest() for f in files if f.path.endswith(".py")}
    missing = {
        path: f.content for f in files if (path := f.path) in keys and keys[path] not in cache
    }
    if missing:
        for path, formatted in _ruff_format(missing).items():
            cache[keys[path]] = formatted
    result = [
        OutputFile(path=f.path, content=cache[keys[f.path]]) if f.path in keys else f for f in files
    ]
    if cache_dir is not None and missing:
        wanted = set(keys.values())
        _store(cache_dir, {k: v for k, v in cache.items() if k in wanted})
    return result


def _ruff_format(sources: dict[str, bytes]) -> dict[str, bytes]:
    from ruff.__main__ import find_ruff_bin

    with tempfile.TemporaryDirectory(prefix="jobhunter-format-") as tmp:
        folder = Path(tmp)
        names = {path: folder / f"f{i}.py" for i, path in enumerate(sorted(sources))}
        for path, target in names.items():
            target.write_bytes(sources[path])
        command = [
            find_ruff_bin(),
            "format",
            "--isolated",
            "--no-cache",
            "--quiet",
            f"--line-length={LINE_LENGTH}",
            "--target-version=py311",
            str(folder),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            detail = done.stderr.strip()
            for path, target in names.items():
                detail = detail.replace(str(target), path)
            raise FormatterFailed(f"ruff could not format generated code:\n{detail}")
        return {path: target.read_bytes() for path, target in names.items()}


def _load(cache_dir: Path | None) -> dict[str, bytes]:
    if cache_dir is None:
        return {}
    try:
        with open(cache_dir / _cache_file(), "rb") as handle:
            data = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store(cache_dir: Path, cache: dict[str, bytes]) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / _cache_file()
    temporary = target.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        pickle.dump(cache, handle, protocol=pickle.HIGHEST_PROTOCOL)
    temporary.replace(target)
