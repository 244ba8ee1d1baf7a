"""Stage 5: bring the output folder in line with what the emitters produced.

Only files whose bytes changed are touched. All changed files are first written to a
staging folder beside the output folder (same file system), then moved into place with
`os.replace`, so a failure half-way (disk full, a crash) never leaves a half-written file.
Files the previous compile produced and this one does not are deleted; files the compiler
never produced (a `node_modules/` the user installed) are never touched.

`manifest.json` records the compiler version and the hashes of every input and output; it
is itself an output, so `--check` also notices a compile by another compiler version.

A compile killed while it changes the folder (SIGKILL, power loss) leaves a mix of old and
new files. Before its first change, `apply` writes `compile-in-progress.json`, listing
every path it is about to write or remove, and deletes it after the last: while it exists,
`plan` reports the folder stale, reads every file back instead of trusting recorded
stamps, and removes what the interrupted compile wrote or meant to remove that this one
does not produce. The staging folders a killed compile left are removed by the next one.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from pydantic import BaseModel, PrivateAttr, ValidationError

from .._version import __version__
from ..emit import OutputFile
from ..ir import IR_VERSION, json_bytes

MANIFEST = "manifest.json"
IN_PROGRESS = "compile-in-progress.json"
STAGING = ".staging-"


class Manifest(BaseModel):
    compiler: str = "jobhunter"
    version: str = __version__
    ir_version: str = IR_VERSION
    inputs: dict[str, str]
    """Project-relative path -> sha256 of every file the output was computed from."""
    outputs: dict[str, str]
    """Output-relative path -> sha256 of every file produced (except the manifest)."""


class InProgress(BaseModel):
    """What `compile-in-progress.json` holds."""

    paths: list[str]
    """Output-relative paths the compile writes or removes."""


class Plan(BaseModel):
    """What a compile changes in the output folder, by relative path."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: list[str]
    _stamps: dict[str, tuple[int, int]] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Fields only: what `plan` saw on disk on the way is not part of the value."""
        return isinstance(other, Plan) and self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def unchanged_stamps(self) -> dict[str, tuple[int, int]]:
        """(size, mtime_ns) of the unchanged files that `plan` found by their stamp:
        what they still are unless something else wrote them since."""
        stamps = self._stamps  # once: each private attribute read goes through __getattr__
        return {path: stamps[path] for path in self.unchanged if path in stamps}


def with_manifest(files: list[OutputFile], inputs: dict[str, str]) -> list[OutputFile]:
    hashes = _hashes(files)
    manifest = Manifest(
        inputs=dict(sorted(inputs.items())),
        outputs={path: hashes[path] for path in sorted(hashes)},
    )
    content = json_bytes(manifest.model_dump(mode="json"))
    return [*files, OutputFile(path=MANIFEST, content=content)]


def read_manifest(out_dir: Path) -> Manifest | None:
    try:
        return Manifest.model_validate_json((out_dir / MANIFEST).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None


def plan(
    out_dir: Path, files: list[OutputFile], stamps: dict[str, tuple[int, int]] | None = None
) -> Plan:
    """Classify `files` against the output folder. `stamps` (path -> size, mtime_ns, as
    the last compile recorded them after writing) lets a file whose stamp still matches
    be compared by hash with the previous manifest instead of read back: at 1,000 models
    reading ~6,000 files cost more than rendering the one that changed. The new hashes
    come from the manifest among `files` (as `with_manifest` returns them), which holds
    them already."""
    previous = read_manifest(out_dir)
    interrupted = _interrupted_paths(out_dir)
    produced = {f.path for f in files}
    # A compile killed half-way changed files after their stamps were recorded.
    stamps = {} if interrupted is not None else stamps or {}
    known = _unchanged_on_disk(out_dir, previous, stamps)
    hashes = _manifest_hashes(files)
    added, changed, unchanged = [], [], []
    for file in sorted(files, key=lambda f: f.path):
        old_hash = known.get(file.path)
        if old_hash is not None:
            new_hash = hashes.get(file.path) or _sha256(file.content)
            (unchanged if new_hash == old_hash else changed).append(file.path)
            continue
        current = _read(out_dir / file.path)
        if current is None:
            added.append(file.path)
        elif current != file.content:
            changed.append(file.path)
        else:
            unchanged.append(file.path)
    owned = {*(previous.outputs if previous else ()), *(interrupted or ())}
    removed = [
        path for path in owned - produced if _is_output_path(path) and (out_dir / path).is_file()
    ]
    if interrupted is not None:
        removed.append(IN_PROGRESS)
    removed.sort()
    result = Plan(added=added, changed=changed, removed=removed, unchanged=unchanged)
    result._stamps = {path: stamps[path] for path in known}
    return result


def _manifest_hashes(files: list[OutputFile]) -> dict[str, str]:
    """Path -> sha256 as the manifest among `files` records them; {} without one."""
    manifest = next((f for f in files if f.path == MANIFEST), None)
    if manifest is None:
        return {}
    return Manifest.model_validate_json(manifest.content).outputs


def _unchanged_on_disk(
    out_dir: Path, previous: Manifest | None, stamps: dict[str, tuple[int, int]]
) -> dict[str, str]:
    """Path -> sha256 of the files provably still holding what the last compile wrote:
    recorded in its manifest, and with the size and mtime it recorded after writing."""
    if previous is None:
        return {}
    known = {}
    folder = os.path.join(out_dir, "")  # plain strings: pathlib costs more than the stat
    for path, digest in previous.outputs.items():
        stamp = stamps.get(path)
        if stamp is None:
            continue
        try:
            stat = os.stat(folder + path)
        except OSError:
            continue
        if (stat.st_size, stat.st_mtime_ns) == stamp and S_ISREG(stat.st_mode):
            known[path] = digest
    return known


def _interrupted_paths(out_dir: Path) -> list[str] | None:
    """The paths a compile killed while changing `out_dir` wrote or meant to remove; None
    when no compile was interrupted, [] when its record cannot be read."""
    try:
        content = (out_dir / IN_PROGRESS).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return []
    try:
        return InProgress.model_validate_json(content).paths
    except ValidationError:
        return []


def _is_output_path(path: str) -> bool:
    """A path read from a manifest or an in-progress record: removed only when it names a
    file inside the output folder, whatever a corrupt or forged record says."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts


def apply(out_dir: Path, files: list[OutputFile], plan: Plan) -> None:
    """Make `out_dir` what `plan` says. The caller holds the project's compile lock, so any
    staging folder of `out_dir` it finds was left by a killed compile."""
    _remove_staging_folders(out_dir)
    changed = {*plan.added, *plan.changed}
    to_write = {f.path: f for f in files if f.path in changed}
    touched = sorted({*to_write, *plan.removed} - {IN_PROGRESS})
    if touched:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = out_dir.parent / f".{out_dir.name}{STAGING}{os.getpid()}"
        try:
            staging.mkdir()
            for path, file in to_write.items():
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(file.content)
            _write_in_progress(out_dir, staging, touched)
            # The manifest goes last: if anything before it fails, the next compile
            # still sees the old manifest and redoes the work.
            for path in sorted(to_write, key=lambda p: p == MANIFEST):
                destination = out_dir / path
                destination.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / path, destination)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        for path in plan.removed:
            if path != IN_PROGRESS:
                (out_dir / path).unlink(missing_ok=True)
                _remove_empty_parents(out_dir, out_dir / path)
    (out_dir / IN_PROGRESS).unlink(missing_ok=True)


def _write_in_progress(out_dir: Path, staging: Path, paths: list[str]) -> None:
    """Record `paths` in `out_dir`, on disk before the first of them changes: after a
    power loss, changed files without the record would pass for a finished compile."""
    record = staging / IN_PROGRESS
    with record.open("wb") as handle:
        handle.write(json_bytes(InProgress(paths=paths).model_dump()))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(record, out_dir / IN_PROGRESS)
    if os.name == "posix":  # the rename itself; elsewhere a folder cannot be synced
        folder = os.open(out_dir, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def _remove_staging_folders(out_dir: Path) -> None:
    prefix = f".{out_dir.name}{STAGING}"
    try:
        entries = list(os.scandir(out_dir.parent))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name[len(prefix) :].isdigit():
            shutil.rmtree(entry.path, ignore_errors=True)


def unified_diff(out_dir: Path, files: list[OutputFile], plan: Plan) -> str:
    """A `diff -u` of the output folder (a/) against what the compiler produces (b/), of
    the files `plan` found different only."""
    by_path = {f.path: f.content for f in files}
    added, removed = set(plan.added), set(plan.removed)
    chunks = []
    for path in sorted([*plan.added, *plan.changed, *plan.removed]):
        old = _read(out_dir / path) or b""
        new = by_path.get(path, b"")
        old_name = "/dev/null" if path in added else f"a/{path}"
        new_name = "/dev/null" if path in removed else f"b/{path}"
        try:
            old_lines = old.decode().splitlines(keepends=True)
            new_lines = new.decode().splitlines(keepends=True)
        except UnicodeDecodeError:
            chunks.append(f"Binary files {old_name} and {new_name} differ\n")
            continue
        diff = _file_diff(old_lines, new_lines, old_name, new_name)
        chunks.append("".join(line if line.endswith("\n") else line + "\n" for line in diff))
    return "".join(chunks)


# Lines of context around a change, as `diff -u`.
DIFF_CONTEXT = 3
# difflib's matching costs more than linear time: of a file, at most this many lines
# between the common head and tail are matched; beyond, the whole span shows replaced.
DIFF_MATCH_LINES = 20_000
# A diff's lines shown per file: beyond, a note says how many more there are.
DIFF_SHOWN_LINES = 2_000

Change = tuple[str, int, int, int, int]
"""A `difflib.SequenceMatcher` opcode other than "equal": tag, old and new line ranges."""


def _file_diff(old: list[str], new: list[str], old_name: str, new_name: str) -> list[str]:
    """A unified diff of one file, difflib matching only what lies between the longest
    common head and tail: a one-line edit of a 500k-line file costs a comparison."""
    head = _common_head(old, new)
    tail = _common_tail(old, new, min(len(old), len(new)) - head)
    old_stop, new_stop = len(old) - tail, len(new) - tail
    if (old_stop - head) + (new_stop - head) <= DIFF_MATCH_LINES:
        matcher = difflib.SequenceMatcher(None, old[head:old_stop], new[head:new_stop])
        changes = [
            (tag, i1 + head, i2 + head, j1 + head, j2 + head)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
            if tag != "equal"
        ]
    else:
        changes = [("replace", head, old_stop, head, new_stop)]
    lines = _diff_lines(old, new, old_name, new_name, changes)
    shown = list(itertools.islice(lines, DIFF_SHOWN_LINES))
    more = sum(1 for _ in lines)
    if more:
        shown.append(f"... {more} more lines of this file's diff not shown\n")
    return shown


def _diff_lines(
    old: list[str], new: list[str], old_name: str, new_name: str, changes: list[Change]
) -> Iterator[str]:
    """What `difflib.unified_diff` writes for `changes` (in order, between equal lines)."""
    if not changes:
        return
    yield f"--- {old_name}\n"
    yield f"+++ {new_name}\n"
    for hunk in _hunks(changes):
        (_, first_old, _, first_new, _), (_, _, last_old, _, last_new) = hunk[0], hunk[-1]
        before = min(first_old, DIFF_CONTEXT)  # the lines before a first change are equal
        after = min(len(old) - last_old, DIFF_CONTEXT)
        old_range = _unified_range(first_old - before, last_old + after)
        new_range = _unified_range(first_new - before, last_new + after)
        yield f"@@ -{old_range} +{new_range} @@\n"
        equal_from = first_old - before
        for _, i1, i2, j1, j2 in hunk:
            yield from (" " + line for line in old[equal_from:i1])
            yield from ("-" + line for line in old[i1:i2])
            yield from ("+" + line for line in new[j1:j2])
            equal_from = i2
        yield from (" " + line for line in old[equal_from : last_old + after])


def _hunks(changes: list[Change]) -> list[list[Change]]:
    """Changes at most two contexts apart share a hunk, as in `diff -u`."""
    hunks: list[list[Change]] = []
    for change in changes:
        if hunks and change[1] - hunks[-1][-1][2] <= 2 * DIFF_CONTEXT:
            hunks[-1].append(change)
        else:
            hunks.append([change])
    return hunks


def _unified_range(start: int, stop: int) -> str:
    """A hunk header's range, as `diff -u` writes it (1-based; an empty range names the
    line before it)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _common_head(old: list[str], new: list[str]) -> int:
    count = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        count += 1
    return count


def _common_tail(old: list[str], new: list[str], limit: int) -> int:
    count = 0
    while count < limit and old[-1 - count] == new[-1 - count]:
        count += 1
    return count


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


# Files at least this large are hashed on a second thread: hashlib lets go of the GIL for
# them, and metadata.json of 1,000 models is ~11 MB of the ~37 MB to hash.
LARGE_FILE = 1 << 20


def _hashes(files: list[OutputFile]) -> dict[str, str]:
    """Path -> sha256 of each file, the large ones hashed meanwhile on another thread."""
    large = [f for f in files if len(f.content) >= LARGE_FILE]
    with ThreadPoolExecutor(1) as pool:
        pending = {f.path: pool.submit(_sha256, f.content) for f in large}
        hashes = {f.path: _sha256(f.content) for f in files if f.path not in pending}
        hashes.update((path, future.result()) for path, future in pending.items())
    return hashes


def _remove_empty_parents(root: Path, path: Path) -> None:
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
