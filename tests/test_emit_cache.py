"""Incremental compiles (emission cache, format cache, scan cache, the output plan's
stamp shortcut) must produce exactly what a from-scratch compile produces.

The property: after any sequence of edits to a synthetic project, compiling it in place
(with every cache the previous compiles left) gives an output folder byte-identical to
compiling a copy of its sources with no cache and no output. Edits are the ones that move
cross-node facts: field types, links added and removed, models and operations renamed,
enums, schemas (shared and inline), an inherited base class, config and project name.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobhunter_compiler.emit import OutputFile
from jobhunter_compiler.emit.emit_cache import NodeKeys
from jobhunter_compiler.ir import ProjectIR
from jobhunter_compiler.pipeline import analyse, compile_project
from jobhunter_compiler.scan.scan_cache import CACHE_DIR

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "bench"))

from synth import generate  # noqa: E402

N = 6
OUT = ".run_cache"
FIELD_TYPES = ("int = 0", "str = ''", "float | None = None", "list[str] = []", "bool = True")

Edit = Callable[[Path, int, int], None]


def _models(root: Path) -> list[Path]:
    return sorted(p for p in (root / "models").glob("*/*.py") if p.name != "__init__.py")


def _operations(root: Path) -> list[Path]:
    return sorted(
        p
        for p in (root / "operations").glob("*/*.py")
        if p.name != "__init__.py" and p.parent.name != "schemas"
    )


def _pick(paths: list[Path], i: int) -> Path:
    return paths[i % len(paths)]


def _sub(path: Path, pattern: str, replacement: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(pattern, replacement, text, count=count, flags=re.M), "utf-8")


def _add_field(path: Path, line: str) -> None:
    """Add a line at the end of the file's last `class ...(Document)` body fields."""
    text = path.read_text(encoding="utf-8")
    at = text.find("\n    class Settings:")
    if at < 0:
        text = text.rstrip("\n") + f"\n{line}\n"
    else:
        text = text[:at].rstrip("\n") + f"\n{line}\n" + text[at:]
    path.write_text(text, encoding="utf-8")


def add_field(root: Path, i: int, k: int) -> None:
    _add_field(_pick(_models(root), i), f"    probe_{k % 3}: {FIELD_TYPES[k % len(FIELD_TYPES)]}")


def retype_field(root: Path, i: int, k: int) -> None:
    """Change the type of an existing field (a probe one if present, else the first str)."""
    path = _pick(_models(root), i)
    new = FIELD_TYPES[k % len(FIELD_TYPES)]
    if "    probe_" in path.read_text(encoding="utf-8"):
        _sub(path, r"^(    probe_\d+): .*$", rf"\1: {new}")
    else:
        _sub(path, r"^(    \w+): str$", r"\1: int = 0")


def remove_field(root: Path, i: int, k: int) -> None:
    """Remove the added fields, or else the model's first optional one."""
    models = _models(root)
    path = _pick(models, i)
    if "_probe_" in path.read_text(encoding="utf-8") or "    probe_" in path.read_text("utf-8"):
        _sub(path, r"^    (probe_\d+|link_probe_\d+): .*\n", "", count=0)
        return
    for path in [*models[i % len(models) :], *models]:  # an optional field nothing names
        text = path.read_text(encoding="utf-8")
        names = re.findall(r"^    (\w+): .* = None$", text, re.M)
        free = [n for n in names if f'"{n}"' not in text]
        if free:
            _sub(path, rf"^    {free[0]}: .*\n", "")
            return


def add_link(root: Path, i: int, k: int) -> None:
    models = _models(root)
    path, target = _pick(models, i), _pick(models, k)
    text = target.read_text(encoding="utf-8")
    cls = re.search(r"^class (\w+)\(", text[text.index("@datamodel") :], re.M)
    assert cls is not None
    module = ".".join(target.relative_to(root).with_suffix("").parts)
    alias = f"Probe{cls.group(1)}"
    many = k % 2 == 1
    body = path.read_text(encoding="utf-8")
    head, _, rest = body.partition("\n")
    imports = "from beanie import Link as ProbeLink\n"
    imports += f"from {module} import {cls.group(1)} as {alias}\n"
    path.write_text(f"{head}\n{imports}{rest}", encoding="utf-8")
    spelled = f"list[ProbeLink[{alias}]] = []" if many else f"ProbeLink[{alias}] | None = None"
    _add_field(path, f"    link_probe_{k % 2}: {spelled}")


def rename_model(root: Path, i: int, k: int) -> None:
    """Rename through `@datamodel(name=...)`: links to it and `models_in` change meaning."""
    path = _pick(_models(root), i)
    _sub(path, r'^    name="(\w+?)(Renamed)?",$', r'    name="\1Renamed",')


def rename_operation(root: Path, i: int, k: int) -> None:
    path = _pick(_operations(root), i)
    suffix = ["_b", "_a", ""][k % 3]
    _sub(path, r'^    name="([a-z_]+?)(_a|_b)?",$', rf'    name="\1{suffix}",')


def change_enum(root: Path, i: int, k: int) -> None:
    path = root / "models" / "enums.py"
    enums = re.findall(r"^class (\w+)\(str, Enum\):$", path.read_text(encoding="utf-8"), re.M)
    name = enums[i % len(enums)]
    if "class ProbeLevel" in path.read_text(encoding="utf-8") and k % 3 == 2:
        _sub(path, r"^    (LOW|HIGH)(_X)? = ", r"    \1_X = ", count=0)  # names, not values
    elif k % 2:
        _sub(path, rf"^(class {name}\(str, Enum\):\n)", rf'\1    PROBE_{k} = "probe_{k}"\n')
    else:
        _sub(path, r'^(    \w+ = ")(\w+?)(_x)?"$', r'\1\2_x"')


def rename_class(root: Path, i: int, k: int) -> None:
    """Rename a model's class everywhere but keep its `@datamodel(name=...)`: what links
    to it import another class, though no IR node naming it changed."""
    text = _pick(_models(root), i).read_text(encoding="utf-8")
    cls = re.search(r"^class (\w+)\(", text[text.index("@datamodel") :], re.M)
    assert cls is not None
    old = cls.group(1)
    new = old[:-3] if old.endswith("Cls") else f"{old}Cls"
    for path in root.rglob("*.py"):
        _sub(path, rf'(?<!")\b{old}\b(?!")', new, count=0)


def declare_uuid_id(root: Path, i: int, k: int) -> None:
    """Give a model UUID ids: the filters and annotations of links to it change."""
    path = _pick(_models(root), i)
    if "probe_id" in path.read_text(encoding="utf-8"):
        _sub(path, r"^    id: .*  # probe_id\n", "")
        return
    head, _, rest = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(f"{head}\nfrom uuid import UUID as ProbeUUID\n{rest}", encoding="utf-8")
    _add_field(path, "    id: ProbeUUID  # probe_id")


def add_int_enum_field(root: Path, i: int, k: int) -> None:
    """An IntEnum field: its choices are labelled with the members' names."""
    enums = root / "models" / "enums.py"
    if "class ProbeLevel" not in enums.read_text(encoding="utf-8"):
        with enums.open("a", encoding="utf-8") as handle:
            handle.write("\n\nclass ProbeLevel(IntEnum):\n    LOW = 1\n    HIGH = 2\n")
        _sub(enums, r"^from enum import Enum$", "from enum import Enum, IntEnum")
    path = _pick(_models(root), i)
    head, _, rest = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(f"{head}\nfrom models.enums import ProbeLevel\n{rest}", encoding="utf-8")
    _add_field(path, f"    probe_level_{k % 2}: ProbeLevel | None = None")


def change_schema(root: Path, i: int, k: int) -> None:
    """A shared schema (operations/schemas/) or one declared beside its operation."""
    files = [*sorted((root / "operations" / "schemas").glob("[!_]*.py")), *_operations(root)]
    path = _pick(files, i)
    new = f"    probe_{k % 2}: {FIELD_TYPES[k % len(FIELD_TYPES)]}\n"
    _sub(path, r'^(class \w+\(BaseModel\):\n    """[^\n]*"""\n\n)', rf"\1{new}")


def change_base(root: Path, i: int, k: int) -> None:
    path = root / "models" / "base.py"
    _sub(path, r"^(    is_archived: bool = )(True|False)$", rf"\1{k % 2 == 0}")
    if k % 3 == 0:
        _sub(path, r"^(    updated_at: .*\n)", rf"\1    base_probe_{k}: int = {k}\n")


def use_constant(root: Path, i: int, k: int) -> None:
    """Bound a field by a constant of another module: only name resolution reads it (no
    class of that module is involved), so its edits test the resolver's recorded reads."""
    limits = root / "models" / "limits.py"
    if not limits.exists():
        limits.write_text('"""Shared limits."""\n\nPROBE_MAX = 10\n', encoding="utf-8")
    path = _pick(_models(root), i)
    if "PROBE_MAX" in path.read_text(encoding="utf-8"):
        return
    head, _, rest = path.read_text(encoding="utf-8").partition("\n")
    imports = "from pydantic import Field as ProbeField\nfrom models.limits import PROBE_MAX\n"
    path.write_text(f"{head}\n{imports}{rest}", encoding="utf-8")
    _add_field(path, "    probe_bounded: int = ProbeField(0, le=PROBE_MAX)")


def change_constant(root: Path, i: int, k: int) -> None:
    limits = root / "models" / "limits.py"
    if not limits.exists():
        use_constant(root, i, k)
    _sub(limits, r"^PROBE_MAX = \d+$", f"PROBE_MAX = {20 + k}")


def change_docstring(root: Path, i: int, k: int) -> None:
    paths = [*_models(root), *_operations(root)]
    _sub(_pick(paths, i), r'^    """(.*?)(, revised \d+)?"""$', rf'    """\1, revised {k}"""')


def change_config(root: Path, i: int, k: int) -> None:
    path = root / ".jobhunter.yml"
    text = re.sub(r"\napi:\n.*\n", "\n", path.read_text(encoding="utf-8"))
    text = re.sub(r"^project: .*$", f"project: synth_{['a', 'b'][i % 2]}", text, flags=re.M)
    if k % 2:
        text += f"api:\n  default_page_size: {10 + k % 5}\n"
    path.write_text(text, encoding="utf-8")


def project_from_pyproject(root: Path, i: int, k: int) -> None:
    """Name the project in pyproject.toml instead: every header changes, the config not."""
    _sub(root / ".jobhunter.yml", r"^project: .*\n", "")
    name = f"pyproject_{k % 2}"
    (root / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n', encoding="utf-8")


BUILTIN = REPO / "jobhunter_compiler" / "templates"
OVERRIDDEN = ("api/model_router.py.j2", "frontend/model.ts.j2", "cli/operation_command.py.j2")


def change_template(root: Path, i: int, k: int) -> None:
    """Override (or edit the override of) a per-node template through `templates_dir`."""
    config = root / ".jobhunter.yml"
    if "templates_dir:" not in config.read_text(encoding="utf-8"):
        with config.open("a", encoding="utf-8") as handle:
            handle.write("templates_dir: overrides\n")
    name = OVERRIDDEN[i % len(OVERRIDDEN)]
    target = root / "overrides" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    text = (BUILTIN / name).read_text(encoding="utf-8")
    comment = "#" if name.endswith(".py.j2") else "//"
    target.write_text(f"{text}{comment} probe override {k}\n", encoding="utf-8")


EDITS: list[Edit] = [
    add_field,
    retype_field,
    remove_field,
    add_link,
    rename_model,
    rename_operation,
    rename_class,
    declare_uuid_id,
    add_int_enum_field,
    change_enum,
    change_schema,
    change_base,
    change_docstring,
    use_constant,
    change_constant,
    change_config,
    change_template,
    project_from_pyproject,
]


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def sources(project: Path, into: Path) -> Path:
    shutil.copytree(project, into, ignore=shutil.ignore_patterns(OUT, CACHE_DIR, "__pycache__"))
    return into


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic project compiled once, caches and all: each example starts from a copy."""
    root = tmp_path_factory.mktemp("synth") / "project"
    generate(root, N)
    assert compile_project(root).ok
    return root


def _same_as_from_scratch(project: Path, scratch: Path) -> bool:
    incremental = compile_project(project)
    fresh = compile_project(sources(project, scratch))
    messages = [(d.code, d.message) for d in incremental.diagnostics]
    assert messages == [(d.code, d.message) for d in fresh.diagnostics]
    assert incremental.ok == fresh.ok
    if fresh.ok:
        got, want = tree(project / OUT), tree(scratch / OUT)
        stale = sorted(p for p in set(got) | set(want) if got.get(p) != want.get(p))
        assert not stale, f"incremental output differs from scratch in {stale}"
    return fresh.ok


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(EDITS), st.integers(0, 11), st.integers(0, 11)),
        min_size=1,
        max_size=4,
    )
)
def test_incremental_compile_equals_compile_from_scratch(
    compiled: Path, tmp_path_factory: pytest.TempPathFactory, edits: list
) -> None:
    work = tmp_path_factory.mktemp("incremental")
    project = work / "project"
    shutil.copytree(compiled, project)
    for step, (edit, i, k) in enumerate(edits):
        edit(project, i, k)
        _same_as_from_scratch(project, work / f"scratch-{step}")


@pytest.mark.parametrize("edit", EDITS, ids=lambda e: e.__name__)
def test_every_edit_alone(compiled: Path, tmp_path: Path, edit: Edit) -> None:
    """Each kind of edit at least once, whatever hypothesis draws; and each really edits."""
    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    before = {p: p.read_bytes() for p in project.rglob("*.py")}
    config = (project / ".jobhunter.yml").read_bytes()
    edit(project, 1, 3)
    after = {p: p.read_bytes() for p in project.rglob("*.py")}
    assert after != before or (project / ".jobhunter.yml").read_bytes() != config
    assert _same_as_from_scratch(project, tmp_path / "scratch") or edit is rename_model


@pytest.mark.parametrize(
    "edits",
    [
        [(add_link, 0, 2), (declare_uuid_id, 2, 0), (rename_class, 2, 0)],
        [(add_int_enum_field, 1, 0), (change_enum, 0, 2)],
        [(use_constant, 1, 0), (change_constant, 0, 1), (change_constant, 0, 2)],
        [(change_config, 0, 1), (change_config, 0, 2)],
        [(project_from_pyproject, 0, 0), (project_from_pyproject, 0, 1)],
        [(change_template, 0, 0), (change_template, 0, 1), (change_template, 2, 2)],
    ],
    ids=[
        "link-target-changes",
        "enum-member-names",
        "constant-of-another-module",
        "config-only",
        "project-name-from-pyproject",
        "template-overrides",
    ],
)
def test_cross_node_edits(compiled: Path, tmp_path: Path, edits: list) -> None:
    """Sequences hypothesis may not draw: a fact of one node that another renders."""
    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    for step, (edit, i, k) in enumerate(edits):
        edit(project, i, k)
        assert _same_as_from_scratch(project, tmp_path / f"scratch-{step}")


def scope_digests(ir: ProjectIR) -> dict[tuple[str, str], str]:
    """(kind, name) -> the digest of the part of the IR the node's renderers read."""
    keys = NodeKeys(ir)
    return {
        (kind, node.name): keys.scope_digest(node)
        for kind, nodes in (("model", ir.models), ("operation", ir.operations))
        for node in nodes
    }


def test_an_edit_re_renders_only_its_nodes(compiled: Path, tmp_path: Path) -> None:
    """Keys are not all-invalidating: one model's new field changes only that model's key
    and the keys of nodes naming it."""
    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    before = analyse(project)
    add_field(project, 0, 0)
    after = analyse(project)
    assert before.ir is not None and after.ir is not None
    old, new = scope_digests(before.ir), scope_digests(after.ir)
    changed = [node for node, digest in new.items() if old.get(node) != digest]
    edited = _models(project)[0]
    assert changed, "the edited model's key did not change"
    assert len(changed) < len(after.ir.models) + len(after.ir.operations) - 2, changed
    assert any(
        kind == "model" and m.source.path == edited.relative_to(project).as_posix()
        for kind, name in changed
        for m in after.ir.models
        if m.name == name
    )


def test_an_edit_resolves_only_the_files_that_read_the_edited_one(
    compiled: Path, tmp_path: Path
) -> None:
    """The resolve memo: after editing one model, the files resolved again are that model's
    and files resolving a name through it, so each names its class; no others."""
    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    assert analyse(project).files_resolved == []
    edited = _models(project)[2]
    cls = re.findall(r"^class (\w+)\(", edited.read_text(encoding="utf-8"), re.M)[-1]
    change_docstring(project, 2, 1)
    analysis = analyse(project)
    assert analysis.ok
    resolved = analysis.files_resolved
    assert edited.relative_to(project).as_posix() in resolved
    assert len(resolved) > 1, "nothing that links to it was resolved again"
    assert all(cls in (project / path).read_text(encoding="utf-8") for path in resolved)
    change_base(project, 0, 0)  # a field of the base documents some models derive from
    derived = [
        path.relative_to(project).as_posix()
        for path in _models(project)
        if re.search(r"^class \w+\((Timestamped|Owned)Document\)", path.read_text(), re.M)
    ]
    assert derived and set(derived) < set(analyse(project).files_resolved)


def test_the_memo_rewrites_the_shards_an_edit_touched_and_all_for_a_new_key(
    compiled: Path, tmp_path: Path
) -> None:
    from jobhunter_compiler.resolve.memo import KEY_FILE, MEMO_DIR

    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    memo = project / CACHE_DIR / MEMO_DIR

    def stamps() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in memo.iterdir()}

    before = stamps()
    change_docstring(project, 2, 1)
    assert analyse(project).files_resolved
    after = stamps()
    rewritten = {name for name in after if after[name] != before.get(name)}
    assert after.keys() == before.keys() and KEY_FILE not in rewritten
    assert 0 < len(rewritten) < len(before) // 4, rewritten
    assert analyse(project).files_resolved == []  # what was saved is whole

    config = project / ".jobhunter.yml"  # a new memo key: everything resolved and rewritten
    config.write_text(config.read_text(encoding="utf-8") + "exclude: [nothing/**]\n")
    discovered = {
        path.relative_to(project).as_posix()
        for folder in ("models", "operations")
        for path in (project / folder).rglob("*.py")
    }
    assert set(analyse(project).files_resolved) == discovered
    again = stamps()
    assert all(again[name] != after.get(name) for name in again)
    assert analyse(project).files_resolved == []


def test_the_scan_cache_reads_summaries_only_of_the_shards_asked_for(
    compiled: Path, tmp_path: Path
) -> None:
    """Headers of every file, summaries of one shard; a shard cut short is re-parsed."""
    from jobhunter_compiler.scan.scan_cache import ScanCache

    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    cache = ScanCache(project)
    cache.load()
    digests = sorted(cache.headers)
    assert len(digests) > 20 and not cache.summaries
    assert cache.summary(digests[0]) is not None
    assert cache.summaries and all(d[:2] == digests[0][:2] for d in cache.summaries)

    shard = cache.folder / digests[-1][:2]
    shard.write_bytes(shard.read_bytes()[:-1])
    damaged = ScanCache(project)
    damaged.load()
    assert digests[-1] not in damaged.headers and digests[0] in damaged.headers
    analysis = analyse(project)
    assert analysis.ok and analysis.files_parsed >= 1  # the cut shard's files, parsed again
    healed = ScanCache(project)
    healed.load()
    assert set(healed.headers) == set(digests)


def test_without_a_cache_dir_nothing_is_kept(compiled: Path) -> None:
    from jobhunter_compiler.pipeline import emit

    analysis = analyse(compiled)
    assert analysis.ir is not None
    first = emit(analysis.ir, analysis.config, None)
    second = emit(analysis.ir, analysis.config, None)
    assert [f.path for f in first] == [f.path for f in second]
    assert all(isinstance(f, OutputFile) for f in first)
    assert first == second


# -- the output plan's stamp shortcut ---------------------------------------------------


def test_a_tampered_output_is_read_and_restored(compiled: Path, tmp_path: Path) -> None:
    """The plan trusts the manifest's hash only for files whose stamp is unchanged."""
    project = sources(compiled, tmp_path / "project")
    assert compile_project(project).ok
    out = project / OUT
    expected = tree(out)
    victim = out / "generated_routes" / "models" / "invoice.py"
    victim.write_bytes(victim.read_bytes() + b"# edited by hand\n")
    result = compile_project(project)
    assert result.ok and result.plan is not None
    assert result.plan.changed == ["generated_routes/models/invoice.py"]
    assert tree(out) == expected


def test_stamps_are_used_and_only_for_their_output_folder(compiled: Path, tmp_path: Path) -> None:
    from jobhunter_compiler.output import writer as output
    from jobhunter_compiler.output.freshness import recorded_stamps

    project = sources(compiled, tmp_path / "project")  # stamps name their folder: compile
    assert compile_project(project).ok
    out = project / OUT
    stamps = recorded_stamps(project, out)
    assert stamps and recorded_stamps(project, project / "elsewhere") == {}
    analysis = analyse(project)
    assert analysis.ir is not None
    from jobhunter_compiler.pipeline import emit

    files = output.with_manifest(emit(analysis.ir, analysis.config, None), analysis.inputs)
    reads: list[Path] = []
    real_read = output._read

    def counting_read(path: Path) -> bytes | None:
        reads.append(path)
        return real_read(path)

    output._read = counting_read  # type: ignore[assignment]
    try:
        with_stamps = output.plan(out, files, stamps)
        without = output.plan(out, files)
    finally:
        output._read = real_read  # type: ignore[assignment]
    assert with_stamps == without
    assert not with_stamps.stale
    assert len(reads) == len(files) + 1, "with stamps, only the manifest should be read"


def test_caches_of_other_versions_are_removed_and_nothing_else(
    compiled: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(compiled, project)
    cache = project / CACHE_DIR
    stale = ["scan-0.0.1-1", "emit-1", "format-ruff-1-2", "resolve-0.0.1-1.pickle"]
    for name in stale[:3]:
        (cache / name).mkdir()
        (cache / name / "00").write_bytes(b"old")
    (cache / stale[3]).write_bytes(b"old")
    (cache / "mongo").mkdir()
    (cache / "mongo" / "app.sqlite").write_bytes(b"records")
    before = sorted(p.name for p in cache.iterdir() if p.name not in stale)
    add_field(project, 0, 0)
    assert compile_project(project).ok
    after = sorted(p.name for p in cache.iterdir())
    assert after == before
    assert (cache / "mongo" / "app.sqlite").read_bytes() == b"records"
