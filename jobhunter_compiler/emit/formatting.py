"""Format generated Python with ruff's formatter (black's style), so templates can hold
readable layout and still produce black-stable files whatever the user's names and
descriptions are.

ruff is pinned, so the same input gives the same bytes. Formatting costs a process start
plus ~1 ms per file, so results are cached by the hash of the unformatted text: a compile
that changes one model formats one module. The cache is spread over 256 shard files by
key prefix, so that compile also rewrites a few small shards rather than the whole cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from . import OutputFile

LINE_LENGTH = 88  # black's default: what a user's formatter most likely expects


@cache
def _ruff() -> tuple[str, str]:
    """The ruff binary, and the name of the cache folder for it. The binary's size and
    mtime name it: reading ruff's version from its metadata took ~40 ms per compile."""
    from ruff.__main__ import find_ruff_bin  # only when Python is to be formatted

    binary = str(find_ruff_bin())
    stat = os.stat(binary)
    return binary, f"format-ruff-{stat.st_size}-{stat.st_mtime_ns}"


def cache_folder_name() -> str:
    return _ruff()[1]


class FormatterFailed(RuntimeError):
    """ruff could not format a generated file: a bug in a template, not in user code."""


def format_python(files: list[OutputFile], cache_dir: Path | None) -> list[OutputFile]:
    """`files` with every `.py` formatted; other files untouched."""
    folder = cache_dir / cache_folder_name() if cache_dir is not None else None
    cache = _load(folder)
    keys = {f.path: hashlib.sha256(f.content).hexdigest() for f in files if f.path.endswith(".py")}
    missing = {
        path: f.content for f in files if (path := f.path) in keys and keys[path] not in cache
    }
    formatted = _ruff_format(missing) if missing else {}
    result = [
        (
            OutputFile(
                path=f.path,
                content=formatted[f.path] if f.path in formatted else cache[keys[f.path]],
            )
            if f.path in keys
            else f
        )
        for f in files
    ]
    if folder is not None:
        _store(folder, cache, {keys[path]: content for path, content in formatted.items()}, keys)
    return result


def _ruff_format(sources: dict[str, bytes]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="jobhunter-format-") as tmp:
        folder = Path(tmp)
        names = {path: folder / f"f{i}.py" for i, path in enumerate(sorted(sources))}
        for path, target in names.items():
            target.write_bytes(sources[path])
        command = [
            _ruff()[0],
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


def _load(folder: Path | None) -> dict[str, bytes]:
    cache: dict[str, bytes] = {}
    try:
        shards = sorted(folder.iterdir()) if folder is not None else []
    except OSError:
        return cache
    for shard in shards:
        try:
            with shard.open("rb") as handle:
                data = pickle.load(handle)
        except Exception:  # truncated or foreign: those files are formatted again
            continue
        if isinstance(data, dict):
            cache.update(data)
    return cache


def _store(
    folder: Path, cache: dict[str, bytes], added: dict[str, bytes], keys: dict[str, str]
) -> None:
    """Keep the results of this compile's files: rewrite each shard that gained an entry
    or holds one no file produced this time."""
    wanted = set(keys.values())
    dirty = {key[:2] for key in added} | {key[:2] for key in cache if key not in wanted}
    if not dirty:
        return
    entries = {**cache, **added}
    by_shard: dict[str, dict[str, bytes]] = {shard: {} for shard in dirty}
    for key in wanted:
        if key[:2] in by_shard:
            by_shard[key[:2]][key] = entries[key]
    folder.mkdir(parents=True, exist_ok=True)
    for shard, kept in sorted(by_shard.items()):
        target = folder / shard
        if not kept:
            target.unlink(missing_ok=True)
            continue
        temporary = folder / f".{shard}.{os.getpid()}.tmp"
        with temporary.open("wb") as handle:
            pickle.dump(kept, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
