"""`.jobhunter.yml`: an unknown or mistyped key is a JH002 diagnostic naming the key and its
line, never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobhunter_compiler.commands.main import app
from jobhunter_compiler.config import CONFIG_FILE, Config, load_config
from jobhunter_compiler.diagnostics import Diagnostic, Severity, render_text
from jobhunter_compiler.pipeline import analyse, compile_project

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"


def load(tmp_path: Path, text: str | bytes) -> tuple[Config, list[Diagnostic]]:
    path = tmp_path / CONFIG_FILE
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    result = load_config(tmp_path)
    return result.config, result.diagnostics


def only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, diagnostics
    d = diagnostics[0]
    assert d.code == "JH002"
    assert d.severity is Severity.ERROR
    assert d.path == CONFIG_FILE
    return d


def demo_copy(tmp_path: Path) -> Path:
    project = tmp_path / "demo"
    shutil.copytree(
        DEMO,
        project,
        ignore=shutil.ignore_patterns("__pycache__", ".run_cache", ".jobhunter_cache"),
    )
    return project


# -- unknown keys -----------------------------------------------------------------------


def test_unknown_top_level_key_has_its_line_col_and_a_suggestion(tmp_path: Path) -> None:
    d = only(load(tmp_path, "project: x\nmodel:\n  - models\n")[1])
    assert (d.line, d.col) == (2, 1)
    assert "'model'" in d.message and "unknown key" in d.message
    assert d.hint == "did you mean 'models'?"


def test_unknown_nested_key_has_its_line_col_and_a_suggestion(tmp_path: Path) -> None:
    d = only(load(tmp_path, "project: x\ndocs:\n  graph_sv: true\n")[1])
    assert (d.line, d.col) == (3, 3)
    assert "graph_sv" in d.message
    assert d.hint == "did you mean 'graph_svg'?"


def test_unknown_key_without_a_close_match_lists_the_known_keys(tmp_path: Path) -> None:
    d = only(load(tmp_path, "docs:\n  graph_svg: true\n  zzz: 1\n")[1])
    assert (d.line, d.col) == (3, 3)
    assert d.hint is not None and "graph_svg" in d.hint


def test_every_unknown_key_is_reported(tmp_path: Path) -> None:
    _, diagnostics = load(tmp_path, "modles: [a]\noperatons: [b]\nouput_dir: x\n")
    assert [(d.code, d.line) for d in diagnostics] == [("JH002", 1), ("JH002", 2), ("JH002", 3)]
    hints = [d.hint for d in diagnostics]
    assert hints == [
        "did you mean 'models'?",
        "did you mean 'operations'?",
        "did you mean 'output_dir'?",
    ]


# -- wrong types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "col", "key"),
    [
        ("models: 3\n", 1, 9, "models"),
        ("project: p\nmodels: 3\n", 2, 9, "models"),
        ("docs: {graph_svg: maybe}\n", 1, 19, "graph_svg"),
        ("project: p\ndocs:\n  graph_svg: maybe\n", 3, 14, "graph_svg"),
        ("docs: 5\n", 1, 7, "docs"),
        ("models:\n  - models\n  - 3\n", 3, 5, "models"),
        ("project: [1, 2]\n", 1, 10, "project"),
        ("output_dir: ~\n", 1, 13, "output_dir"),
    ],
)
def test_wrong_type_is_reported_at_the_value(
    tmp_path: Path, text: str, line: int, col: int, key: str
) -> None:
    d = only(load(tmp_path, text)[1])
    assert (d.line, d.col) == (line, col), d
    assert key in d.message


def test_duplicate_key_error_points_at_the_value_in_effect(tmp_path: Path) -> None:
    _, diagnostics = load(tmp_path, "models: [models]\nmodels: 3\n")
    assert diagnostics
    assert {d.code for d in diagnostics} == {"JH002"}
    assert 2 in {d.line for d in diagnostics}, diagnostics


# -- not YAML / not a mapping / empty ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("models: [unclosed\n", 2),
        ("project: x\ndocs: {\n", 3),
        ("project: x\n\tmodels: [a]\n", 2),
        ("a: b: c\n", 1),
        ("---\nmodels: [models]\n---\nmodels: [x]\n", 3),
        ("models: *undefined\n", 1),
    ],
)
def test_invalid_yaml_is_jh002_with_a_line(tmp_path: Path, text: str, line: int) -> None:
    d = only(load(tmp_path, text)[1])
    assert d.line == line, d
    assert d.col is not None and d.col >= 1


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_config_means_defaults(tmp_path: Path, text: str) -> None:
    config, diagnostics = load(tmp_path, text)
    assert diagnostics == []
    assert config == Config()


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    result = load_config(tmp_path)
    assert result.diagnostics == [] and result.text is None
    assert result.config.models == ["models", "src/models"]
    assert result.config.operations == ["operations", "src/operations"]
    assert result.config.output_dir == ".run_cache"
    assert result.config.docs.graph_svg is False


@pytest.mark.parametrize("text", ["- models\n- operations\n", "just text\n", "3\n", "[1, 2]\n"])
def test_config_that_is_not_a_mapping(tmp_path: Path, text: str) -> None:
    d = only(load(tmp_path, text)[1])
    assert d.line == 1
    assert "mapping" in d.message


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    text = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    d = only(load(tmp_path, text)[1])
    assert d.line == 1
    assert not marker.exists()


def test_non_utf8_config_is_a_diagnostic(tmp_path: Path) -> None:
    d = only(load(tmp_path, b"\xff\xfemodels: [models]\n")[1])
    assert d.line == 1


def test_a_full_valid_config_is_read(tmp_path: Path) -> None:
    config, diagnostics = load(
        tmp_path,
        "project: shop\n"
        "models: [app/models, 'extra/*.py']\n"
        "operations:\n  - app/operations\n"
        "source_roots: ['.', lib]\n"
        "exclude: ['**/test_*.py']\n"
        "decorator_modules: [core.decorators]\n"
        "output_dir: build/out\n"
        "docs:\n  graph_svg: true\n",
    )
    assert diagnostics == []
    assert config.project == "shop"
    assert config.models == ["app/models", "extra/*.py"]
    assert config.operations == ["app/operations"]
    assert config.source_roots == [".", "lib"]
    assert config.exclude == ["**/test_*.py"]
    assert config.decorator_modules == ["core.decorators"]
    assert config.output_dir == "build/out"
    assert config.docs.graph_svg is True


# -- rendering and the pipeline ---------------------------------------------------------


def test_text_rendering_shows_location_source_line_and_caret(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text(
        "project: x\nmodel:\n  - models\ndocs:\n  graph_svgg: true\n"
    )
    result = CliRunner().invoke(app, ["lint", "--project", str(project)])
    assert result.exit_code == 1
    err = result.stderr
    assert "Traceback" not in result.output
    expected_first = (
        ".jobhunter.yml:2:1: JH002 error: unknown key 'model'\n"
        "  |\n"
        "2 | model:\n"
        "  | ^\n"
        "  = hint: did you mean 'models'?\n"
    )
    assert expected_first in err, err
    expected_second = (
        ".jobhunter.yml:5:3: JH002 error: unknown key 'docs.graph_svgg'\n"
        "  |\n"
        "5 |   graph_svgg: true\n"
        "  |   ^\n"
        "  = hint: did you mean 'graph_svg'?\n"
    )
    assert expected_second in err, err


def test_caret_under_a_wrong_value(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text("docs: {graph_svg: maybe}\n")
    diagnostics = load_config(tmp_path).diagnostics
    text = render_text(diagnostics, tmp_path)
    lines = text.splitlines()
    assert lines[0].startswith(".jobhunter.yml:1:19: JH002 error: 'docs.graph_svg'")
    assert lines[2] == "1 | docs: {graph_svg: maybe}"
    assert lines[3] == "  | " + " " * 18 + "^"


def test_json_rendering_of_config_errors(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text("models: 3\n")
    result = CliRunner().invoke(app, ["lint", "--format", "json", "--project", str(project)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [(d["code"], d["path"], d["line"], d["col"]) for d in data] == [
        ("JH002", ".jobhunter.yml", 1, 9)
    ]


def test_a_bad_config_stops_the_compile_and_keeps_the_output(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    assert compile_project(project).ok
    out = project / ".run_cache"
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (project / CONFIG_FILE).write_text("models: 3\n")
    result = compile_project(project)
    assert not result.ok
    assert [d.code for d in result.diagnostics] == ["JH002"]
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_config_changes_what_is_scanned(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text("models: [models/job.py]\noperations: []\n")
    analysis = analyse(project)
    assert analysis.ok, analysis.diagnostics
    assert analysis.ir is not None
    assert [m.name for m in analysis.ir.models] == ["Job"]
    assert analysis.ir.operations == []


def test_an_entry_matching_nothing_is_a_warning(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text("models: [models, nowhere]\n")
    analysis = analyse(project)
    assert analysis.ok
    warnings = [d for d in analysis.diagnostics if d.code == "JH004"]
    assert warnings and "nowhere" in warnings[0].message


@pytest.mark.parametrize("roots", ["[]", "[lib]", "[models/job.py]", "[models/__init__.py, .]"])
def test_source_roots_without_the_project_root_is_not_a_traceback(
    tmp_path: Path, roots: str
) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text(f"source_roots: {roots}\n")
    analysis = analyse(project)  # raised AssertionError("the project root is always ...")
    for d in analysis.diagnostics:
        assert d.code.startswith("JH")


def test_a_models_entry_outside_the_project_is_not_a_traceback(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "models"
    elsewhere.mkdir(parents=True)
    (elsewhere / "x.py").write_text("X = 1\n")
    (project / CONFIG_FILE).write_text(f"models: [models, {elsewhere}]\n")
    analysis = analyse(project)  # raised ValueError from Path.relative_to
    assert all(d.code.startswith("JH") for d in analysis.diagnostics)
    assert all(not (d.path or "").startswith("/") for d in analysis.diagnostics)


def _experimental_project(tmp_path: Path, exclude: str) -> list[str]:
    files = {
        "models/a.py": "A",
        "models/experimental/b.py": "B",
        "models/experimental/deep/c.py": "C",
    }
    project = tmp_path / "exclude"
    for rel, name in files.items():
        path = project / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "from beanie import Document\nfrom jobhunter_compiler import datamodel\n\n"
            f"@datamodel()\nclass {name}(Document):\n    x: int\n"
        )
    (project / CONFIG_FILE).write_text(f"exclude: [{exclude!r}]\n")
    analysis = analyse(project)
    assert analysis.ir is not None, analysis.diagnostics
    return sorted(m.name for m in analysis.ir.models)


@pytest.mark.parametrize(
    "exclude",
    ["models/experimental", "models/experimental/", "models/experimental/**"],
)
def test_exclude_a_folder_excludes_everything_below_it(tmp_path: Path, exclude: str) -> None:
    assert _experimental_project(tmp_path, exclude) == ["A"]


def test_exclude_single_star_is_one_level(tmp_path: Path) -> None:
    assert _experimental_project(tmp_path, "models/experimental/*.py") == ["A", "C"]


def test_exclude_globs_are_relative_to_the_project(tmp_path: Path) -> None:
    """`deep/*` names <project>/deep/, not every folder called `deep`."""
    assert _experimental_project(tmp_path, "deep/*") == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("output_dir: {abs}\n", 1),
        ("output_dir: ../outside\n", 1),
        ("output_dir: .\n", 1),
        ("project: p\noutput_dir: ./\n", 2),
        ("models:\n  - models\n  - {abs}\n", 3),
        ("operations: [../elsewhere]\n", 1),
        ("source_roots: [., ../lib]\n", 1),
        ("exclude: ['{abs}/*']\n", 1),
        ("decorator_modules: [core.decorators, not a module]\n", 1),
    ],
)
def test_paths_must_stay_inside_the_project(tmp_path: Path, text: str, line: int) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    d = only(load(tmp_path, text.format(abs=outside))[1])
    assert d.line == line, d


def test_an_invalid_output_dir_writes_nothing_anywhere(tmp_path: Path) -> None:
    project = demo_copy(tmp_path)
    (project / CONFIG_FILE).write_text("output_dir: ../escaped\n")
    result = compile_project(project)
    assert not result.ok
    assert not (tmp_path / "escaped").exists()
    assert not (project / ".run_cache").exists()


def test_api_section_defaults_and_values(tmp_path: Path) -> None:
    config, diagnostics = load(tmp_path, "")
    assert diagnostics == []
    assert (config.api.max_page_size, config.api.default_page_size) == (100, 25)
    assert config.api.auth == "none" and config.api.api_key_env == "JOBHUNTER_API_KEY"
    assert config.api.run_lease_s == 30
    text = "api:\n  max_page_size: 500\n  auth: api_key\n  api_key_env: MY_KEY\n"
    config, diagnostics = load(tmp_path, text + "  run_lease_s: 2.5\n")
    assert diagnostics == []
    assert (config.api.max_page_size, config.api.auth, config.api.api_key_env) == (
        500,
        "api_key",
        "MY_KEY",
    )
    assert config.api.run_lease_s == 2.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("api:\n  auth: apikey\n", "'api.auth': Input should be 'none', 'api_key' or 'users'"),
        ("api:\n  max_page_size: 0\n", "'api.max_page_size'"),
        (
            "api:\n  max_page_size: 10\n  default_page_size: 50\n",
            "default_page_size must not exceed max_page_size",
        ),
        ("api:\n  api_key_env: 'not a name'\n", "'api.api_key_env'"),
        ("api:\n  run_lease_s: 0.5\n", "'api.run_lease_s': Input should be greater than or"),
        ("api:\n  run_lease_s: 7200\n", "'api.run_lease_s': Input should be less than or"),
        ("api:\n  run_lease_s: soon\n", "'api.run_lease_s': Input should be a valid number"),
        ("api:\n  roles: [Admin]\n", "role 'Admin' must be lowercase letters"),
        (
            "api:\n  default_permissions:\n    read: [reader]\n",
            "default_permissions.read names reader, not in roles",
        ),
        ("api:\n  default_permissions:\n    write: [admin]\n", "'api.default_permissions.write'"),
    ],
)
def test_api_section_errors(tmp_path: Path, text: str, message: str) -> None:
    _, diagnostics = load(tmp_path, text)
    assert only(diagnostics).code == "JH002"
    assert message in only(diagnostics).message
