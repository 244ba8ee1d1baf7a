"""Customisation without editing output (which the next compile would overwrite), on a copy
of the demo: template overrides from `templates_dir`, and the project's own FastAPI routers
(`api.extensions`) and Typer apps (`cli.extensions`) mounted by the generated app and CLI."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from api_server import with_source_roots
from conftest import assert_black_and_ruff_clean
from typer.testing import CliRunner

from jobhunter_compiler.commands.main import app
from jobhunter_compiler.emit.template_set import templates_digest
from jobhunter_compiler.pipeline import compile_project

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
BUILTIN = REPO_ROOT / "jobhunter_compiler" / "templates"
BIN = Path(sys.executable).parent
OUT = ".run_cache"

ROUTES = '''"""A hand-written router mounted through api.extensions."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/extra", tags=["extra"])


@router.get("/ping")
async def ping() -> dict[str, str]:
    return {"pong": "from the extension"}
'''

TOOLS = '''"""A hand-written Typer app mounted through cli.extensions."""

import typer

weekly_report = typer.Typer(help="Weekly reports.")


@weekly_report.command()
def hello(name: str) -> None:
    print(f"hello {name} from the extension")


@weekly_report.command()
def bye() -> None:
    print("bye")
'''


def copy_demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    ignore = shutil.ignore_patterns("__pycache__", OUT, ".jobhunter_cache")
    shutil.copytree(DEMO, target, ignore=ignore)
    return target


def add_config(project: Path, text: str) -> None:
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text(encoding="utf-8") + textwrap.dedent(text), "utf-8")


def override(project: Path, template: str, edit: tuple[str, str]) -> Path:
    """Copy the built-in `template` into the project's templates/, with one edit."""
    target = project / "templates" / template
    target.parent.mkdir(parents=True, exist_ok=True)
    text = (BUILTIN / template).read_text(encoding="utf-8")
    assert edit[0] in text, f"{edit[0]!r} not in {template}"
    target.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    return target


def output_bytes(project: Path) -> dict[str, bytes]:
    out = project / OUT
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def compile_cli(project: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["compile", "-p", str(project)])
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


# -- template overrides ----------------------------------------------------------------


GRACE = ("BACKGROUND_GRACE_S = 5", "BACKGROUND_GRACE_S = 9")


def test_an_override_replaces_the_builtin_template(project: Path) -> None:
    override(project, "api/app.py.j2", GRACE)
    add_config(project, "templates_dir: templates\n")
    result = compile_project(project)
    assert result.ok, [d.message for d in result.diagnostics]
    generated = (project / OUT / "generated_api.py").read_text()
    assert "BACKGROUND_GRACE_S = 9" in generated
    # Everything else still comes from the built-ins.
    assert (project / OUT / "generated_routes" / "models" / "job.py").is_file()


def test_editing_an_override_defeats_the_no_op_fast_path(project: Path) -> None:
    template = override(project, "api/app.py.j2", GRACE)
    add_config(project, "templates_dir: templates\n")
    assert compile_project(project).ok
    assert compile_project(project).up_to_date
    template.write_text(template.read_text().replace("= 9", "= 11"), encoding="utf-8")
    result = compile_project(project)
    assert result.ok and not result.up_to_date
    assert "BACKGROUND_GRACE_S = 11" in (project / OUT / "generated_api.py").read_text()
    # Removing the override brings the built-in back.
    template.unlink()
    assert compile_project(project).ok
    assert "BACKGROUND_GRACE_S = 5" in (project / OUT / "generated_api.py").read_text()


def test_an_override_of_a_macro_file_applies_where_it_is_imported(project: Path) -> None:
    """models.md.j2 is built-in but imports docs/_macros.md.j2, which is overridden."""
    override(project, "docs/_macros.md.j2", ("| Field | Type |", "| Field (custom) | Type |"))
    add_config(project, "templates_dir: templates\n")
    assert compile_project(project).ok
    assert "| Field (custom) | Type |" in (project / OUT / "core_docs" / "models.md").read_text()


def test_templates_digest_follows_the_override_files(project: Path) -> None:
    assert templates_digest(None) == ""
    template = override(project, "api/app.py.j2", GRACE)
    add_config(project, "templates_dir: templates\n")
    from jobhunter_compiler.config import load_config

    config = load_config(project).config
    first = templates_digest(config, project)
    assert first and first == templates_digest(project / "templates")
    template.write_text(template.read_text() + "\n", encoding="utf-8")
    second = templates_digest(config, project)
    assert second != first
    template.rename(template.with_name("other.py.j2"))
    assert templates_digest(config, project) not in ("", first, second)


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (("BACKGROUND_GRACE_S = 5", "BACKGROUND_GRACE_S = {{ no_such_name }}"), "UndefinedError"),
        (("BACKGROUND_GRACE_S = 5", "BACKGROUND_GRACE_S = {% if %}"), "TemplateSyntaxError"),
        (("BACKGROUND_GRACE_S = 5", "BACKGROUND_GRACE_S = {{ project.nope() }}"), "Error"),
    ],
    ids=["undefined", "syntax", "exception"],
)
def test_a_broken_override_is_a_diagnostic_and_the_output_is_untouched(
    project: Path, edit: tuple[str, str], error: str
) -> None:
    assert compile_project(project).ok
    good = output_bytes(project)
    template = override(project, "api/app.py.j2", edit)
    add_config(project, "templates_dir: templates\n")
    line = template.read_text().splitlines().index(edit[1]) + 1
    code, output = compile_cli(project)
    assert code == 1, output
    assert f"templates/api/app.py.j2:{line}:" in output
    assert "JH010" in output and error in output
    assert "Traceback" not in output
    assert output_bytes(project) == good


def test_an_override_producing_invalid_python_is_a_diagnostic(project: Path) -> None:
    override(project, "api/app.py.j2", (GRACE[0], "BACKGROUND_GRACE_S = = 5"))
    add_config(project, "templates_dir: templates\n")
    code, output = compile_cli(project)
    assert code == 1, output
    assert "JH010" in output and "Traceback" not in output
    assert not (project / OUT).exists()


def test_a_missing_templates_dir_is_a_config_error(project: Path) -> None:
    add_config(project, "templates_dir: no_such_folder\n")
    code, output = compile_cli(project)
    assert code == 1
    assert "JH002" in output and "no_such_folder" in output and "does not exist" in output
    assert ".jobhunter.yml:" in output


def test_templates_dir_must_stay_inside_the_project(project: Path) -> None:
    add_config(project, "templates_dir: ../elsewhere\n")
    code, output = compile_cli(project)
    assert code == 1 and "JH002" in output and "templates_dir" in output


# -- extensions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("api:\n  extensions: ['extras.routes.router']\n", "import string"),
        ("api:\n  extensions: ['extras routes:router']\n", "import string"),
        ("cli:\n  extensions: [':app']\n", "import string"),
        ("cli:\n  extensions: ['extras.tools:ops']\n", "already taken"),
        ("cli:\n  extensions: ['extras.tools:run']\n", "already taken"),
        ("cli:\n  extensions: ['a:report', 'b:report']\n", "already taken"),
        ("cli:\n  extension: ['a:report']\n", "unknown key 'cli.extension'"),
    ],
)
def test_malformed_extensions_are_config_errors(project: Path, config: str, message: str) -> None:
    add_config(project, config)
    code, output = compile_cli(project)
    assert code == 1, output
    assert "JH002" in output and message in output
    assert "Traceback" not in output


@pytest.fixture
def extended(project: Path) -> Path:
    extras = project / "extras"
    extras.mkdir()
    (extras / "__init__.py").write_text("", encoding="utf-8")
    (extras / "routes.py").write_text(ROUTES, encoding="utf-8")
    (extras / "tools.py").write_text(TOOLS, encoding="utf-8")
    add_config(
        project,
        """
        api:
          extensions: ["extras.routes:router"]
        cli:
          extensions: ["extras.tools:weekly_report"]
        """,
    )
    result = compile_project(project)
    assert result.ok, [d.message for d in result.diagnostics]
    return project


def run_python(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Python in `cwd`, the output folder of a project, with the project's source roots on
    PYTHONPATH."""
    environment = {
        **with_source_roots(cwd.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "200",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=environment
    )


CLIENT = """
import sys
from fastapi.testclient import TestClient
import generated_api
client = TestClient(generated_api.create_app())
headers = {"Authorization": "Bearer " + "sekrit" * 6} if len(sys.argv) > 1 else {}
response = client.get("/api/extra/ping", headers=headers)
print(response.status_code, response.text)
print("/api/extra/ping" in client.get("/openapi.json", headers=headers).text)
"""


def test_an_api_extension_answers_through_the_generated_app(extended: Path) -> None:
    done = run_python(extended / OUT, "-W", "ignore", "-c", CLIENT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ['200 {"pong":"from the extension"}', "True"]


def test_an_api_extension_is_behind_the_api_key(extended: Path) -> None:
    config = extended / ".jobhunter.yml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("api:\n", "api:\n  auth: api_key\n", 1), encoding="utf-8")
    assert compile_project(extended).ok
    env = {"JOBHUNTER_API_KEY": "sekrit" * 6}
    without = run_python(extended / OUT, "-W", "ignore", "-c", CLIENT, env=env)
    assert without.returncode == 0, without.stderr
    assert without.stdout.startswith("401"), without.stdout
    with_key = run_python(extended / OUT, "-W", "ignore", "-c", CLIENT, "key", env=env)
    assert with_key.stdout.startswith("200"), with_key.stdout + with_key.stderr


def test_a_broken_api_extension_fails_the_start_clearly(extended: Path) -> None:
    (extended / "extras" / "routes.py").write_text("router = 42\n", encoding="utf-8")
    done = run_python(extended / OUT, "-c", "import generated_api")
    assert done.returncode != 0
    assert "extras.routes:router must be a fastapi.APIRouter, found int" in done.stderr


def test_a_cli_extension_runs_as_a_group(extended: Path) -> None:
    done = run_python(extended / OUT, "-m", "cli", "weekly-report", "hello", "bob")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello bob from the extension"
    listed = run_python(extended / OUT, "-m", "cli", "--help")
    assert listed.returncode == 0, listed.stderr
    assert "weekly-report" in listed.stdout and "ops" in listed.stdout


def test_jobhunter_forwards_an_extension_group_to_the_generated_cli(extended: Path) -> None:
    jobhunter = Path(sys.executable).parent / "jobhunter"
    done = subprocess.run(
        [str(jobhunter), "weekly-report", "hello", "ada"],
        cwd=extended / "extras",  # the project is found from a subfolder too
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello ada from the extension"


def test_extension_groups_cannot_shadow_jobhunter_commands() -> None:
    from jobhunter_compiler.commands.main import app
    from jobhunter_compiler.config import JOBHUNTER_COMMANDS

    registered = {info.name or info.callback.__name__ for info in app.registered_commands}
    groups = {info.name or info.typer_instance.info.name for info in app.registered_groups}
    assert set(JOBHUNTER_COMMANDS) == registered | groups


def test_a_cli_extension_is_imported_only_when_it_runs(extended: Path) -> None:
    (extended / "extras" / "tools.py").write_text("raise RuntimeError('boom')\n", "utf-8")
    listed = run_python(extended / OUT, "-m", "cli", "--help")
    assert listed.returncode == 0, listed.stderr
    assert "weekly-report" in listed.stdout
    ran = run_python(extended / OUT, "-m", "cli", "weekly-report", "bye")
    assert ran.returncode == 1
    assert "importing extras.tools failed" in ran.stderr and "boom" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_generated_code_with_extensions_is_clean(extended: Path) -> None:
    files = [str(extended / OUT / "generated_api.py"), str(extended / OUT / "cli" / "app.py")]
    assert_black_and_ruff_clean(files)
