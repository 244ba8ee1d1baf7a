"""output/writer.py: plan/apply semantics, staging, manifest, minimal rewrites, and the lock
that keeps two compiles of one project from interleaving."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock
from hypothesis import given, settings
from hypothesis import strategies as st

from jobhunter_compiler import __version__, pipeline
from jobhunter_compiler.emit import OutputFile
from jobhunter_compiler.ir import IR_VERSION
from jobhunter_compiler.output import writer as output
from jobhunter_compiler.output.freshness import STATE_FILE, recorded_stamps
from jobhunter_compiler.output.writer import (
    IN_PROGRESS,
    MANIFEST,
    apply,
    plan,
    read_manifest,
    unified_diff,
    with_manifest,
)
from jobhunter_compiler.pipeline import compile_project
from jobhunter_compiler.scan.scan_cache import CACHE_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
OUT = ".run_cache"


def files(**contents: str) -> list[OutputFile]:
    """`files(a="x")` -> [OutputFile("a", b"x")]; `__` in a name stands for `/`."""
    return [OutputFile(path=k.replace("__", "/"), content=v.encode()) for k, v in contents.items()]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write(out: Path, produced: list[OutputFile], inputs: dict[str, str] | None = None) -> None:
    everything = with_manifest(produced, inputs or {"models/a.py": "0" * 64})
    apply(out, everything, plan(out, everything))


# -- plan -------------------------------------------------------------------------------


def test_plan_into_a_missing_folder_adds_everything(tmp_path: Path) -> None:
    out = tmp_path / OUT
    produced = with_manifest(files(a="1", docs__b="2"), {})
    result = plan(out, produced)
    assert result.added == ["a", "docs/b", MANIFEST]
    assert result.changed == result.removed == result.unchanged == []
    assert result.stale
    assert not out.exists(), "plan() must not write"


def test_plan_classifies_added_changed_removed_unchanged(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(keep="same", edit="old", gone="bye", docs__nested="n"))
    (out / "foreign.txt").write_text("user's")

    nxt = with_manifest(files(keep="same", edit="new", docs__nested="n", fresh="hi"), {})
    result = plan(out, nxt)

    assert result.added == ["fresh"]
    assert result.changed == ["edit", MANIFEST]
    assert result.removed == ["gone"]
    assert result.unchanged == ["docs/nested", "keep"]
    assert "foreign.txt" not in [*result.added, *result.changed, *result.removed]


def test_plan_ignores_manifest_entries_already_missing_on_disk(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(a="1", b="2"))
    (out / "b").unlink()
    result = plan(out, with_manifest(files(a="1"), {"models/a.py": "0" * 64}))
    assert result.removed == []


def test_plan_with_an_unreadable_manifest_removes_nothing(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(a="1", b="2"))
    (out / MANIFEST).write_text("{not json")
    result = plan(out, with_manifest(files(a="1"), {}))
    assert result.removed == []
    assert MANIFEST in result.changed


def stamps_of(out: Path) -> dict[str, tuple[int, int]]:
    """What `record` would note of `out`'s files: path -> (size, mtime_ns)."""
    found = {}
    for path in out.rglob("*"):
        if path.is_file():
            stat = path.stat()
            found[path.relative_to(out).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return found


def test_plan_takes_the_new_hashes_from_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashing every output twice (manifest, then plan) cost as much as writing the
    changed ones: `plan` hashes none again."""
    out = tmp_path / OUT
    write(out, files(keep="same", edit="old"))
    nxt = with_manifest(files(keep="same", edit="new"), {})
    hashed: list[bytes] = []
    real = output._sha256
    monkeypatch.setattr(output, "_sha256", lambda content: hashed.append(content) or real(content))
    result = plan(out, nxt, stamps_of(out))
    assert result.changed == ["edit", MANIFEST] and result.unchanged == ["keep"]
    assert hashed == []


def test_recorded_stamps_of_a_malformed_state_are_none(tmp_path: Path) -> None:
    """The stamps are a hint, read without validating the whole state: anything but the
    expected shape means none (every output is then read back by `plan`)."""
    out = tmp_path / OUT
    state = tmp_path / CACHE_DIR / STATE_FILE
    state.parent.mkdir()
    good = {"output_dir": str(out), "outputs": {"a": {"size": 1, "mtime_ns": 2}}}
    state.write_text(json.dumps(good))
    assert recorded_stamps(tmp_path, out) == {"a": (1, 2)}
    assert recorded_stamps(tmp_path, tmp_path / "elsewhere") == {}
    for broken in ("{not json", "[]", '{"output_dir": 3}', json.dumps({**good, "outputs": [1]})):
        state.write_text(broken)
        assert recorded_stamps(tmp_path, out) == {}, broken
    state.write_text(json.dumps({**good, "outputs": {"a": {"size": 1}}}))
    assert recorded_stamps(tmp_path, out) == {}


def test_plan_sees_a_directory_where_a_file_goes_as_added(tmp_path: Path) -> None:
    out = tmp_path / OUT
    (out / "a").mkdir(parents=True)
    assert plan(out, files(a="1")).added == ["a"]


# -- apply ------------------------------------------------------------------------------


def test_apply_writes_removes_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(keep="same", edit="old", deep__er__gone="bye", deep__stays="x"))
    (out / "foreign.txt").write_text("user's")
    (out / "deep" / "er" / "users_file").write_text("mine")

    nxt = with_manifest(files(keep="same", edit="new", deep__stays="x", added="+"), {})
    changes = plan(out, nxt)
    apply(out, nxt, changes)

    result = tree(out)
    assert result["edit"] == b"new"
    assert result["added"] == b"+"
    assert "deep/er/gone" not in result
    assert result["foreign.txt"] == b"user's"
    assert result["deep/er/users_file"] == b"mine", "a foreign file beside a removed one"
    assert [p.name for p in tmp_path.iterdir()] == [OUT], "staging folder left behind"
    assert plan(out, nxt).stale is False


def test_apply_removes_folders_it_emptied_but_not_the_output_folder(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(a__b__c="1"))
    nxt = with_manifest([], {})
    apply(out, nxt, plan(out, nxt))
    assert out.is_dir()
    assert not (out / "a").exists()
    assert sorted(tree(out)) == [MANIFEST]


def test_apply_with_nothing_to_write_creates_no_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(a="1"))
    stat = (out / "a").stat()
    produced = with_manifest(files(a="1"), {"models/a.py": "0" * 64})
    changes = plan(out, produced)
    assert not changes.stale
    apply(out, produced, changes)
    assert sorted(p.name for p in tmp_path.iterdir()) == [OUT]
    assert (out / "a").stat().st_mtime_ns == stat.st_mtime_ns


def test_a_failed_apply_keeps_the_old_manifest_and_removes_the_staging_folder(
    tmp_path: Path,
) -> None:
    out = tmp_path / OUT
    write(out, files(a="1", b="2"))
    old_manifest = (out / MANIFEST).read_bytes()
    # `b` cannot be replaced: a non-empty directory now stands where the file goes.
    (out / "b").unlink()
    (out / "b").mkdir()
    (out / "b" / "blocker").write_text("x")

    nxt = with_manifest(files(a="changed", b="3"), {"models/a.py": "1" * 64})
    with pytest.raises(OSError):
        apply(out, nxt, plan(out, nxt))

    assert (out / MANIFEST).read_bytes() == old_manifest, "manifest replaced before the files"
    assert [p.name for p in tmp_path.iterdir()] == [OUT], "staging folder left behind"


# -- a compile interrupted half-way ------------------------------------------------------


def interrupted(monkeypatch: pytest.MonkeyPatch, function: str, calls: int, out: Path) -> None:
    """Make `os.<function>` fail on `out`'s files from its `calls`+1-th call on, as a
    kill would stop it there."""
    real = getattr(os, function)
    count = 0

    def failing(*args: object, **kwargs: object) -> object:
        nonlocal count
        if Path(str(args[-1])).is_relative_to(out):
            count += 1
            if count > calls:
                raise OSError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(os, function, failing)


@pytest.mark.parametrize("next_input", ["same", "other"])
@pytest.mark.parametrize(
    ("function", "calls"),
    [("replace", 1), ("replace", 2), ("replace", 3), ("unlink", 0), ("unlink", 1)],
    ids=[
        "before-any-file",
        "one-file-replaced",
        "all-but-the-manifest",
        "no-file-removed",
        "one-removed",
    ],
)
def test_an_interrupted_apply_is_stale_until_a_compile_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, function: str, calls: int, next_input: str
) -> None:
    """Whether the kill came before the new manifest or after it (stale files still
    there, which it no longer lists), the folder is stale; the next compile, of other
    input even, removes whatever the interrupted one wrote or meant to remove."""
    out = tmp_path / OUT
    write(out, files(keep="k", edit="old", gone1="x", gone2="y"))
    nxt = with_manifest(files(keep="k", edit="new", added="+"), {})
    with monkeypatch.context() as patched:
        interrupted(patched, function, calls, out)
        with pytest.raises(OSError, match="killed"):
            apply(out, nxt, plan(out, nxt))
    assert json.loads((out / IN_PROGRESS).read_text()) == {
        "paths": ["added", "edit", "gone1", "gone2", MANIFEST]
    }

    again = plan(out, nxt, stamps_of(out))
    assert again.stale and IN_PROGRESS in again.removed
    if next_input == "other":  # `added` is no longer produced
        nxt = with_manifest(files(keep="k"), {})
    apply(out, nxt, plan(out, nxt, stamps_of(out)))
    assert tree(out) == {f.path: f.content for f in nxt}
    assert not plan(out, nxt).stale


def test_a_complete_apply_leaves_no_in_progress_record(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(a="1", b="2"))
    write(out, files(a="3"))
    assert sorted(tree(out)) == ["a", MANIFEST]


def test_a_killed_compile_leaves_no_state_calling_the_folder_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed just after recording what it was about to change, then the edit undone:
    the recorded state of the compile before matches the inputs and every output, but
    the folder holds the in-progress record."""
    project = _demo(tmp_path)
    assert compile_project(project).ok
    model = project / "models" / "job.py"
    original = model.read_text()
    model.write_text(original + "\n# edited\n")
    with monkeypatch.context() as patched:
        interrupted(patched, "replace", 1, project / OUT)
        with pytest.raises(OSError, match="killed"):
            compile_project(project)
    model.write_text(original)
    assert compile_project(project, mode="check").stale
    assert compile_project(project).ok
    assert not (project / OUT / IN_PROGRESS).exists()
    assert not compile_project(project, mode="check").stale


def test_apply_removes_the_staging_folders_of_killed_compiles(tmp_path: Path) -> None:
    out = tmp_path / OUT
    for name in (f".{OUT}.staging-12345", f".{OUT}.staging-1"):
        (tmp_path / name / "core_docs").mkdir(parents=True)
        (tmp_path / name / "core_docs" / "models.md").write_text("half")
    (tmp_path / f".{OUT}.staging-notes").mkdir()  # not a staging folder's name
    write(out, files(a="1"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".{OUT}.staging-notes", OUT]


def test_paths_outside_the_output_folder_are_never_removed(tmp_path: Path) -> None:
    """A manifest or in-progress record is read from disk: one naming `../x` or an
    absolute path (corrupt, or written by someone else) removes nothing outside."""
    out = tmp_path / OUT
    write(out, files(a="1"))
    victims = [tmp_path / "victim", tmp_path / "elsewhere"]
    for victim in victims:
        victim.write_text("keep me")
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["outputs"]["../victim"] = "0" * 64
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / IN_PROGRESS).write_text(json.dumps({"paths": [str(victims[1])]}))
    produced = with_manifest(files(a="1"), {})
    changes = plan(out, produced)
    assert changes.removed == [IN_PROGRESS]
    apply(out, produced, changes)
    assert all(victim.read_text() == "keep me" for victim in victims)


# -- manifest ---------------------------------------------------------------------------


def test_with_manifest_records_sorted_hashes(tmp_path: Path) -> None:
    produced = files(z="last", a="first", docs__m="middle")
    # Large files are hashed on another thread: one of them, between the others.
    produced.insert(1, OutputFile(path="b/large.json", content=b"x" * output.LARGE_FILE))
    everything = with_manifest(produced, {"b.py": "2" * 64, "a.py": "1" * 64})
    assert [f.path for f in everything[:-1]] == [f.path for f in produced]
    manifest_file = everything[-1]
    assert manifest_file.path == MANIFEST
    text = manifest_file.content.decode()
    data = json.loads(text)
    assert data["version"] == __version__
    assert data["ir_version"] == IR_VERSION
    assert list(data["inputs"]) == ["a.py", "b.py"]
    assert data["outputs"] == {f.path: sha(f.content) for f in produced}
    assert list(data["outputs"]) == sorted(data["outputs"])
    assert MANIFEST not in data["outputs"]
    assert text.endswith("\n")
    # Deterministic: the same files in another order give the same bytes.
    again = with_manifest(list(reversed(produced)), {"a.py": "1" * 64, "b.py": "2" * 64})
    assert again[-1].content == manifest_file.content


def test_read_manifest_tolerates_missing_and_corrupt_files(tmp_path: Path) -> None:
    out = tmp_path / OUT
    assert read_manifest(out) is None
    out.mkdir()
    (out / MANIFEST).write_text('{"inputs": 3}')
    assert read_manifest(out) is None
    (out / MANIFEST).write_bytes(b"\xff\x00")
    assert read_manifest(out) is None
    write(out, files(a="1"))
    manifest = read_manifest(out)
    assert manifest is not None and manifest.outputs == {"a": sha(b"1")}


def test_manifest_of_a_real_compile(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    result = compile_project(project)
    assert result.ok

    manifest = json.loads((project / OUT / MANIFEST).read_text())
    scanned = {
        p.relative_to(project).as_posix()
        for folder in ("models", "operations")
        for p in (project / folder).rglob("*.py")
    }
    assert set(manifest["inputs"]) == scanned | {".jobhunter.yml"}
    for rel, digest in manifest["inputs"].items():
        assert digest == sha((project / rel).read_bytes()), rel
    produced = {k: v for k, v in tree(project / OUT).items() if k != MANIFEST}
    assert manifest["outputs"] == {rel: sha(content) for rel, content in produced.items()}
    assert manifest["version"] == __version__
    assert result.analysis.inputs == manifest["inputs"]


def test_manifest_without_a_config_file_lists_no_config(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    (project / ".jobhunter.yml").unlink()
    assert compile_project(project).ok
    manifest = json.loads((project / OUT / MANIFEST).read_text())
    assert ".jobhunter.yml" not in manifest["inputs"]
    assert "models/job.py" in manifest["inputs"]


def test_editing_the_config_alone_makes_the_manifest_stale(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    assert compile_project(project).ok
    with (project / ".jobhunter.yml").open("a") as handle:
        handle.write("# a comment\n")
    result = compile_project(project, mode="check")
    assert result.stale
    assert result.plan is not None and result.plan.changed == [MANIFEST]


# -- minimal rewrites -------------------------------------------------------------------


def test_only_changed_files_are_rewritten(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    assert compile_project(project).ok
    out = project / OUT
    before = {rel: os.stat(out / rel) for rel in tree(out)}

    time.sleep(0.01)
    item = project / "models" / "test_item.py"
    item.write_text(item.read_text().replace("score: float = 0.5", "score: float = 0.75"))
    result = compile_project(project)

    assert result.ok and result.plan is not None
    # One model changed: its docs, the metadata the API serves, and its own router, CLI and
    # frontend modules.
    assert sorted(result.plan.changed) == [
        "cli/models/test_item.py",
        "core_docs/metadata.json",
        "core_docs/models.md",
        "generated_frontend/src/generated/models/TestItem.ts",
        "generated_routes/models/test_item.py",
        MANIFEST,
    ]
    for rel, stat in before.items():
        now = os.stat(out / rel)
        if rel in result.plan.changed:
            assert now.st_mtime_ns != stat.st_mtime_ns or now.st_ino != stat.st_ino, rel
        else:
            assert (now.st_ino, now.st_mtime_ns) == (
                stat.st_ino,
                stat.st_mtime_ns,
            ), f"{rel} was rewritten although its bytes did not change"
    # The state records every output as it is now, rewritten or not (the stamps of the
    # others are the ones `plan` checked): the next compile is the no-op fast path.
    recorded = recorded_stamps(project, out)
    assert recorded.keys() == {*tree(out)}
    for rel, stamp in recorded.items():
        now = os.stat(out / rel)
        assert stamp == (now.st_size, now.st_mtime_ns), rel
    assert compile_project(project).up_to_date


# -- the lock ---------------------------------------------------------------------------


def _demo(tmp_path: Path) -> Path:
    project = tmp_path / "demo"
    shutil.copytree(DEMO, project, ignore=shutil.ignore_patterns("__pycache__", OUT, CACHE_DIR))
    return project


def test_compile_waits_for_the_project_lock(tmp_path: Path) -> None:
    project = _demo(tmp_path)
    lock = FileLock(project / CACHE_DIR / "compile.lock")
    (project / CACHE_DIR).mkdir()
    results = []
    with lock:
        worker = threading.Thread(target=lambda: results.append(compile_project(project)))
        worker.start()
        worker.join(timeout=0.6)
        assert worker.is_alive(), "compile did not wait for the lock"
        assert not (project / OUT).exists(), "compile wrote while another held the lock"
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert results and results[0].ok
    assert (project / OUT / MANIFEST).is_file()


def test_a_lock_held_too_long_is_a_diagnostic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _demo(tmp_path)
    monkeypatch.setattr(pipeline, "LOCK_TIMEOUT_S", 0.2)
    (project / CACHE_DIR).mkdir()
    with FileLock(project / CACHE_DIR / "compile.lock"):
        result = compile_project(project)
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["JH006"]
    assert not (project / OUT).exists()


def test_concurrent_compiles_in_threads(tmp_path: Path) -> None:
    project = _demo(tmp_path)
    reference = _demo(tmp_path / "ref")
    assert compile_project(reference).ok

    results: list = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(compile_project(project))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == 4 and all(r.ok for r in results)
    # Exactly one compile wrote the files; the others found them up to date.
    writers = [r for r in results if r.plan.added]
    assert len(writers) == 1, [r.plan for r in results]
    assert tree(project / OUT) == tree(reference / OUT)
    assert not [p for p in project.iterdir() if "staging" in p.name]


def test_concurrent_compiles_in_processes(tmp_path: Path) -> None:
    project = _demo(tmp_path)
    reference = _demo(tmp_path / "ref")
    assert compile_project(reference).ok
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "jobhunter_compiler",
        "compile",
        "-p",
        str(project),
    ]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, (out + err).decode()
    summaries = b"".join(out for out, _ in outputs).decode()
    assert summaries.count("compiled 3 models, 4 operations") == 2
    assert tree(project / OUT) == tree(reference / OUT)
    assert not [p for p in project.iterdir() if "staging" in p.name]


def test_unified_diff_names_files_and_marks_binary(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, [*files(text="a\nb\n"), OutputFile(path="bin", content=b"\x00\xff")])
    nxt = [*files(text="a\nc\n", new="n\n"), OutputFile(path="bin", content=b"\xfe\x00")]
    diff = unified_diff(out, nxt, plan(out, nxt))
    assert "--- a/text\n+++ b/text\n" in diff
    assert "-b\n+c\n" in diff
    assert "--- /dev/null\n+++ b/new\n" in diff
    assert "Binary files a/bin and b/bin differ\n" in diff


def apply_unified_diff(old: list[str], diff: list[str]) -> list[str]:
    """`old` patched with the one-file diff `diff`, asserting each hunk matches it and has
    full context (less only at the file's edges, or `patch` would misplace it)."""
    result, at = [], 0
    hunks = "".join(diff[2:]).split("@@ -")[1:]
    for hunk in hunks:
        header, *body = ("@@ -" + hunk).splitlines(keepends=True)
        old_range = header.split()[1][1:].split(",")
        start, length = int(old_range[0]), int(old_range[1]) if len(old_range) > 1 else 1
        start = start - 1 if length else start
        lead = next((n for n, line in enumerate(body) if line[0] != " "), len(body))
        trail = next((n for n, line in enumerate(reversed(body)) if line[0] != " "), len(body))
        assert lead == output.DIFF_CONTEXT or start == 0, header
        assert trail == output.DIFF_CONTEXT or start + length == len(old), header
        result += old[at:start]
        at = start
        for line in body:
            if line[0] in " -":
                assert old[at] == line[1:], (header, line)
                at += 1
            if line[0] in " +":
                result.append(line[1:])
    return result + old[at:]


LINES = st.lists(st.sampled_from([f"{word}\n" for word in "abcde"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(old=LINES, new=LINES, match_limit=st.sampled_from([5, 20_000]))
def test_a_file_diff_patches_the_old_lines_into_the_new(
    old: list[str], new: list[str], match_limit: int
) -> None:
    """Whether difflib matched the lines that differ or (past the limit) they show as
    replaced: the hunks hold full context and turn the old file into the new one."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(output, "DIFF_MATCH_LINES", match_limit)
        diff = output._file_diff(old, new, "a/f", "b/f")
    if old == new:
        assert diff == []
    else:
        assert diff[:2] == ["--- a/f\n", "+++ b/f\n"]
        assert apply_unified_diff(old, diff) == new


def test_a_diff_matches_only_the_lines_between_the_common_head_and_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """difflib over a 500k-line metadata.json took minutes: only the edited span, however
    large the file, goes to its matcher."""
    out = tmp_path / OUT
    old_text = "".join(f"line {i}\n" for i in range(500_000))
    write(out, [OutputFile(path="big.json", content=old_text.encode())])
    new_text = old_text.replace("line 250000\n", "line 250000 edited\nline new\n")
    produced = [OutputFile(path="big.json", content=new_text.encode())]
    matched: list[int] = []
    real = output.difflib.SequenceMatcher

    def recording(junk: None, a: list[str], b: list[str]) -> object:
        matched.append(len(a) + len(b))
        return real(junk, a, b)

    with monkeypatch.context() as patched:
        patched.setattr(output.difflib, "SequenceMatcher", recording)
        diff = unified_diff(out, produced, plan(out, produced))
    assert matched == [3]
    assert diff == (
        "--- a/big.json\n+++ b/big.json\n@@ -249998,7 +249998,8 @@\n"
        " line 249997\n line 249998\n line 249999\n"
        "-line 250000\n+line 250000 edited\n+line new\n"
        " line 250001\n line 250002\n line 250003\n"
    )


def test_a_long_diff_is_cut_with_a_note_of_what_is_left(tmp_path: Path) -> None:
    out = tmp_path / OUT
    write(out, files(big="".join(f"{i}\n" for i in range(3000))))
    produced = files(big="".join(f"{i} changed\n" for i in range(3000)))
    lines = unified_diff(out, produced, plan(out, produced)).splitlines()
    assert len(lines) == output.DIFF_SHOWN_LINES + 1
    assert lines[:4] == ["--- a/big", "+++ b/big", "@@ -1,3000 +1,3000 @@", "-0"]
    assert (
        lines[-1]
        == f"... {2 + 1 + 6000 - output.DIFF_SHOWN_LINES} more lines of this file's diff not shown"
    )


# -- caches are an optimisation only ----------------------------------------------------


def test_corrupt_caches_mean_a_full_compile_with_the_same_output(tmp_path: Path) -> None:
    project = _demo(tmp_path)
    assert compile_project(project).ok
    expected = tree(project / OUT)
    cache_files = [p for p in (project / CACHE_DIR).rglob("*") if p.is_file()]
    assert cache_files, "no cache was written"
    for i, path in enumerate(cache_files):
        if path.name == "compile.lock":
            continue
        content = path.read_bytes()
        # Alternately garbage and a truncated copy of the real thing.
        path.write_bytes(b"\x80\x05garbage\xff" if i % 2 else content[: len(content) // 2])
    (project / "models" / "job.py").touch()  # a new mtime alone changes nothing

    result = compile_project(project)
    assert result.ok, result.diagnostics
    assert result.plan is not None and not result.plan.stale
    assert tree(project / OUT) == expected
    again = compile_project(project)  # and the caches were rewritten usable
    assert again.ok and tree(project / OUT) == expected


def test_deleting_the_cache_folder_changes_nothing(tmp_path: Path) -> None:
    project = _demo(tmp_path)
    assert compile_project(project).ok
    expected = tree(project / OUT)
    shutil.rmtree(project / CACHE_DIR)
    check = compile_project(project, mode="check")
    assert check.ok and not check.stale, check.diff
    assert compile_project(project).ok
    assert tree(project / OUT) == expected
