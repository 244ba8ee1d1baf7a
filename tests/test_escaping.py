"""User strings are data, never code: whatever text a model or an operation carries (a
description, a tag, a Literal value, a collection name...) compiles into files that parse,
each string escaped by the rules of the language it lands in, or into a diagnostic saying
why it cannot be represented."""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from frontend_app import typecheck_generated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from jobhunter_compiler.config import load_config
from jobhunter_compiler.emit.frontend import ts_literal
from jobhunter_compiler.emit.python import docstring_text
from jobhunter_compiler.pipeline import CompileResult, compile_project
from jobhunter_compiler.resolve import TASK_RUN_COLLECTION

MODEL = """from enum import Enum
from typing import Literal

from beanie import Document
from pydantic import Field

from jobhunter_compiler import datamodel


class Colour(str, Enum):
    RED = {enum_value}
    BLUE = "blue"


@datamodel(
    name="Thing",
    description={model_description},
    tags=[{model_tag}],
    ui={{
        "icon": {icon},
        "widgets": {{"label": {widget}}},
        "detail_sections": [{{"title": {section_title}, "fields": ["label"]}}],
    }},
)
class Thing(Document):
    {model_docstring}

    label: str = Field(
        default={field_default},
        description={field_description},
        title={field_title},
        examples=[{field_example}],
    )
    other: str = Field(default="", alias={field_alias})
    kind: Literal[{literal_value}, "other"] = "other"
    colour: Colour = Colour.BLUE

    class Settings:
        name = {collection}
"""

OPERATION = """from pydantic import BaseModel, Field

from jobhunter_compiler import operation


class DoInput(BaseModel):
    text: str = Field(default={field_default}, description={field_description})


class DoOutput(BaseModel):
    ok: bool


@operation(
    name="do_thing",
    description={operation_description},
    category={operation_category},
    tags=[{operation_tag}],
    inputs=DoInput,
    outputs=DoOutput,
    models_in=["Thing"],
)
async def do_thing(input: DoInput) -> DoOutput:
    {operation_docstring}
    return DoOutput(ok=True)
"""

PLACES = (
    "model_description",
    "model_tag",
    "model_docstring",
    "section_title",
    "icon",
    "widget",
    "field_default",
    "field_description",
    "field_title",
    "field_example",
    "field_alias",
    "literal_value",
    "enum_value",
    "collection",
    "operation_description",
    "operation_category",
    "operation_tag",
    "operation_docstring",
)
"""Every string-valued decorator argument and field attribute of the project below."""


def write_project(folder: Path, strings: dict[str, str], project: str | None = "probe") -> Path:
    """A model and an operation with `strings` (by place) spelled as Python literals;
    every other place holds a plain word. Prefect orchestration on, for its files too."""
    values = {place: repr(strings.get(place, place)) for place in PLACES}
    config = {"orchestration": "prefect"} | ({"project": project} if project is not None else {})
    files = {
        ".jobhunter.yml": yaml.safe_dump(config),
        "models/__init__.py": "",
        "models/thing.py": MODEL.format(**values),
        "operations/__init__.py": "",
        "operations/do_thing.py": OPERATION.format(**values),
    }
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def python_problems(out: Path) -> list[str]:
    """Generated Python files that do not compile (`compile`, not only `ast.parse`: it
    also finds duplicate parameters and the like)."""
    problems = []
    for path in sorted(out.rglob("*.py")):
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            problems.append(f"{path.relative_to(out)}: {exc}")
    return problems


def yaml_problems(out: Path) -> list[str]:
    problems = []
    for path in sorted([*out.rglob("*.yml"), *out.rglob("*.yaml")]):
        try:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            problems.append(f"{path.relative_to(out)}: {exc}")
    return problems


def compiled(
    tmp_path: Path, strings: dict[str, str], project: str | None = "probe"
) -> CompileResult:
    result = compile_project(write_project(tmp_path / "project", strings, project))
    assert result.ok, [d.message for d in result.diagnostics]
    out = tmp_path / "project" / ".run_cache"
    assert python_problems(out) == []
    assert yaml_problems(out) == []
    return result


@given(st.text())
def test_docstring_text_round_trips(text: str) -> None:
    assert ast.literal_eval(f'"""{docstring_text(text)}"""') == text


@given(st.text())
def test_ts_literal_round_trips_and_shows_no_invisible_character(text: str) -> None:
    spelled = ts_literal(text)
    assert json.loads(spelled) == text
    assert spelled.isprintable()


@pytest.mark.parametrize(
    "description",
    ['Mark a job as "closed"', 'three """ quotes', "ends with \\", "C:\\New\\x", "a\x00b"],
)
def test_operation_description_lands_in_python_docstrings(tmp_path: Path, description: str) -> None:
    compiled(tmp_path, {"operation_description": description})
    command = tmp_path / "project" / ".run_cache" / "cli" / "operations" / "do_thing.py"
    tree = ast.parse(command.read_text())
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef))
    assert ast.get_docstring(function, clean=False) == " ".join(description.split())


@pytest.mark.parametrize("name", ["two\nlines", "a\x00b", "a\u2028b", "\x1b[31mred", "a\ud800b"])
def test_a_project_name_that_is_not_one_printable_line_is_a_config_diagnostic(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / ".jobhunter.yml").write_text(yaml.safe_dump({"project": name}))
    [problem] = load_config(tmp_path).diagnostics
    assert (problem.code, problem.line) == ("JH002", 1)
    assert problem.message.startswith("'project':")


def test_a_project_name_with_quotes_and_backslashes_lands_everywhere_intact(
    tmp_path: Path,
) -> None:
    name = 'Acme "Jobs" \\ C:\\New -->'
    result = compiled(tmp_path, {}, project=name)
    assert result.ir is not None and result.ir.project == name
    app = (tmp_path / "project" / ".run_cache" / "generated_api.py").read_text()
    assert name in ast.get_docstring(ast.parse(app), clean=False)
    html = (tmp_path / "project" / ".run_cache" / "generated_frontend" / "index.html").read_text()
    comment = next(line for line in html.splitlines() if line.startswith("<!--"))
    assert comment.count("-->") == 1 and comment.endswith("-->")


def test_a_pyproject_name_pip_would_refuse_is_not_the_project_name(tmp_path: Path) -> None:
    project = write_project(tmp_path / "project", {}, project=None)
    (project / "pyproject.toml").write_text('[project]\nname = "two\\nlines"\n')
    result = compile_project(project)
    assert result.ok and result.ir is not None and result.ir.project == "app"


@pytest.mark.parametrize("place", PLACES)
def test_a_lone_surrogate_is_a_diagnostic_at_the_string(tmp_path: Path, place: str) -> None:
    project = write_project(tmp_path / "project", {place: "half \ud800 a pair"})
    result = compile_project(project)
    assert not result.ok
    assert {d.code for d in result.diagnostics} == {"JH011"}
    for problem in result.diagnostics:
        assert problem.path is not None and problem.line is not None
        line = (project / problem.path).read_text().splitlines()[problem.line - 1]
        # A docstring is located at its class or function.
        assert "\\ud800" in line or line.lstrip().startswith(("class ", "async def ")), line
    assert not (project / ".run_cache").exists()


def test_the_reserved_collection_is_where_task_runs_are_kept() -> None:
    from jobhunter_runtime.taskrun import TaskRun

    assert TaskRun.Settings.name == TASK_RUN_COLLECTION


def nested_models(folder: Path, depth: int) -> Path:
    """A model whose field holds a schema holding a schema... `depth` levels down."""
    classes = [f"class Level{depth}(BaseModel):\n    leaf: int = 0\n"]
    for level in range(depth - 1, 0, -1):
        classes.append(
            f"class Level{level}(BaseModel):\n    child: Level{level + 1} | None = None\n"
        )
    source = (
        "from beanie import Document\nfrom pydantic import BaseModel\n\n"
        "from jobhunter_compiler import datamodel\n\n\n"
        + "\n\n".join(classes)
        + "\n\n@datamodel()\nclass Root(Document):\n    top: Level1\n"
    )
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "__init__.py").write_text("")
    (folder / "models" / "nested.py").write_text(source)
    return folder


def test_models_nested_a_hundred_deep_compile(tmp_path: Path) -> None:
    project = nested_models(tmp_path / "project", 100)
    result = compile_project(project)
    assert result.ok, [d.message for d in result.diagnostics]
    assert result.ir is not None and len(result.ir.schemas) == 100
    assert python_problems(project / ".run_cache") == []


def test_nesting_past_the_resolver_limit_is_a_diagnostic(tmp_path: Path) -> None:
    project = nested_models(tmp_path / "project", 2_500)
    limit = sys.getrecursionlimit()
    result = compile_project(project)
    [problem] = result.diagnostics
    assert (problem.code, problem.path) == ("JH012", "models/nested.py")
    assert (project / "models" / "nested.py").read_text().splitlines()[problem.line - 1] == (
        "@datamodel()"
    )
    assert sys.getrecursionlimit() == limit


# -- the property test -----------------------------------------------------------------

HOSTILE = st.sampled_from(
    [
        *['"""', "'''", '"', "'", "\\", "\\N", "\\x", "\x00", "\x1b[31m", "\x7f", "\t", "\x0c"],
        *["\n", "\r\n", "\r", "\x85", "\u2028", "\u2029", "\u202e", "\ufeff", "é", "😀"],
        *["*/", "/*", "//", "-->", "<!--", "</script>", "<b>", "&amp;", "${x}", "`", "```"],
        *["{{ x }}", "{% x %}", "|", "#", "# ", "- ", "1. ", "> ", ": ", "&a", "*a", "!!str"],
        *["[x](y)", "_x_", "**", "~~", "$", "system.", ".", " "],
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.characters()), max_size=8).map("".join)
STRINGS = st.fixed_dictionaries(
    {place: TEXT for place in PLACES if place not in ("collection", "field_alias")},
    optional={"collection": TEXT, "field_alias": TEXT},
)
ALLOWED_DIAGNOSTICS = {"JH011", "JH208", "JH209"}
"""What a compile may turn down: a lone surrogate, a collection name MongoDB refuses, an
alias another field's JSON name already is."""
MARKDOWN = MarkdownIt("commonmark").enable("table").enable("strikethrough")
TEMPLATE_INLINE = {"text", "softbreak", "code_inline", "link_open", "link_close"}
TEMPLATE_INLINE |= {"strong_open", "strong_close", "em_open", "em_close"}
TEMPLATE_HTML = re.compile(r'<br>|<a id="[A-Za-z0-9_]+">|</a>')
"""The HTML the docs templates write: line breaks in table cells, and section anchors."""


def markdown_blocks(text: str) -> list[str]:
    """The block structure of a Markdown page, without paragraphs and list items (an
    empty description or icon has none); fails on inline markup no template writes."""
    shape = []
    for token in MARKDOWN.parse(text):
        if token.type == "inline":
            for child in token.children or []:
                html = child.type == "html_inline" and TEMPLATE_HTML.fullmatch(child.content)
                assert child.type in TEMPLATE_INLINE or html, child
        elif not token.type.startswith(("paragraph", "list_item")):
            shape.append(f"{token.type}:{token.tag}")
    return shape


def docs_shape(out: Path) -> dict[str, list[str]]:
    return {
        name: markdown_blocks((out / "core_docs" / name).read_text(encoding="utf-8"))
        for name in ("models.md", "operations.md")
    }


def operation_description(out: Path) -> str | None:
    """The description the generated API gives the operation's route, as Python reads it."""
    module = ast.parse((out / "generated_routes" / "operations" / "do_thing.py").read_text())
    for node in ast.walk(module):
        if isinstance(node, ast.keyword) and node.arg == "description":
            return ast.literal_eval(node.value)
    return None


def large_model(folder: Path, fields: int) -> Path:
    body = "".join(f"    field_{i}: int = 0\n" for i in range(fields))
    source = "from beanie import Document\n\nfrom jobhunter_compiler import datamodel\n\n\n"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "__init__.py").write_text("")
    (folder / "models" / "wide.py").write_text(
        f"{source}@datamodel()\nclass Wide(Document):\n{body}"
    )
    return folder


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="type-checks with node and npm")
def test_any_user_strings_compile_to_files_that_parse(tmp_path: Path) -> None:
    """Arbitrary text in every string-valued decorator argument and field attribute: the
    compile succeeds, or gives a diagnostic; whatever it writes parses (Python compiles,
    YAML and JSON load, Markdown keeps its structure, and one tsc run type-checks every
    example's TypeScript, with a 2,000-field model's beside them)."""
    plain = compile_project(write_project(tmp_path / "plain", {}))
    assert plain.ok
    expected_docs = docs_shape(tmp_path / "plain" / ".run_cache")
    frontends: list[Path] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strings=STRINGS)
    def compile_one(strings: dict[str, str]) -> None:
        project = write_project(tmp_path / f"example{len(frontends)}", strings)
        result = compile_project(project)
        if not result.ok:
            assert {d.code for d in result.diagnostics} <= ALLOWED_DIAGNOSTICS
            assert all(d.path and d.line for d in result.diagnostics)
            return
        out = project / ".run_cache"
        assert python_problems(out) == []
        assert yaml_problems(out) == []
        description = strings["operation_description"]
        metadata = json.loads((out / "core_docs" / "metadata.json").read_text())
        assert metadata["operations"][0]["description"] == description
        if description:  # else the route describes the operation by its docstring
            assert operation_description(out) == description
        assert docs_shape(out) == expected_docs
        frontends.append(out / "generated_frontend")

    compile_one()
    wide = large_model(tmp_path / "wide", 2_000)
    assert compile_project(wide).ok
    frontends.append(wide / ".run_cache" / "generated_frontend")
    assert typecheck_generated(frontends, tmp_path / "tsc") == {}


@pytest.mark.parametrize("folder", ["out: x", "build out", "out#1", "out/*", "out\\x"])
def test_an_output_folder_that_docker_files_cannot_spell_is_a_config_diagnostic(
    tmp_path: Path, folder: str
) -> None:
    (tmp_path / ".jobhunter.yml").write_text(yaml.safe_dump({"output_dir": folder}))
    [problem] = load_config(tmp_path).diagnostics
    assert problem.code == "JH002" and problem.message.startswith("'output_dir':")
