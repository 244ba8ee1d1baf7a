"""Per-file scan results keyed by content hash, kept across runs in `.jobhunter_cache/`.

A summary depends only on a file's bytes and the compiler version, so the sha256 of the
bytes is a complete key: a renamed or moved file is still a hit. Each entry is two pickles:
the file's `ModuleHeader` (imports, syntax error), which every compile reads, and its full
summary, which is unpickled only when name resolution reaches the file, so a compile after
one edit unpickles a few summaries instead of all of them. Workers send summaries pickled,
so a cold run never pickles a summary twice. Entries are spread over 256
shard files by the digest's first byte, so saving after one edit rewrites one or two small
shards instead of the whole cache. The cache is an optimisation only: any problem reading
it means starting empty, never a failed compile.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from .._version import __version__
from .summary import ModuleHeader, ModuleSummary

CACHE_DIR = ".jobhunter_cache"
# Bump the suffix when ModuleSummary or the extraction rules change within one release.
SCAN_CACHE = f"scan-{__version__}-6"


class ScanCache:
    def __init__(self, project_dir: Path) -> None:
        self.folder = project_dir / CACHE_DIR / SCAN_CACHE
        self.pickled: dict[str, tuple[bytes, bytes]] = {}
        """digest -> (pickled header, pickled summary)"""
        self.used: set[str] = set()
        self.added: set[str] = set()

    def load(self) -> None:
        try:
            shards = sorted(self.folder.iterdir())
        except OSError:
            return
        for shard in shards:
            try:
                with shard.open("rb") as handle:
                    self.pickled.update(pickle.load(handle))
            except Exception:  # truncated or foreign file: those entries are re-parsed
                continue

    def header(self, digest: str) -> ModuleHeader | None:
        entry = self.pickled.get(digest)
        if entry is None:
            return None
        try:
            header = pickle.loads(entry[0])
        except Exception:
            return None
        if not isinstance(header, ModuleHeader):
            return None
        self.used.add(digest)
        return header

    def summary(self, digest: str) -> ModuleSummary:
        """The full summary of a file whose header came from this cache this run. A
        damaged entry cannot be parsed again from here, so it fails loudly; `header`
        already unpickled its sibling, which makes that all but impossible."""
        summary = pickle.loads(self.pickled[digest][1])
        if not isinstance(summary, ModuleSummary):
            raise TypeError(f"scan cache entry {digest} does not hold a ModuleSummary")
        return summary

    def put(self, digest: str, summary: ModuleSummary, pickled: bytes | None = None) -> None:
        """Store a freshly parsed summary; `pickled` is its pickle when already made."""
        if pickled is None:
            pickled = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)
        header = pickle.dumps(summary.header, protocol=pickle.HIGHEST_PROTOCOL)
        self.pickled[digest] = (header, pickled)
        self.used.add(digest)
        self.added.add(digest)

    def save(self) -> None:
        """Write the shards that gained an entry or hold entries this run did not use, so
        the cache keeps tracking the project's current files."""
        unused = set(self.pickled) - self.used
        dirty = {digest[:2] for digest in self.added | unused}
        if not dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        by_shard: dict[str, dict[str, tuple[bytes, bytes]]] = {shard: {} for shard in dirty}
        for digest in sorted(self.used):
            if digest[:2] in by_shard:
                by_shard[digest[:2]][digest] = self.pickled[digest]
        for shard, entries in sorted(by_shard.items()):
            path = self.folder / shard
            if not entries:
                path.unlink(missing_ok=True)
                continue
            tmp = path.with_name(f"{shard}.{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(entries, handle, protocol=5)
            os.replace(tmp, path)
        self.pickled = {digest: self.pickled[digest] for digest in self.used}
        self.added.clear()
