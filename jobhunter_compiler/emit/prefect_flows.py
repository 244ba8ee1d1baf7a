"""Orchestration emitter (`orchestration: prefect`): the `orchestration/` package of
Prefect tasks (one per operation) and flows, and the prefect.yaml that deploys them.

Retries and timeout come from each @operation, else from the config's `prefect` section.
Without `orchestration: prefect` nothing is emitted: the output never imports Prefect
unless the project asked for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..config import Config
from ..ir import OperationIR, ProjectIR
from . import EmitSettings, OutputFile
from .naming import (
    CONTAINER_ROOT,
    database_name,
    first_party_packages,
    generated_header,
    package_init,
)
from .pins import version_of
from .prefect_names import RUN_OPERATION_FLOW, RUN_STEPS_FLOW, deploy_command, deployment_name
from .python import Imports, docstring_text, python_literal, snake_identifier, unique_names

PACKAGE = "orchestration"
RUNTIME = "jobhunter_runtime.orchestration"
"""The project root inside the API image (its WORKDIR)."""


@dataclass(frozen=True)
class TaskLine:
    name: str
    task_function: str
    function: str
    inputs: str | None
    outputs: str
    retries: int
    retry_delay_s: str
    timeout_s: str
    doc: str


def emit_orchestration(ir: ProjectIR, settings: EmitSettings) -> list[OutputFile]:
    config, render = settings.config, settings.templates.render
    if config.orchestration != "prefect":
        return []
    header = generated_header(ir)
    first_party = (*first_party_packages(ir), PACKAGE)
    tasks_module = _tasks_module(ir, settings, header, first_party)
    output_dir = PurePosixPath(config.output_dir)
    files = {
        f"{PACKAGE}/__init__.py": package_init(
            ir,
            settings.templates,
            "Prefect tasks and flows of the project's operations. They run in the API image, "
            "whose PYTHONPATH holds the project's source roots.",
        ),
        f"{PACKAGE}/database.py": render(
            "orchestration/database.py.j2",
            header=header,
            database=python_literal(database_name(ir)),
        ),
        f"{PACKAGE}/tasks.py": tasks_module,
        f"{PACKAGE}/flows.py": render(
            "orchestration/flows.py.j2",
            header=header,
            project=ir.project,
            run_flow=RUN_OPERATION_FLOW,
            steps_flow=RUN_STEPS_FLOW,
            run_flow_literal=python_literal(RUN_OPERATION_FLOW),
            steps_flow_literal=python_literal(RUN_STEPS_FLOW),
            example_operation=python_literal(ir.operations[0].name if ir.operations else "name"),
        ),
        f"{PACKAGE}/prefect.yaml": render(
            "orchestration/prefect.yaml.j2",
            header=header,
            project=ir.project,
            deployment=deployment_name(ir),
            prefect_version=version_of("prefect"),
            work_pool=config.prefect.work_pool,
            deploy_command=deploy_command(config),
            output_dir=output_dir.as_posix(),
            working_directory=(CONTAINER_ROOT / output_dir).as_posix(),
        ),
    }
    return [OutputFile(path=path, content=text.encode()) for path, text in sorted(files.items())]


def _tasks_module(
    ir: ProjectIR, settings: EmitSettings, header: str, first_party: tuple[str, ...]
) -> str:
    config = settings.config
    task_functions = unique_names(
        (o.name for o in ir.operations), lambda name: f"{snake_identifier(name)}_task"
    )
    imports = Imports(reserved={"OPERATIONS", *task_functions.values()})
    imports.names("prefect", "task")
    imports.names("prefect.cache_policies", "NO_CACHE")
    imports.names(RUNTIME, "OperationTask")
    imports.names(f"{PACKAGE}.database", "connect")
    lines = [_task_line(ir, config, op, task_functions[op.name], imports) for op in ir.operations]
    example = lines[0].task_function if lines else "my_task"
    return settings.templates.render(
        "orchestration/tasks.py.j2",
        header=header,
        project=ir.project,
        imports=imports.blocks(first_party),
        tasks=lines,
        example_task=example,
    )


def _task_line(
    ir: ProjectIR, config: Config, op: OperationIR, task_function: str, imports: Imports
) -> TaskLine:
    inputs = ir.schema(op.inputs.schema_id) if op.inputs.schema_id else None
    outputs = ir.schema(op.outputs.schema_id) if op.outputs.schema_id else None
    timeout = op.timeout_s if op.timeout_s is not None else config.prefect.timeout_s
    summary = op.description or (op.docstring or "").strip().split("\n\n")[0]
    doc = f"The {op.name} operation ({op.module}.{op.function}) as a Prefect task."
    if summary:
        doc = f"{doc} {summary}"
    return TaskLine(
        name=python_literal(op.name),
        task_function=task_function,
        function=imports.name(op.module, op.function),
        inputs=imports.name(inputs.module, inputs.name) if inputs else None,
        outputs=(
            imports.name(outputs.module, outputs.name) if outputs else imports.name("typing", "Any")
        ),
        retries=op.retries or config.prefect.retries,
        retry_delay_s=python_literal(config.prefect.retry_delay_s),
        timeout_s=python_literal(timeout),
        doc=docstring_text(" ".join(doc.split())),
    )
