"""Per-file scan results keyed by content hash, kept across runs in `.jobhunter_cache/`.

A summary depends only on a file's bytes and the compiler version, so the sha256 of the
bytes is a complete key: a renamed or moved file is still a hit. Each entry is two pickles:
the file's `ModuleHeader` (imports, syntax error), which every compile reads, and its full
summary, which is read only when name resolution reaches the file. Workers send summaries
pickled, so a cold run never pickles a summary twice.

Entries are spread over 256 shard files by the digest's first byte, so saving after one
edit rewrites one or two small shards instead of the whole cache. A shard holds its
headers first and its summaries after: a compile reads the headers of every shard and the
summaries of the one or two shards it needs (a tenth of the ~11 MB of a 1,000-model
project). The cache is an optimisation only: any problem reading it means starting empty,
never a failed compile.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from .._version import __version__
from .summary import ModuleHeader, ModuleSummary

CACHE_DIR = ".jobhunter_cache"
# Bump the suffix when ModuleSummary or the extraction rules change within one release.
SCAN_CACHE = f"scan-{__version__}-9"

Pickles = dict[str, bytes]
"""digest -> a pickled header, or a pickled summary"""


class ScanCache:
    def __init__(self, project_dir: Path) -> None:
        self.folder = project_dir / CACHE_DIR / SCAN_CACHE
        self.headers: Pickles = {}
        self.summaries: Pickles = {}
        self.used: set[str] = set()
        self.added: set[str] = set()
        self._unread: dict[str, int] = {}
        """Shard -> where its summaries start, for the shards whose summaries are unread."""

    def load(self) -> None:
        try:
            shards = sorted(self.folder.iterdir())
        except OSError:
            return
        for shard in shards:
            if len(shard.name) != 2:  # a temporary file a crash left behind
                continue
            try:
                with shard.open("rb") as handle:
                    headers, size = pickle.load(handle)  # reads little past the headers
                    start = handle.tell()
                    whole = os.fstat(handle.fileno()).st_size == start + size
            except Exception:  # truncated or foreign file: those entries are re-parsed
                continue
            if whole and isinstance(headers, dict):
                self.headers.update(headers)
                self._unread[shard.name] = start

    def header(self, digest: str) -> ModuleHeader | None:
        entry = self.headers.get(digest)
        if entry is None:
            return None
        try:
            header = pickle.loads(entry)
        except Exception:
            return None
        if not isinstance(header, ModuleHeader):
            return None
        self.used.add(digest)
        return header

    def summary(self, digest: str) -> ModuleSummary:
        """The full summary of a file whose header came from this cache this run. Its
        shard was whole when loaded, so a summary missing now is a bug worth its error."""
        self._read_summaries(digest[:2])
        summary = pickle.loads(self.summaries[digest])
        if not isinstance(summary, ModuleSummary):
            raise TypeError(f"scan cache entry {digest} does not hold a ModuleSummary")
        return summary

    def _read_summaries(self, shard: str) -> None:
        start = self._unread.pop(shard, None)
        if start is None:
            return
        try:
            with (self.folder / shard).open("rb") as handle:
                handle.seek(start)
                self.summaries.update(pickle.load(handle))
        except Exception:  # gone since `load`: `summary` fails for it, `save` drops it
            pass

    def put(self, digest: str, summary: ModuleSummary, pickled: bytes | None = None) -> None:
        """Store a freshly parsed summary; `pickled` is its pickle when already made."""
        if pickled is None:
            pickled = pickle.dumps(summary, protocol=pickle.HIGHEST_PROTOCOL)
        self.headers[digest] = pickle.dumps(summary.header, protocol=pickle.HIGHEST_PROTOCOL)
        self.summaries[digest] = pickled
        self.used.add(digest)
        self.added.add(digest)

    def save(self) -> None:
        """Write the shards that gained an entry or hold entries this run did not use, so
        the cache keeps tracking the project's current files."""
        unused = set(self.headers) - self.used
        dirty = {digest[:2] for digest in self.added | unused}
        if not dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        by_shard: dict[str, list[str]] = {shard: [] for shard in dirty}
        for digest in sorted(self.used):
            if digest[:2] in by_shard:
                by_shard[digest[:2]].append(digest)
        for shard, digests in sorted(by_shard.items()):
            self._read_summaries(shard)  # rewritten below: read before it is replaced
            kept = [digest for digest in digests if digest in self.summaries]
            path = self.folder / shard
            if not kept:
                path.unlink(missing_ok=True)
                continue
            summaries = pickle.dumps({d: self.summaries[d] for d in kept}, protocol=5)
            tmp = path.with_name(f"{shard}.{os.getpid()}.tmp")
            with tmp.open("wb") as handle:
                pickle.dump(
                    ({d: self.headers[d] for d in kept}, len(summaries)), handle, protocol=5
                )
                handle.write(summaries)
            os.replace(tmp, path)
        self.headers = {digest: self.headers[digest] for digest in self.used}
        self.added.clear()
