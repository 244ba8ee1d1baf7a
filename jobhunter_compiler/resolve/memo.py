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
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__

MEMO_FILE = f"resolve-{__version__}-1.pickle"

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


def load_memo(folder: Path, key: str) -> ResolveMemo:
    """The stored memo if it was made under `key`, else an empty one."""
    try:
        with (folder / MEMO_FILE).open("rb") as handle:
            memo = pickle.load(handle)
    except Exception:  # missing, truncated or foreign: resolve everything
        return ResolveMemo(key=key)
    if not isinstance(memo, ResolveMemo) or memo.key != key:
        return ResolveMemo(key=key)
    return memo


def save_memo(folder: Path, memo: ResolveMemo) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{MEMO_FILE}.{os.getpid()}.tmp"
    with temporary.open("wb") as handle:
        pickle.dump(memo, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, folder / MEMO_FILE)
