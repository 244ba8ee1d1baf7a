"""Docker emitter: the API and frontend images, the nginx config that serves the
frontend, docker-compose.yml for the whole stack, and their .env.example/.dockerignore.

Every file lives in the output folder; the images' build context is the project root
(`context: ..` in docker-compose.yml), so the user's own code and the generated code are
both in it. Docker reads a Dockerfile-specific ignore file, `<Dockerfile>.dockerignore`
beside the Dockerfile, before the context root's `.dockerignore`: that is where the ignore
rules go, one file per image, since the output folder is not the context.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from ..ir import ProjectIR
from . import EmitSettings, OutputFile
from .naming import (
    API_PORT,
    API_SERVICE,
    APP_UID,
    CONTAINER_ROOT,
    DOCKERFILE,
    DOCKERFILE_FRONTEND,
    FRONTEND_PORT,
    RUNTIME_DIR,
    SECRET_KEY_ENV,
    database_name,
    generated_header,
    source_roots,
)
from .pins import MONGO_IMAGE, PREFECT, field_type_groups, prefect_image, requirement_lines
from .prefect_names import (
    deploy_command,
    deployment_name,
    orchestration_env,
)

API_ROOT = "/api"
"""The frontend's API root (`VITE_API_URL`): the same origin, proxied by nginx."""
NGINX_CONF = "nginx.conf"
FRONTEND_DIR = "generated_frontend"
MONGO_URL = "mongodb://mongo:27017"
COMPOSE_FILE = "docker-compose.yml"


def emit_docker(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    config, render = settings.config, settings.templates.render
    header = generated_header(ir)
    output_dir = PurePosixPath(config.output_dir).as_posix()
    frontend_dir = f"{output_dir}/{FRONTEND_DIR}"
    http_port = config.docker.port
    prefect = config.orchestration == "prefect"
    common = {
        "header": header,
        "project": ir.project,
        "output_dir": output_dir,
        "frontend_dir": frontend_dir,
        "nginx_conf": NGINX_CONF,
        "http_port": http_port,
        "frontend_port": FRONTEND_PORT,
        "api_port": API_PORT,
        "api_root": API_ROOT,
    }
    files = {
        DOCKERFILE: render(
            "docker/Dockerfile.j2",
            **common,
            python_image=config.docker.python_image,
            app_uid=APP_UID,
            pythonpath=":".join(api_import_path(ir, output_dir)),
            healthcheck=_exec_form(api_healthcheck(API_PORT)),
            command=_exec_form(api_command(API_PORT, output_dir)),
        ),
        f"{DOCKERFILE}.dockerignore": render("docker/Dockerfile.dockerignore.j2", **common),
        DOCKERFILE_FRONTEND: render(
            "docker/Dockerfile.frontend.j2",
            **common,
            node_image=config.docker.node_image,
            nginx_image=config.docker.nginx_image,
            app_uid=APP_UID,
            healthcheck=_exec_form(
                ["wget", "-q", "-O", "/dev/null", f"http://127.0.0.1:{FRONTEND_PORT}/"]
            ),
        ),
        f"{DOCKERFILE_FRONTEND}.dockerignore": render(
            "docker/Dockerfile.frontend.dockerignore.j2", **common
        ),
        NGINX_CONF: render(
            "docker/nginx.conf.j2", **common, api_upstream=f"{API_SERVICE}:{API_PORT}"
        ),
        COMPOSE_FILE: render(
            "docker/docker-compose.yml.j2",
            **common,
            prefect=prefect,
            mongo_image=MONGO_IMAGE,
            prefect_image=prefect_image(),
            work_pool=config.prefect.work_pool,
            deploy_command=deploy_command(config),
            prefect_environment=orchestration_env(),
            api_environment=[
                ("MONGODB_URL", MONGO_URL),
                *(orchestration_env() if prefect else []),
            ],
        ),
        ".env.example": render(
            "docker/env.example.j2",
            **common,
            database=database_name(ir),
            api_key_env=config.api.api_key_env if config.api.auth == "api_key" else None,
            secret_key_env=SECRET_KEY_ENV if config.api.auth == "users" else None,
            prefect=prefect,
            deployment=deployment_name(ir) if prefect else None,
        ),
        "requirements.txt": render(
            "docker/requirements.txt.j2",
            header=header,
            requirements=requirement_lines(*field_type_groups(ir), *([PREFECT] if prefect else [])),
        ),
    }
    return [OutputFile(path=path, content=text.encode()) for path, text in sorted(files.items())]


def api_import_path(ir: ProjectIR, output_dir: str) -> list[str]:
    """The API image's PYTHONPATH: the runtime copied into the output, then the project's
    source roots, so the generated code imports the user's modules wherever it starts (the
    app, the CLI, a Prefect worker)."""
    return [
        (CONTAINER_ROOT / path).as_posix()
        for path in (f"{output_dir}/{RUNTIME_DIR}", *source_roots(ir))
    ]


def api_command(port: int, output_dir: str) -> list[str]:
    """How the API image starts the app, from the project root (its WORKDIR)."""
    return [
        "python",
        "-m",
        "uvicorn",
        "generated_api:app",
        "--app-dir",
        output_dir,
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--proxy-headers",
        "--forwarded-allow-ips",
        "*",
    ]


def api_healthcheck(port: int) -> list[str]:
    """Exit 0 when /health answers 200 (urlopen raises on anything else)."""
    probe = (
        "import urllib.request; "
        f"urllib.request.urlopen('http://127.0.0.1:{port}/health', timeout=4)"
    )
    return ["python", "-c", probe]


def _exec_form(argv: list[str]) -> str:
    """A Dockerfile instruction's JSON (exec) form."""
    return json.dumps(argv)
