"""Per-file scan results keyed by content hash, kept across runs in `.jobhunter_cache/`.

A summary depends only on a file's bytes and the compiler version, so the sha256 of the
bytes is a complete key: a renamed or moved file is still a hit. The cache is an
optimisation only; any problem reading it means starting empty, never a failed compile.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from .._version import __version__
from .summary import ModuleSummary

CACHE_DIR = ".jobhunter_cache"
_FILE = "scan.pickle"
# Bump when ModuleSummary or the extraction rules change within one release.
_FORMAT = f"{__version__}/1"


class ScanCache:
    def __init__(self, project_dir: Path) -> None:
        self.path = project_dir / CACHE_DIR / _FILE
        self.entries: dict[str, ModuleSummary] = {}
        self.used: set[str] = set()
        self.dirty = False

    def load(self) -> None:
        try:
            with self.path.open("rb") as handle:
                data = pickle.load(handle)
            if data.get("format") == _FORMAT:
                self.entries = data["entries"]
        except Exception:  # missing, truncated, from another version: start empty
            self.entries = {}

    def get(self, digest: str) -> ModuleSummary | None:
        summary = self.entries.get(digest)
        if summary is not None:
            self.used.add(digest)
        return summary

    def put(self, digest: str, summary: ModuleSummary) -> None:
        self.entries[digest] = summary
        self.used.add(digest)
        self.dirty = True

    def save(self) -> None:
        """Keep only entries used by this run, so the cache tracks the project's size."""
        if not self.dirty and self.used == set(self.entries):
            return
        entries = {digest: self.entries[digest] for digest in sorted(self.used)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump({"format": _FORMAT, "entries": entries}, handle, protocol=5)
        os.replace(tmp, self.path)
        self.entries = entries
        self.dirty = False
