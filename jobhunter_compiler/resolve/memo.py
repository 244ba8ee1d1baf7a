"""What resolving each discovered file produced, kept across compiles in `.jobhunter_cache/`,
so a compile after one edit resolves the edited file and the files that read it, and takes
everything else from here.

A file's result (its models and operations, the schemas and enums they reach, its
diagnostics) is reusable while everything its resolution read is unchanged: the modules
whose contents it read (each with the sha256 the scan gave it) and, when it read it, the
table of model names. `Context` traces those reads, through every shared result (a base
class's fields, an enum), so the record is complete by construction. What no single file
decides — the compiler, the config, and the project's file list (which modules exist and
parse: a new file may shadow an import) — is the memo's key; when it changes everything
is resolved again.

Nodes are kept as the IR's own JSON, defaults left out: validating it back is ~3x faster than
resolving the same declarations from their summaries. Any problem reading the memo means
resolving everything, never a failure.

Storage: a folder holding the key and 256 pickled shards of records, a record's shard picked
by its file's path (or its node id), so saving after one edit rewrites a shard or two of
the ~8 MB a 1,000-model project's memo takes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .._version import __version__

MEMO_DIR = f"resolve-{__version__}-2"
KEY_FILE = "key"

RecordKind = Literal["units", "schemas", "enums"]
Shard = dict[tuple[RecordKind, str], "UnitRecord | NodeRecord"]

Digests = dict[str, str]
"""module -> sha256 of its file, for the modules a result read."""


@dataclass
class UnitRecord:
    """One discovered file's resolution."""

    declared_reads: Digests
    """What reading its decorators read: enough to trust `declared` alone."""
    declared: list[tuple[str, str]]
    """(class id, model name) of each @datamodel class in the file."""
    reads: Digests
    names: str | None
    """Digest of the model-name table when the resolution read it, else None."""
    models: list[bytes]
    operations: list[bytes]
    schemas: list[str]
    enums: list[str]
    diagnostics: list[bytes]
    inherits: list[tuple[str, str]]
    """(model, base model) for each of its models deriving from another model."""


@dataclass
class NodeRecord:
    """A schema or enum, shared by the files that reach it, with its own reads."""

    json: bytes
    reads: Digests
    names: str | None


@dataclass
class ResolveMemo:
    key: str = ""
    units: dict[str, UnitRecord] = field(default_factory=dict)
    """Project-relative path -> record."""
    schemas: dict[str, NodeRecord] = field(default_factory=dict)
    enums: dict[str, NodeRecord] = field(default_factory=dict)
    stored: dict[str, Shard] = field(default_factory=dict)
    """The shards as read: saving rewrites only those whose records changed."""

    def current(self, reads: Digests, digests: Digests) -> bool:
        return all(digests.get(module) == digest for module, digest in reads.items())

    def reusable(self, unit: UnitRecord, digests: Digests, names: str) -> bool:
        """Whether `unit`, and every schema and enum it reaches, still holds."""
        reached = [
            *(self.schemas.get(node_id) for node_id in unit.schemas),
            *(self.enums.get(node_id) for node_id in unit.enums),
        ]
        return all(
            record is not None
            and self.current(record.reads, digests)
            and record.names in (None, names)
            for record in [unit, *reached]
        )

    def prune(self, paths: set[str]) -> None:
        """Keep the records of `paths` and the schemas and enums they reach."""
        self.units = {path: unit for path, unit in self.units.items() if path in paths}
        schemas = {s for unit in self.units.values() for s in unit.schemas}
        enums = {e for unit in self.units.values() for e in unit.enums}
        self.schemas = {k: v for k, v in self.schemas.items() if k in schemas}
        self.enums = {k: v for k, v in self.enums.items() if k in enums}


def memo_key(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


def _shard_name(name: str) -> str:
    return f"{zlib.crc32(name.encode()) & 0xFF:02x}"


def _shards(memo: ResolveMemo) -> dict[str, Shard]:
    shards: dict[str, Shard] = {}
    kinds: tuple[RecordKind, ...] = ("units", "schemas", "enums")
    for kind in kinds:
        for name, record in getattr(memo, kind).items():
            shards.setdefault(_shard_name(name), {})[(kind, name)] = record
    return shards


def load_memo(folder: Path, key: str) -> ResolveMemo:
    """The stored memo if it was made under `key`, else an empty one."""
    memo = ResolveMemo(key=key)
    where = folder / MEMO_DIR
    try:
        if (where / KEY_FILE).read_text(encoding="utf-8") != key:
            return memo
        shards = {path.name: path for path in where.iterdir() if path.name != KEY_FILE}
        for name, path in shards.items():
            shard = pickle.loads(path.read_bytes())
            if not isinstance(shard, dict):
                return ResolveMemo(key=key)
            memo.stored[name] = shard
            for (kind, record_name), record in shard.items():
                getattr(memo, kind)[record_name] = record
    except Exception:  # missing, truncated or foreign: resolve everything
        return ResolveMemo(key=key)
    return memo


def save_memo(folder: Path, memo: ResolveMemo) -> None:
    """Rewrite the shards whose records changed since `load_memo`; everything when the
    key did. The key file goes first and comes back last, so a save cut short leaves a
    memo that is either whole or ignored."""
    where = folder / MEMO_DIR
    where.mkdir(parents=True, exist_ok=True)
    key_file = where / KEY_FILE
    shards = _shards(memo)
    changed = {
        name
        for name in shards.keys() | memo.stored.keys()
        if shards.get(name, {}).keys() != memo.stored.get(name, {}).keys()
        or any(record is not memo.stored[name][item] for item, record in shards[name].items())
    }
    if not changed:
        return
    fresh = not memo.stored  # a new key, or a memo that could not be read: start over
    if fresh:
        key_file.unlink(missing_ok=True)
        changed |= {path.name for path in where.iterdir() if path.name != KEY_FILE}
    for name in sorted(changed):
        target = where / name
        if name not in shards:
            target.unlink(missing_ok=True)
            continue
        temporary = where / f".{name}.{os.getpid()}.tmp"
        with temporary.open("wb") as handle:
            pickle.dump(shards[name], handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, target)
    if fresh:
        key_file.write_text(memo.key, encoding="utf-8")
    memo.stored = shards
