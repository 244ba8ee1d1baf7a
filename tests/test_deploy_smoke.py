"""The stack of docker-compose.yml, run the way the containers would run it, outside
Docker (no engine runs here): the API image built by simulation (the build context as its
ignore file leaves it, a fresh virtual environment installing exactly what the Dockerfile
installs), its command, working directory and environment as the Dockerfile and the
compose file give them, against nx-27017 instead of `mongo`; and Debian's nginx with the
emitted server config over the built frontend, proxying to that API. Every value is read
from the emitted files, so the test follows them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import httpx
import pytest
import yaml
from conftest import REPO_ROOT, compile_copy, dockerfile_instructions
from docker_build import ImageEnvironment, copy_context, install_like_the_image
from frontend_app import link_node_modules, run
from packaging.utils import canonicalize_name

from jobhunter_compiler.devserver.embedded_mongo import free_port, terminate

pytestmark = pytest.mark.slow

NGINX = "/usr/sbin/nginx"
STARTUP_TIMEOUT_S = 30.0
TOOLCHAIN = {
    "jobhunter-compiler",
    "libcst",
    "jinja2",
    "ruff",
    "watchfiles",
    "nx-27017",
    "black",
    "pytest",
    "hypothesis",
}
"""What the compiler and its tests need and the generated app never imports."""


def env_instructions(rows: list[tuple[str, str]]) -> dict[str, str]:
    values = {}
    for word, args in rows:
        if word == "ENV":
            for pair in args.split():
                key, _, value = pair.partition("=")
                values[key] = value
    return values


def env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def with_option(command: list[str], option: str, value: str) -> list[str]:
    """`command` with the value after `option` replaced (it must be there)."""
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


@dataclass
class RunningApi:
    url: str
    port: int
    healthcheck: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class BuiltImage:
    context: Path
    """The build context as `COPY . /app` leaves it in the image."""
    files: list[str]
    environment: ImageEnvironment
    rows: list[tuple[str, str]]
    """The Dockerfile's instructions."""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project, result = compile_copy(
        REPO_ROOT / "fixtures" / "demo_project", tmp_path_factory.mktemp("smoke")
    )
    assert result.ok
    # What the user is told to do before `docker compose up`; the image must not take it.
    (project / ".env").write_text((project / ".run_cache" / ".env.example").read_text())
    return project


@pytest.fixture(scope="module")
def image(project: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltImage:
    """The API image of docker-compose.yml's api service, built without Docker."""
    out = project / ".run_cache"
    service = yaml.safe_load((out / "docker-compose.yml").read_text())["services"]["api"]
    root = (out / service["build"]["context"]).resolve()
    assert root == project.resolve()
    dockerfile = root / service["build"]["dockerfile"]
    rows = dockerfile_instructions(dockerfile)
    workdir = next(args for word, args in rows if word == "WORKDIR")
    assert PurePosixPath(workdir) == PurePosixPath("/app")  # the context is copied there
    assert ("COPY", ". /app") in rows
    build = tmp_path_factory.mktemp("image")
    context = build / "app"
    files = copy_context(root, dockerfile.with_name(dockerfile.name + ".dockerignore"), context)
    environment = install_like_the_image(rows, context, build / "venv")
    return BuiltImage(context=context, files=files, environment=environment, rows=rows)


def test_the_image_carries_the_app_and_no_secret(image: BuiltImage) -> None:
    files = set(image.files)
    assert {"models/job.py", ".run_cache/generated_api.py"} <= files
    assert ".run_cache/runtime/jobhunter_runtime/http.py" in files
    assert ".env" not in files
    assert not any(f.startswith((".git/", ".jobhunter_cache/")) for f in files)
    assert not any("/generated_frontend/" in f or "__pycache__" in f for f in files)


def test_the_image_installs_public_pins_and_no_toolchain(image: BuiltImage) -> None:
    installed = image.environment.distributions()
    requirements = (image.context / ".run_cache" / "requirements.txt").read_text()
    pinned = {
        canonicalize_name(name): version
        for name, _, version in (
            line.partition("==") for line in requirements.splitlines() if "==" in line
        )
    }
    assert installed == pinned  # exactly what requirements.txt names, nothing pulled in
    assert not TOOLCHAIN & set(installed)


@pytest.fixture(scope="module")
def api(project: Path, image: BuiltImage, mongo_url: str) -> Iterator[RunningApi]:
    """The api service: the image's CMD runs in its WORKDIR with the Dockerfile's ENV,
    then ../.env (compose's env_file), then compose's `environment`."""
    out = project / ".run_cache"
    compose = yaml.safe_load((out / "docker-compose.yml").read_text())
    service = compose["services"]["api"]
    command = json.loads(next(args for word, args in image.rows if word == "CMD"))
    health_args = next(args for word, args in image.rows if word == "HEALTHCHECK")
    healthcheck = json.loads(health_args.split(" CMD ", 1)[1])  # options, then CMD [...]

    dot_env = (out / service["env_file"]).resolve()
    assert dot_env == project.resolve() / ".env"
    environment = dict(service["environment"])
    assert environment["MONGODB_URL"] == "mongodb://mongo:27017"
    environment["MONGODB_URL"] = mongo_url  # the `mongo` service, here

    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        **image.environment.env,
        **env_file(dot_env),
        **{key: str(value) for key, value in environment.items()},
    }
    env["MONGODB_DB"] = f"smoke_{port}"
    assert command[0] == "python"
    argv = [str(image.environment.python), *command[1:]]
    argv = with_option(with_option(argv, "--host", "127.0.0.1"), "--port", str(port))
    log_path = project / "api.log"
    log = log_path.open("wb")
    process = subprocess.Popen(argv, cwd=image.context, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)
        yield RunningApi(url=url, port=port, healthcheck=healthcheck, env=env, cwd=image.context)
    finally:
        terminate(process, grace_s=10)
        log.close()


def test_the_image_serves_records_and_operations(api: RunningApi) -> None:
    created = httpx.post(
        f"{api.url}/api/models/Job/", json={"title": "Platform engineer", "company": "Acme"}
    )
    assert created.status_code == 201, created.text
    listed = httpx.get(f"{api.url}/api/models/Job/", params={"q": "Platform"})
    assert listed.status_code == 200
    assert [job["id"] for job in listed.json()] == [created.json()["id"]]
    ran = httpx.post(f"{api.url}/api/operations/search_jobs/", json={"query": "Platform"})
    assert ran.status_code == 200, ran.text
    assert [job["id"] for job in ran.json()["jobs"]] == [created.json()["id"]]
    run = httpx.get(f"{api.url}/api/taskruns/{ran.headers['x-task-run-id']}").json()
    assert run["status"] == "success"


def test_api_command_answers_health(api: RunningApi) -> None:
    answer = httpx.get(f"{api.url}/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}
    assert httpx.get(f"{api.url}/api/models/").status_code == 200


def test_the_images_healthcheck_passes(api: RunningApi) -> None:
    """The HEALTHCHECK's command, pointed at this port, exits 0; at a dead port, not."""
    assert api.healthcheck[0] == "python"
    argv = [sys.executable, *api.healthcheck[1:]]
    live = [arg.replace(":8000/", f":{api.port}/") for arg in argv]
    assert live != argv, "the healthcheck no longer probes port 8000"
    assert subprocess.run(live, cwd=api.cwd, env=api.env, timeout=20).returncode == 0
    dead = [arg.replace(":8000/", f":{free_port()}/") for arg in argv]
    done = subprocess.run(dead, cwd=api.cwd, env=api.env, capture_output=True, timeout=20)
    assert done.returncode != 0


@pytest.fixture(scope="module")
def dist(project: Path) -> Path:
    """The frontend built like Dockerfile.frontend's build stage: `npm ci` (cached by
    lockfile, as the frontend tests do), then `npm run build` with its ENV."""
    rows = dockerfile_instructions(project / ".run_cache" / "Dockerfile.frontend")
    env = env_instructions(rows)
    assert env["VITE_API_URL"] == "/api"
    runs = [args for word, args in rows if word == "RUN"]
    assert runs[-1] == "npm run build"
    frontend = project / ".run_cache" / "generated_frontend"
    link_node_modules(frontend)
    run(["npm", "run", "build", "--silent"], frontend, env=env)
    return frontend / "dist"


@pytest.fixture(scope="module")
def nginx(project: Path, dist: Path, api: RunningApi, tmp_path_factory: pytest.TempPathFactory):
    """Debian's nginx with the emitted server block, as the nginx image's main config
    includes it; only the listen port, the document root and the `api` service's address
    differ from the image."""
    if not Path(NGINX).is_file():
        pytest.fail("nginx is missing: apt-get install nginx (make system-deps does)")
    prefix = tmp_path_factory.mktemp("nginx")
    server = (project / ".run_cache" / "nginx.conf").read_text()
    port = free_port()
    replacements = [
        (r"listen 8080;", f"listen 127.0.0.1:{port};"),
        (r"root /usr/share/nginx/html;", f"root {dist};"),
        (r"http://api:8000", f"http://127.0.0.1:{api.port}"),
    ]
    for pattern, value in replacements:
        server, count = re.subn(re.escape(pattern), value, server)
        assert count, f"{pattern} is no longer in nginx.conf"
    (prefix / "server.conf").write_text(server)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the tmp folder
    temp = "\n".join(
        f"    {name}_temp_path {prefix}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"{user}daemon off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
        f"events {{}}\nhttp {{\n    include /etc/nginx/mime.types;\n"
        f"    access_log off;\n{temp}\n    include {prefix}/server.conf;\n}}\n"
    )
    check = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                httpx.get(url, timeout=1.0)
                break
            except httpx.TransportError:
                assert process.poll() is None, (prefix / "error.log").read_text()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        yield url
    finally:
        terminate(process, grace_s=5)


def test_nginx_serves_the_app(nginx: str) -> None:
    answer = httpx.get(f"{nginx}/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert '<div id="root">' in answer.text
    script = re.search(r'src="(/assets/[^"]+\.js)"', answer.text)
    assert script, answer.text
    asset = httpx.get(f"{nginx}{script.group(1)}")
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert "immutable" in asset.headers["cache-control"]
    assert httpx.get(f"{nginx}/assets/missing.js").status_code == 404


def test_nginx_answers_deep_links_with_the_app(nginx: str) -> None:
    index = httpx.get(f"{nginx}/").text
    for path in ("/Job", "/Job/show/0123456789abcdef01234567", "/operations/search_jobs"):
        answer = httpx.get(f"{nginx}{path}")
        assert answer.status_code == 200, path
        assert answer.text == index, path


def test_nginx_proxies_the_api(nginx: str) -> None:
    health = httpx.get(f"{nginx}/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    models = httpx.get(f"{nginx}/api/models/")
    assert models.status_code == 200
    assert {m["name"] for m in models.json()} >= {"Job", "Application"}
    created = httpx.post(f"{nginx}/api/operations/search_jobs/", json={})
    assert created.status_code == 200, created.text
    assert created.headers["x-task-run-id"]
    assert httpx.get(f"{nginx}/api/models/Nope/").status_code == 404  # the API's, not the app
