"""Names the API, Docker and orchestration emitters share about Prefect: the deployment
the API starts flow runs of, and where the Prefect API is inside docker-compose.yml."""

from __future__ import annotations

import re

from ..config import Config
from ..ir import ProjectIR
from .python import python_literal

PREFECT_API_URL = "http://prefect-server:4200/api"
RUN_OPERATION_FLOW = "run-operation"
"""The flow (orchestration/flows.py) a background run of the API starts."""
RUN_STEPS_FLOW = "run-steps"
"""The example flow: operations one after the other."""


def deployment_name(ir: ProjectIR) -> str:
    """The project's deployments' name: its name in lowercase words joined by `-`."""
    return re.sub(r"[^a-z0-9]+", "-", ir.project.lower()).strip("-") or "app"


def dispatch_deployment(ir: ProjectIR, config: Config) -> str | None:
    """The `flow/deployment` literal the API hands background runs to; None without
    `orchestration: prefect`."""
    if config.orchestration != "prefect":
        return None
    return python_literal(f"{RUN_OPERATION_FLOW}/{deployment_name(ir)}")


PREFECT_HOME = "/tmp/prefect"
"""Where Prefect keeps its profile: the API image's user may write only to /tmp."""


def orchestration_env() -> list[tuple[str, str]]:
    """Environment of the services that talk to Prefect, in docker-compose.yml."""
    return [("PREFECT_API_URL", PREFECT_API_URL), ("PREFECT_HOME", PREFECT_HOME)]


def deploy_command(config: Config) -> str:
    """The shell command that creates the work pool and registers the deployments, run
    from the output folder (where the entrypoints in prefect.yaml resolve)."""
    pool = config.prefect.work_pool
    return (
        f"prefect work-pool create --type process --overwrite {pool} && "
        "prefect --no-prompt deploy --all --prefect-file orchestration/prefect.yaml"
    )
