"""Schema evolution: the snapshot, the classification of each change since it (JH401-404),
`compile --check` and `jobhunter migrate check|new` as the CI gate, and the migration
source `migrate new` writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_black_and_ruff_clean, invoke_jobhunter

from jobhunter_compiler.evolve.classify import ChangeKind, classify
from jobhunter_compiler.evolve.snapshot import Snapshot, schema_snapshot
from jobhunter_compiler.pipeline import analyse

BASE = """\
from enum import Enum
from typing import Optional, Union

import pymongo
from beanie import Document, Indexed
from pydantic import Field
from pymongo import IndexModel

from jobhunter_compiler import datamodel


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


@datamodel(name="Item")
class Item(Document):
    title: str = Field(max_length=100)
    count: int = Field(default=0, ge=0)
    note: Optional[str] = None
    color: Color = Color.RED
    code: str

    class Settings:
        name = "items"
        indexes = [IndexModel([("code", pymongo.ASCENDING)])]
"""

OTHER = """\
from beanie import Document

from jobhunter_compiler import datamodel


@datamodel(name="Tag")
class Tag(Document):
    label: str
"""


def project(folder: Path, item: str, other: str | None = None) -> Path:
    (folder / "models").mkdir(parents=True, exist_ok=True)
    (folder / ".jobhunter.yml").write_text("project: evolving\n", encoding="utf-8")
    (folder / "models" / "item.py").write_text(item, encoding="utf-8")
    if other is not None:
        (folder / "models" / "tag.py").write_text(other, encoding="utf-8")
    return folder


def snapshot_of(folder: Path) -> Snapshot:
    analysis = analyse(folder)
    assert analysis.ok and analysis.ir is not None, analysis.diagnostics
    return schema_snapshot(analysis.ir)


K = ChangeKind
CASES: dict[str, tuple[list[tuple[str, str]], set[ChangeKind]]] = {
    "optional field added": (
        [("    code: str\n", "    code: str\n    extra: Optional[str] = None\n")],
        {K.FIELD_ADDED},
    ),
    "required field added": (
        [("    code: str\n", "    code: str\n    extra: str\n")],
        {K.REQUIRED_FIELD_ADDED},
    ),
    "field removed": ([("    note: Optional[str] = None\n", "")], {K.FIELD_REMOVED}),
    "field renamed": (
        [("    title: str = Field(max_length=100)", "    name: str = Field(max_length=100)")],
        {K.FIELD_RENAMED},
    ),
    "type changed": ([("count: int = Field", "count: float = Field")], {K.TYPE_CHANGED}),
    "type widened to a union": (
        [("    code: str\n", "    code: Union[str, int]\n")],
        {K.TYPE_WIDENED},
    ),
    "enum value added": (
        [('    BLUE = "blue"\n', '    BLUE = "blue"\n    GREEN = "green"\n')],
        {K.ENUM_VALUE_ADDED},
    ),
    "enum value removed": ([('    BLUE = "blue"\n', "")], {K.ENUM_VALUE_REMOVED}),
    "constraint narrowed": ([("max_length=100", "max_length=50")], {K.CONSTRAINT_NARROWED}),
    "constraint relaxed": ([("max_length=100", "max_length=200")], {K.CONSTRAINT_RELAXED}),
    "bound removed": ([("default=0, ge=0", "default=0")], {K.CONSTRAINT_RELAXED}),
    "bound added": ([("max_length=100", "max_length=100, min_length=1")], {K.CONSTRAINT_NARROWED}),
    "optional made required": (
        [("    note: Optional[str] = None\n", "    note: str\n")],
        {K.MADE_REQUIRED},
    ),
    "required made optional": (
        [("    code: str\n", "    code: Optional[str] = None\n")],
        {K.MADE_OPTIONAL, K.MADE_NULLABLE},
    ),
    "field index added": ([("    code: str\n", "    code: Indexed(str)\n")], {K.INDEX_ADDED}),
    "unique field index added": (
        [("    code: str\n", "    code: Indexed(str, unique=True)\n")],
        {K.UNIQUE_INDEX_ADDED},
    ),
    "unique index added": (
        [("ASCENDING)])]", 'ASCENDING)]), IndexModel([("title", 1)], unique=True)]')],
        {K.UNIQUE_INDEX_ADDED},
    ),
    "index removed": (
        [('indexes = [IndexModel([("code", pymongo.ASCENDING)])]', "indexes = []")],
        {K.INDEX_REMOVED},
    ),
    "collection renamed": ([('name = "items"', 'name = "things"')], {K.COLLECTION_RENAMED}),
    "default changed": ([("default=0, ge=0", "default=1, ge=0")], {K.DEFAULT_CHANGED}),
}
SAFE = {
    K.FIELD_ADDED,
    K.TYPE_WIDENED,
    K.ENUM_VALUE_ADDED,
    K.CONSTRAINT_RELAXED,
    K.MADE_OPTIONAL,
    K.MADE_NULLABLE,
    K.INDEX_ADDED,
    K.INDEX_REMOVED,
    K.DEFAULT_CHANGED,
    K.MODEL_ADDED,
}


@pytest.fixture(scope="module")
def base_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    return snapshot_of(project(tmp_path_factory.mktemp("base"), BASE, OTHER))


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_change_kind_is_classified(case: str, base_snapshot: Snapshot, tmp_path: Path) -> None:
    edits, expected = CASES[case]
    source = BASE
    for old, new in edits:
        assert old in source, old
        source = source.replace(old, new)
    changes = classify(base_snapshot, snapshot_of(project(tmp_path, source, OTHER)))
    assert {change.kind for change in changes} == expected, changes
    for change in changes:
        assert change.safe is (change.kind in SAFE), change


def test_models_added_removed_and_renamed(base_snapshot: Snapshot, tmp_path: Path) -> None:
    renamed = OTHER.replace('name="Tag"', 'name="Label"').replace("class Tag", "class Label")
    renamed += '\n    class Settings:\n        name = "tag"\n'
    base = dict(base_snapshot, models=dict(base_snapshot["models"]))
    base["models"]["Tag"] = dict(base["models"]["Tag"], collection="tag")
    changes = classify(base, snapshot_of(project(tmp_path / "a", BASE, renamed)))
    assert [(c.kind, c.owner) for c in changes] == [(K.MODEL_RENAMED, "Label")]
    changes = classify(base_snapshot, snapshot_of(project(tmp_path / "b", BASE)))
    assert [(c.kind, c.owner, c.safe) for c in changes] == [(K.MODEL_REMOVED, "Tag", False)]
    changes = classify(snapshot_of(project(tmp_path / "b", BASE)), base_snapshot)
    assert [(c.kind, c.owner, c.safe) for c in changes] == [(K.MODEL_ADDED, "Tag", True)]


def test_a_rename_pairs_the_closest_names_of_one_type(
    base_snapshot: Snapshot, tmp_path: Path
) -> None:
    source = BASE.replace("    title: str", "    headline: str").replace(
        "    code: str\n", "    code_value: str\n"
    )
    changes = classify(base_snapshot, snapshot_of(project(tmp_path, source, OTHER)))
    assert sorted((c.field, c.new_name) for c in changes) == [
        ("code", "code_value"),
        ("title", "headline"),
    ]


def test_a_nested_schema_change_is_classified_at_the_schema(tmp_path: Path) -> None:
    address = "from pydantic import BaseModel\n\n\nclass Address(BaseModel):\n    city: str\n"
    holder = BASE.replace("    code: str\n", "    code: str\n    address: Address\n").replace(
        "from jobhunter_compiler import datamodel\n",
        "from jobhunter_compiler import datamodel\n\nfrom .address import Address\n",
    )
    folder = project(tmp_path, holder)
    (folder / "models" / "address.py").write_text(address, encoding="utf-8")
    before = snapshot_of(folder)
    assert list(before["schemas"]) == ["models.address.Address"]
    (folder / "models" / "address.py").write_text(address + "    zip: str\n", encoding="utf-8")
    [change] = classify(before, snapshot_of(folder))
    assert (change.kind, change.subject, change.safe) == (
        K.REQUIRED_FIELD_ADDED,
        "Address.zip",
        False,
    )


# -- the commands ---------------------------------------------------------------------------


RENAMED = BASE.replace("    title: str", "    name: str")


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    folder = project(tmp_path / "evolving", BASE, OTHER)
    result = invoke_jobhunter("migrate", "new", "initial", "--project", str(folder))
    assert result.exit_code == 0, result.output
    assert "recorded the schema of 2 model(s)" in result.output
    assert not list((folder / "migrations").glob("*.py")), "nothing to migrate from yet"
    return folder


def test_compile_reports_changes_and_check_fails_until_a_migration(recorded: Path) -> None:
    (recorded / "models" / "item.py").write_text(RENAMED, encoding="utf-8")
    compiled = invoke_jobhunter("compile", "--project", str(recorded))
    assert compiled.exit_code == 0, compiled.output
    assert "JH403" in compiled.output and "Item.title" in compiled.output
    assert (recorded / ".run_cache" / "generated_api.py").is_file()
    # the no-op compile repeats the warning; --check and migrate check fail on it
    again = invoke_jobhunter("compile", "--project", str(recorded), "--format", "json")
    assert json.loads(again.stdout)["needs_migration"] is True
    assert invoke_jobhunter("compile", "--check", "--project", str(recorded)).exit_code == 1
    checked = invoke_jobhunter("migrate", "check", "--project", str(recorded), "--format", "json")
    assert checked.exit_code == 1
    data = json.loads(checked.stdout)
    assert data["needs_migration"] is True
    assert [(c["code"], c["path"], c["line"]) for c in data["changes"]] == [
        ("JH403", "models/item.py", 19)
    ]

    written = invoke_jobhunter("migrate", "new", "rename title", "--project", str(recorded))
    assert written.exit_code == 0, written.output
    [migration] = (recorded / "migrations").glob("*_rename_title.py")
    source = migration.read_text()
    assert '{"$rename": {"title": "name"}}' in source
    assert '{"$rename": {"name": "title"}}' in source
    assert "NotImplementedError" not in source
    assert_black_and_ruff_clean([str(migration)])
    assert invoke_jobhunter("migrate", "check", "--project", str(recorded)).exit_code == 0
    assert invoke_jobhunter("compile", "--check", "--project", str(recorded)).exit_code == 0
    compiled = invoke_jobhunter("compile", "--project", str(recorded))
    assert "JH40" not in compiled.output
    nothing = invoke_jobhunter("migrate", "new", "again", "--project", str(recorded))
    assert nothing.exit_code == 0 and "nothing changed" in nothing.output


def test_safe_changes_pass_the_gate(recorded: Path) -> None:
    source = BASE.replace("    code: str\n", "    code: str\n    extra: Optional[int] = 7\n")
    (recorded / "models" / "item.py").write_text(source, encoding="utf-8")
    checked = invoke_jobhunter("migrate", "check", "--project", str(recorded))
    assert checked.exit_code == 0, checked.output
    assert "JH401" in checked.output and "1 safe change(s) not recorded" in checked.output
    written = invoke_jobhunter("migrate", "new", "add_extra", "--project", str(recorded))
    [migration] = (recorded / "migrations").glob("*_add_extra.py")
    assert '{"$set": {"extra": 7}}' in migration.read_text(), written.output


def test_changes_only_someone_can_decide_fail_loudly(recorded: Path) -> None:
    source = BASE.replace("    code: str\n", "    code: str\n    owner: str\n").replace(
        "count: int", "count: float"
    )
    (recorded / "models" / "item.py").write_text(source, encoding="utf-8")
    written = invoke_jobhunter("migrate", "new", "owner", "--project", str(recorded))
    assert written.exit_code == 0, written.output
    assert "1 step(s) only you can write" in written.output
    [migration] = (recorded / "migrations").glob("*_owner.py")
    text = migration.read_text()
    assert "raise NotImplementedError(" in text and "Item.owner (required_field_added)" in text
    assert "float(value)" in text  # int -> float converts
    assert_black_and_ruff_clean([str(migration)])


def test_a_corrupt_snapshot_is_a_diagnostic_not_a_traceback(recorded: Path) -> None:
    snapshot = recorded / "migrations" / "schema.json"
    snapshot.write_text("<<<<<<< HEAD\n{}\n", encoding="utf-8")
    compiled = invoke_jobhunter("compile", "--project", str(recorded))
    assert compiled.exit_code == 0, compiled.output
    assert "migrations/schema.json: JH404 warning: schema snapshot" in compiled.output
    assert "not valid JSON" in compiled.output
    assert invoke_jobhunter("migrate", "check", "--project", str(recorded)).exit_code == 1
    written = invoke_jobhunter("migrate", "new", "x", "--project", str(recorded))
    assert written.exit_code == 1 and "restore it, or delete it" in written.output
    snapshot.write_text('{"snapshot_version": 1, "models": {"Item": []}}', encoding="utf-8")
    checked = invoke_jobhunter("migrate", "check", "--project", str(recorded))
    assert checked.exit_code == 1 and "'models.Item' must be an object" in checked.output


def test_a_bad_migration_name_is_a_usage_error(recorded: Path) -> None:
    result = invoke_jobhunter("migrate", "new", "9 lives", "--project", str(recorded))
    assert result.exit_code == 2 and "'9 lives' is not a migration" in result.output
    assert not list((recorded / "migrations").glob("*.py"))


def test_migrations_dir_is_configurable_but_not_in_the_output(tmp_path: Path) -> None:
    folder = project(tmp_path / "p", BASE)
    (folder / ".jobhunter.yml").write_text("migrations_dir: db/migrations\n", encoding="utf-8")
    assert invoke_jobhunter("migrate", "new", "initial", "--project", str(folder)).exit_code == 0
    assert (folder / "db" / "migrations" / "schema.json").is_file()
    (folder / ".jobhunter.yml").write_text("migrations_dir: .run_cache/m\n", encoding="utf-8")
    result = invoke_jobhunter("lint", "--project", str(folder))
    assert result.exit_code == 1 and "must not be inside output_dir" in result.output
