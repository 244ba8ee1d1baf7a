"""Shapes found by running the compiler over real libraries (pydantic, beanie, libcst, rich,
typer, jinja2, PyYAML: 660 files, every class decorated): each once produced a flood of
diagnostics or unbounded work, and must stay fixed."""

from __future__ import annotations

import time
from pathlib import Path

from test_scanner import DOC_IMPORTS, field, model, ok_ir, scan

from jobhunter_compiler.pipeline import analyse, compile_project


def test_recursive_type_alias_stops_where_it_recurs(tmp_path: Path) -> None:
    """pydantic's own JsonValue alias refers to itself; expanding it must not branch
    exponentially (it did, up to 32 levels) and must not warn."""
    started = time.perf_counter()
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from typing import TypeAlias, Union\n\n"
            + 'Json: TypeAlias = Union[list["Json"], dict[str, "Json"], str, int, None]\n\n'
            + "@datamodel()\nclass M(Document):\n    payload: Json = None\n",
        },
    )
    assert time.perf_counter() - started < 5
    info = field(model(ok_ir(analysis), "M"), "payload").type_info
    assert info.kind == "union" and info.nullable
    list_member = next(arg for arg in info.args if arg.kind == "list")
    assert list_member.args[0].kind == "any"
    assert not [d for d in analysis.diagnostics if d.code == "JH205"]


def test_string_valued_type_alias_is_a_type(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from typing import TypeAlias\n\n"
            + 'Tags: TypeAlias = "list[str]"\n\n'
            + "@datamodel()\nclass M(Document):\n    tags: Tags = []\n",
        },
    )
    info = field(model(ok_ir(analysis), "M"), "tags").type_info
    assert (info.kind, [a.kind for a in info.args]) == ("list", ["str"])


def test_unannotated_attributes_of_a_class_with_unknown_bases_are_not_errors(
    tmp_path: Path,
) -> None:
    """A base from an unscanned library may well allow plain class attributes; only a
    class known to be pydantic gets JH202."""
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from somelib import SpecialDocument\n\n"
            + "@datamodel()\nclass M(SpecialDocument):\n    operator = '$eq'\n    x: int\n",
        },
    )
    assert [f.name for f in model(ok_ir(analysis), "M").fields] == ["x"]
    assert "JH202" not in {d.code for d in analysis.diagnostics}


def test_a_datamodel_that_is_not_a_document_reports_only_that(tmp_path: Path) -> None:
    analysis = scan(
        tmp_path,
        {
            "models/m.py": DOC_IMPORTS
            + "from pydantic import BaseModel\n\n"
            + "@datamodel()\nclass M(BaseModel):\n    operator = '$eq'\n    x: Unknown\n",
        },
    )
    assert [d.code for d in analysis.diagnostics] == ["JH105"]


def test_a_stray_compile_outside_any_project_writes_nothing(tmp_path: Path) -> None:
    stray = tmp_path / "not-a-project"
    (stray / "notes").mkdir(parents=True)
    result = compile_project(stray)
    assert [d.code for d in result.diagnostics] == ["JH009"]
    assert sorted(p.name for p in stray.iterdir()) == ["notes"]
    assert [d.code for d in analyse(stray).diagnostics] == ["JH009"]
