"""Kubernetes emitter: a kustomize base in `deploy/kubernetes/base/` (the API with its
Service and HorizontalPodAutoscaler, the frontend, one Ingress, the settings ConfigMap, the
Prefect worker with `orchestration: prefect`), a `dev` overlay that adds a one-replica
MongoDB StatefulSet, and the template of the Secret the user creates.

The images are the ones the Docker emitter's Dockerfiles build, with the same ports and
user. Every pod runs as that user on a read-only root file system with a writable /tmp,
without privilege escalation or capabilities, under the RuntimeDefault seccomp profile.
Secret values never appear in the output: the pods read `MONGODB_URL` (and the API key)
from a Secret that the user creates.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..config import ImagesConfig, WorkloadConfig
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
    SECRET_KEY_ENV,
    database_name,
    generated_header,
)
from .pins import MONGO_IMAGE
from .prefect_names import PREFECT_HOME, deploy_command

KUBERNETES_DIR = "deploy/kubernetes"
BASE_DIR = f"{KUBERNETES_DIR}/base"
DEV_DIR = f"{KUBERNETES_DIR}/overlays/dev"
SETTINGS = "app-settings"
"""The ConfigMap of non-secret settings (kustomize appends a hash of its content)."""
SECRETS = "app-secrets"
"""The Secret the user creates: MONGODB_URL, and the API key with `auth: api_key`."""
FRONTEND_SERVICE = "frontend"
WORKER = "prefect-worker"
WORKER_HEALTH_PORT = 8080
"""Where `prefect worker start --with-healthcheck` answers /health (Prefect's default)."""
MONGO_SERVICE = "mongo"
MONGO_PORT = 27017
DEV_MONGO = WorkloadConfig(
    replicas=1, cpu_request="100m", cpu_limit="1", memory_request="512Mi", memory_limit="1Gi"
)
"""The dev overlay's MongoDB: one replica, with a WiredTiger cache (0.25 GB) that fits."""


def emit_kubernetes(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    config, render = settings.config, settings.templates.render
    kubernetes = config.kubernetes
    project_label = dns_label(ir.project)
    namespace = kubernetes.namespace or project_label
    prefect = config.orchestration == "prefect"
    output_dir = PurePosixPath(config.output_dir).as_posix()
    api_image = image_reference(kubernetes.images, kubernetes.images.api or f"{project_label}-api")
    frontend_image = image_reference(
        kubernetes.images, kubernetes.images.frontend or f"{project_label}-frontend"
    )
    common = {
        "header": generated_header(ir),
        "project": ir.project,
        "part_of": project_label,
        "namespace": namespace,
        "uid": APP_UID,
        "settings": SETTINGS,
        "secrets": SECRETS,
        "api_service": API_SERVICE,
        "api_port": API_PORT,
        "frontend_service": FRONTEND_SERVICE,
        "frontend_port": FRONTEND_PORT,
        "worker": WORKER,
        "mongo_service": MONGO_SERVICE,
        "mongo_port": MONGO_PORT,
        "output_dir": output_dir,
    }
    api_key_env = config.api.api_key_env if config.api.auth == "api_key" else None
    secret_key_env = SECRET_KEY_ENV if config.api.auth == "users" else None
    environment = [
        ("MONGODB_DB", database_name(ir)),
        # The admin is served from the API's own origin through the Ingress.
        ("JOBHUNTER_CORS_ORIGINS", ""),
    ]
    if prefect:
        environment += [
            ("PREFECT_API_URL", kubernetes.prefect_api_url),
            ("PREFECT_HOME", PREFECT_HOME),
        ]
    manifests = {
        "namespace.yaml": render("kubernetes/base/namespace.yaml.j2", **common),
        "api.yaml": render(
            "kubernetes/base/api.yaml.j2",
            **common,
            image=api_image,
            workload=kubernetes.api,
            autoscaling=kubernetes.autoscaling,
        ),
        "frontend.yaml": render(
            "kubernetes/base/frontend.yaml.j2",
            **common,
            image=frontend_image,
            workload=kubernetes.frontend,
        ),
        "ingress.yaml": render(
            "kubernetes/base/ingress.yaml.j2",
            **common,
            host=kubernetes.ingress.host,
            class_name=kubernetes.ingress.class_name,
        ),
    }
    if prefect:
        manifests[f"{WORKER}.yaml"] = render(
            "kubernetes/base/prefect-worker.yaml.j2",
            **common,
            image=api_image,
            workload=kubernetes.prefect_worker,
            working_dir=(CONTAINER_ROOT / output_dir).as_posix(),
            command=worker_command(config.prefect.work_pool),
            health_port=WORKER_HEALTH_PORT,
            deploy_command=deploy_command(config),
        )
    files = {f"{BASE_DIR}/{name}": text for name, text in manifests.items()}
    files[f"{BASE_DIR}/kustomization.yaml"] = render(
        "kubernetes/base/kustomization.yaml.j2",
        **common,
        dockerfile=f"{output_dir}/{DOCKERFILE}",
        dockerfile_frontend=f"{output_dir}/{DOCKERFILE_FRONTEND}",
        api_image=api_image,
        frontend_image=frontend_image,
        resources=list(manifests),
        literals=[f"{key}={value}" for key, value in environment],
        api_key_env=api_key_env or secret_key_env,
    )
    files[f"{KUBERNETES_DIR}/secret.example.yaml"] = render(
        "kubernetes/secret.example.yaml.j2",
        **common,
        api_key_env=api_key_env,
        secret_key_env=secret_key_env,
        prefect=prefect,
    )
    files[f"{DEV_DIR}/kustomization.yaml"] = render(
        "kubernetes/overlays/dev/kustomization.yaml.j2", **common
    )
    files[f"{DEV_DIR}/mongo.yaml"] = render(
        "kubernetes/overlays/dev/mongo.yaml.j2", **common, image=MONGO_IMAGE, workload=DEV_MONGO
    )
    return [OutputFile(path=path, content=text.encode()) for path, text in sorted(files.items())]


def dns_label(name: str) -> str:
    """`name` as a DNS label (lowercase words joined by `-`, at most 63 characters), the
    form Kubernetes names and labels take."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower())[:63].strip("-") or "app"


def worker_command(work_pool: str) -> list[str]:
    """How the worker starts: a process worker of `work_pool`, with the /health server."""
    return [
        "prefect",
        "worker",
        "start",
        "--pool",
        work_pool,
        "--type",
        "process",
        "--with-healthcheck",
    ]


def image_reference(images: ImagesConfig, name: str) -> str:
    repository = f"{images.registry}/{name}" if images.registry else name
    return f"{repository}:{images.tag}"
