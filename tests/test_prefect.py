"""Prefect orchestration with the real `prefect` package in local ephemeral mode (each
process starts a temporary Prefect server on a SQLite database in PREFECT_HOME; no
PREFECT_API_URL). One demo project with `orchestration: prefect`, driven end to end:

1. a flow of ours calls a generated task: the TaskRun says orchestrated=True and names
   the flow run and task run; the generated `run-steps` flow runs operations too;
2. the compose file's `prefect-deploy` command registers orchestration/prefect.yaml;
3. the generated API, asked for `?background=true`, records the run and starts a flow run
   of the `run-operation` deployment instead of running it;
4. that flow run, executed with its parameters by the deployment's entrypoint (what a
   worker does), finishes the same TaskRun.

About 50 s: every Prefect process pays ~8 s for its temporary server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from api_server import ApiServer, with_source_roots
from conftest import REPO_ROOT, copy_project

from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.pipeline import compile_project

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

FLOWS_SCRIPT = """
import asyncio, json
from prefect import flow
from prefect.context import FlowRunContext
from jobhunter_runtime.taskrun import TaskRun
from orchestration.database import connect  # first: it makes the project importable
from orchestration.flows import run_steps
from orchestration.tasks import OPERATIONS, create_test_item_task
from operations.create_test_item import CreateTestItemInput

@flow
async def demo_flow():
    output = await create_test_item_task(CreateTestItemInput(name="from-a-flow"))
    return str(FlowRunContext.get().flow_run.id), output.model_dump(mode="json")

async def main():
    flow_run_id, output = await demo_flow()
    steps = await run_steps([
        {"operation": "create_test_item", "input": {"name": "step-one"}},
        {"operation": "search_jobs", "input": {"query": "nothing"}},
    ])
    await connect()
    runs = [r.model_dump(mode="json") for r in await TaskRun.find_all().to_list()]
    print(json.dumps({
        "flow_run_id": flow_run_id,
        "output": output,
        "steps": [s.model_dump(mode="json") for s in steps],
        "operations": sorted(OPERATIONS),
        "runs": runs,
    }))

asyncio.run(main())
"""

WORKER_SCRIPT = """
import asyncio, json, sys
from prefect.client.orchestration import get_client
from prefect.flows import load_flow_from_entrypoint
from jobhunter_runtime.taskrun import TaskRun
from orchestration.database import connect

async def main(flow_run_id):
    async with get_client() as client:
        flow_run = await client.read_flow_run(flow_run_id)
        deployment = await client.read_deployment(flow_run.deployment_id)
    flow = load_flow_from_entrypoint(deployment.entrypoint)
    result = await flow(**flow_run.parameters)
    await connect()
    run = await TaskRun.get(flow_run.parameters["task_run_id"])
    print(json.dumps({
        "deployment": f"{flow.name}/{deployment.name}",
        "parameters": flow_run.parameters,
        "result": result if isinstance(result, dict) else result.model_dump(mode="json"),
        "task_run": run.model_dump(mode="json"),
    }))

asyncio.run(main(sys.argv[1]))
"""


@dataclass
class Story:
    flows: dict[str, Any]
    seconds_flows: float
    deploy_output: str
    accepted: httpx.Response
    dispatched: dict[str, Any]
    worker: dict[str, Any]


def prefect_env(home: Path, mongo_url: str, database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return {
        **env,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ALLOW_EPHEMERAL_MODE": "true",
        # Prefect's 20 s were seen to run out on a loaded 2-core machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "MONGODB_URL": mongo_url,
        "MONGODB_DB": database,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def run_json(argv: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    pythonpath = os.pathsep.join([str(cwd), env["PYTHONPATH"]])
    done = subprocess.run(
        argv, cwd=cwd, env={**env, "PYTHONPATH": pythonpath}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, mongo_url: str) -> Iterator[Story]:
    root = tmp_path_factory.mktemp("prefect")
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", root / "demo")
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text() + "\norchestration: prefect\n")
    assert compile_project(project, mode="write").ok
    out = project / ".run_cache"
    database = f"prefect_{os.getpid()}_{int(time.time())}"
    # As in the API image, whose PYTHONPATH holds the project's source roots.
    env = with_source_roots(project, prefect_env(root / "prefect-home", mongo_url, database))

    started = time.perf_counter()
    flows = run_json([sys.executable, "-c", FLOWS_SCRIPT], out, env)
    seconds_flows = time.perf_counter() - started

    # The compose file's prefect-deploy service, run from its working directory.
    service = yaml.safe_load((out / "docker-compose.yml").read_text())["services"]
    deploy = service["prefect-deploy"]
    assert deploy["working_dir"] == "/app/.run_cache"
    command = deploy["command"]
    assert command[:2] == ["sh", "-c"]
    shell = command[2].replace("prefect ", f"{BIN / 'prefect'} ")
    done = subprocess.run(["sh", "-c", shell], cwd=out, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    with ApiServer(project, mongo_url, database, env=env) as api:
        accepted = httpx.post(
            f"{api.url}/api/operations/create_test_item/",
            params={"background": "true"},
            json={"name": "via-prefect"},
            timeout=120,
        )
        run_id = accepted.json().get("task_run_id")
        dispatched = httpx.get(f"{api.url}/api/taskruns/{run_id}").json() if run_id else {}
    flow_run_id = dispatched.get("prefect_flow_run_id")
    worker = (
        run_json([sys.executable, "-c", WORKER_SCRIPT, flow_run_id], out, env)
        if flow_run_id
        else {}
    )
    yield Story(flows, seconds_flows, done.stdout, accepted, dispatched, worker)


def test_task_in_a_flow_records_an_orchestrated_task_run(story: Story) -> None:
    runs = [r for r in story.flows["runs"] if r["input_dump"].get("name") == "from-a-flow"]
    assert len(runs) == 1
    run = runs[0]
    assert run["status"] == "success"
    assert run["orchestrated"] is True
    assert run["prefect_flow_run_id"] == story.flows["flow_run_id"]
    assert run["prefect_task_run_id"]
    assert run["actor"]["channel"] == "prefect"
    assert run["output_dump"]["name"] == "from-a-flow"
    print(f"first flow run (with the temporary server's start): {story.seconds_flows:.1f} s")


def test_generated_tasks_import_and_run(story: Story) -> None:
    assert story.flows["operations"] == [
        "create_test_item",
        "scrape_jobs",
        "search_jobs",
        "submit_application",
    ]
    created, found = story.flows["steps"]
    assert created["name"] == "step-one"
    assert found == {"total": 0, "jobs": []}
    by_name = {}
    for run in story.flows["runs"]:
        by_name.setdefault(run["operation_name"], []).append(run)
    step_runs = [*by_name["search_jobs"], *by_name["create_test_item"]]
    assert len(step_runs) == 3
    flow_ids = {r["prefect_flow_run_id"] for r in step_runs}
    assert len(flow_ids) == 2  # demo_flow's and run_steps' flow runs
    assert all(r["orchestrated"] and r["prefect_task_run_id"] for r in step_runs)
    assert len({r["prefect_task_run_id"] for r in step_runs}) == 3


def test_deployment_file_registers_both_flows(story: Story) -> None:
    for name in ("run-operation/jobhunter-demo", "run-steps/jobhunter-demo"):
        assert name in story.deploy_output


def test_background_run_is_handed_to_prefect(story: Story) -> None:
    assert story.accepted.status_code == 202, story.accepted.text
    run = story.dispatched
    assert run["status"] == "pending", "the API process must not run it"
    assert run["orchestrated"] is True
    assert run["prefect_flow_run_id"]
    assert run["input_dump"]["name"] == "via-prefect"


def test_the_dispatched_flow_run_finishes_the_recorded_task_run(story: Story) -> None:
    worker = story.worker
    assert worker["deployment"] == "run-operation/jobhunter-demo"
    assert worker["parameters"] == {
        "operation": "create_test_item",
        "task_run_id": story.dispatched["id"],
    }
    run = worker["task_run"]
    assert run["id"] == story.dispatched["id"]
    assert run["status"] == "success"
    assert run["orchestrated"] is True
    assert run["prefect_task_run_id"]
    assert run["output_dump"]["name"] == "via-prefect"
    assert worker["result"]["name"] == "via-prefect"


def test_unreachable_prefect_fails_the_run_with_503(
    tmp_path: Path, mongo_url: str, mongo_db_name: str
) -> None:
    """When the run cannot be handed over, the API says so (503) and the TaskRun records
    why, instead of staying pending forever."""
    project = copy_project(REPO_ROOT / "fixtures" / "demo_project", tmp_path / "demo")
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text() + "\norchestration: prefect\n")
    assert compile_project(project, mode="write").ok
    env = prefect_env(tmp_path / "home", mongo_url, mongo_db_name)
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"  # nobody listens
    env["PREFECT_CLIENT_MAX_RETRIES"] = "0"
    with ApiServer(project, mongo_url, mongo_db_name, env=env) as api:
        answer = httpx.post(
            f"{api.url}/api/operations/create_test_item/?background=true",
            json={"name": "lost"},
            timeout=60,
        )
        assert answer.status_code == 503, answer.text
        run_id = answer.json()["task_run_id"]
        assert answer.headers["x-task-run-id"] == run_id
        run = httpx.get(f"{api.url}/api/taskruns/{run_id}").json()
    assert run["status"] == "failed"
    assert "could not hand operation 'create_test_item' to the orchestrator" in run["error"]
