"""`jobhunter init` (a scaffolded project compiles, checks and tests clean) and `jobhunter run`
(compile if stale, embedded MongoDB with data that survives a restart, the API, clean stop on
SIGINT/SIGTERM, even the child gone when `run` is killed outright, clear errors)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from conftest import FAULT_OPERATIONS, invoke_jobhunter
from fastapi import FastAPI

from jobhunter_compiler.config import load_config
from jobhunter_compiler.devserver import serve as serve_module
from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.devserver.frontend_static import with_frontend
from jobhunter_compiler.pipeline import compile_project

BIN = Path(sys.executable).parent
JOBHUNTER = str(BIN / "jobhunter")
SCAFFOLD_FILES = [
    ".gitignore",
    ".jobhunter.yml",
    "Makefile",
    "README.md",
    "models/__init__.py",
    "models/todo.py",
    "operations/__init__.py",
    "operations/complete_todo.py",
    "tests/conftest.py",
    "tests/test_complete_todo.py",
]
STARTUP_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 20.0


invoke = invoke_jobhunter


def scaffolded(tmp_path: Path, name: str = "todo-app") -> Path:
    result = invoke("init", str(tmp_path / name))
    assert result.exit_code == 0, result.output
    return tmp_path / name


# -- init -------------------------------------------------------------------------------


def test_init_writes_a_project_that_compiles_with_no_diagnostics(tmp_path: Path) -> None:
    project = scaffolded(tmp_path)
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    assert files == sorted(SCAFFOLD_FILES)
    assert load_config(project).config.project == "todo-app"
    lines = (project / ".gitignore").read_text().splitlines()
    ignored = [line for line in lines if line and not line.startswith("#")]
    assert {".jobhunter_cache/", "__pycache__/", "node_modules/", "dist/", ".env"} <= set(ignored)
    assert ".run_cache/" not in ignored  # committed, so CI can diff it
    makefile = (project / "Makefile").read_text()
    for target in ("compile", "watch", "check", "run", "dev", "up", "down", "test"):
        assert f"\n{target}:" in makefile or f"\n{target}: " in makefile, target
    assert "JOBHUNTER ?= jobhunter" in makefile

    result = compile_project(project)
    assert result.ok and result.diagnostics == []
    assert (result.models, result.operations) == (1, 1)
    assert result.ir is not None
    [model] = result.ir.models
    assert model.name == "Todo"
    [op] = result.ir.operations
    assert (op.name, op.models_in, op.models_out) == ("complete_todo", ["Todo"], ["Todo"])


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    assert "Traceback" not in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_init_force_adds_missing_files_and_never_overwrites(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("# my own\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "todo.py").write_text("# my model\n")
    result = invoke("init", "--force", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "skipped Makefile" in result.output and "skipped models/todo.py" in result.output
    assert (tmp_path / "Makefile").read_text() == "# my own\n"
    assert (tmp_path / "models" / "todo.py").read_text() == "# my model\n"
    assert (tmp_path / ".jobhunter.yml").is_file() and (tmp_path / "README.md").is_file()


def test_init_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("")
    result = invoke("init", str(tmp_path / "taken"))
    assert result.exit_code == 1
    assert "is a file" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("name", ['it\'s "odd": #1 & ü', "- [x] {y}", "null", "123"])
def test_init_quotes_the_project_name(tmp_path: Path, name: str) -> None:
    project = scaffolded(tmp_path, name)
    assert load_config(project).config.project == name
    assert compile_project(project).ok


def test_init_dot_names_the_project_after_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "here"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = invoke("init")
    assert result.exit_code == 0, result.output
    assert load_config(folder).config.project == "here"
    assert "cd " not in result.output  # already there


@pytest.mark.slow
def test_scaffold_make_check_and_its_own_tests_pass(tmp_path: Path) -> None:
    """`make compile` right after init, then `make test`: `compile --check` and the scaffold's
    pytest suite (the example operation against an embedded MongoDB)."""
    project = scaffolded(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "MONGODB_URL"}
    make_vars = [f"JOBHUNTER={JOBHUNTER}", f"PYTHON={sys.executable}"]
    for target in ("compile", "test"):
        done = subprocess.run(
            ["make", "-C", str(project), target, *make_vars],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.parametrize(
    ("auth", "secret"),
    [("none", None), ("api_key", "KEEP_OUT_KEY"), ("users", "JOBHUNTER_SECRET_KEY")],
)
def test_make_up_writes_env_with_random_secrets_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, auth: str, secret: str | None
) -> None:
    """`make up` needs no hand-made .env: the first one writes it from .env.example, with a
    new random value for each secret, which the app accepts; later ones leave it alone."""
    project = scaffolded(tmp_path)
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text() + f"\napi:\n  auth: {auth}\n  api_key_env: KEEP_OUT_KEY\n")
    make = ["make", "-s", "-C", str(project), f"JOBHUNTER={JOBHUNTER}", f"PYTHON={sys.executable}"]
    plan = subprocess.run([*make, "-n", "up"], capture_output=True, text=True, check=True)
    steps = plan.stdout.splitlines()
    assert "WRITE_ENV" in steps[-2] and steps[-1].endswith("docker-compose.yml up -d"), steps

    env_file = project / ".env"
    made = subprocess.run([*make, ".env"], capture_output=True, text=True)
    assert made.returncode == 0, made.stdout + made.stderr
    assert f"wrote .env from .run_cache/.env.example ({1 if secret else 0} new" in made.stdout
    assert env_file.stat().st_mode & 0o777 == 0o600
    lines = env_file.read_text().splitlines()
    settings = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert settings["JOBHUNTER_CORS_ORIGINS"] == ""
    secrets = {name: value for name, value in settings.items() if name.endswith("KEY")}
    assert list(secrets) == ([secret] if secret else [])
    if auth == "api_key":
        from jobhunter_runtime.auth import api_key_from_env

        monkeypatch.setenv("KEEP_OUT_KEY", secrets["KEEP_OUT_KEY"])
        assert api_key_from_env("KEEP_OUT_KEY")
    if auth == "users":
        from jobhunter_runtime.sessions import secret_key_from_env

        monkeypatch.setenv("JOBHUNTER_SECRET_KEY", secrets["JOBHUNTER_SECRET_KEY"])
        assert secret_key_from_env()

    written = env_file.read_text()
    again = subprocess.run([*make, ".env"], capture_output=True, text=True)
    assert again.returncode == 0 and "wrote .env" not in again.stdout
    assert env_file.read_text() == written
    if secret:
        other = project.parent / "other"
        env_file.rename(other)
        subprocess.run([*make, ".env"], capture_output=True, check=True)
        assert env_file.read_text() != other.read_text()  # new secrets each time


def test_make_demo_ends_by_saying_how_to_start_it(tmp_path: Path) -> None:
    """The repository's `make demo` (its install steps skipped: this venv is installed)
    writes and compiles the demo, then prints a command that starts it from there."""
    repository = Path(__file__).resolve().parents[1]
    demo = tmp_path / "demo"
    done = subprocess.run(
        ["make", "-s", "-o", "bytecode", "demo", f"VENV={BIN.parent}", f"DEMO_DIR={demo}"],
        cwd=repository,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = [line for line in done.stdout.splitlines() if line.strip()][-3:]
    assert last[0].startswith(f"The demo is in {demo}/"), last
    start = last[1].strip()
    assert start == f"cd {demo} && {JOBHUNTER} dev", last
    assert (demo / ".run_cache" / "generated_api.py").is_file()
    # The command it names exists and knows `dev`, from the demo's folder.
    help_text = subprocess.run(
        [JOBHUNTER, "dev", "--help"], cwd=demo, capture_output=True, text=True, check=True
    )
    assert "--no-frontend" in help_text.stdout


# -- run: errors before anything starts -------------------------------------------------


@contextmanager
def listening(port: int, host: str = "127.0.0.1") -> Iterator[None]:
    with socket.socket() as holder:
        holder.bind((host, port))
        holder.listen()
        yield


@pytest.fixture
def compiled(tmp_path: Path) -> Path:
    project = scaffolded(tmp_path)
    assert compile_project(project).ok
    return project


@pytest.fixture
def no_serving(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records any attempt to start servers (the API or MongoDB)."""
    started: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        started.append(args)
        raise AssertionError("a server was started")

    monkeypatch.setattr(serve_module, "_serve_api", refuse)
    monkeypatch.setattr("jobhunter_compiler.devserver.embedded_mongo.EmbeddedMongo.start", refuse)
    monkeypatch.delenv("MONGODB_URL", raising=False)
    return started


def test_run_port_in_use_is_a_one_line_error(compiled: Path, no_serving: list[object]) -> None:
    port, mongo_port = free_port(), free_port()
    with listening(port):
        result = invoke("run", "-p", str(compiled), "--port", str(port), "--mongo-port", "1")
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use: pick another with --port" in result.output
    with listening(mongo_port):
        result = invoke(
            "run", "-p", str(compiled), "--port", str(port), "--mongo-port", str(mongo_port)
        )
    assert result.exit_code == 1
    assert f"port {mongo_port} (the embedded MongoDB) is in use" in result.output
    assert "--mongo-port" in result.output and "MONGODB_URL" not in result.output
    assert "Traceback" not in result.output and no_serving == []


def test_run_mongo_default_port_in_use_suggests_mongodb_url(
    compiled: Path, no_serving: list[object]
) -> None:
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):  # taken by someone else: in use all the same
            stack.enter_context(listening(27017))
        result = invoke("run", "-p", str(compiled), "--port", str(free_port()))
    assert result.exit_code == 1
    assert "port 27017 (the embedded MongoDB) is in use" in result.output
    assert "MONGODB_URL=mongodb://localhost:27017 jobhunter run" in result.output
    assert no_serving == []


def test_run_with_mongodb_url_starts_no_embedded_server(
    compiled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []

    def fake_serve_api(options: object, mongo_url: str, mongo: object, console: object) -> None:
        served.append(mongo_url)
        assert mongo is None

    def no_embedded(*args: object) -> None:
        raise AssertionError("the embedded MongoDB was started")

    monkeypatch.setattr(serve_module, "_serve_api", fake_serve_api)
    monkeypatch.setattr(
        "jobhunter_compiler.devserver.embedded_mongo.EmbeddedMongo.start", no_embedded
    )
    monkeypatch.setenv("MONGODB_URL", "mongodb://elsewhere:27017")
    port, mongo_port = free_port(), free_port()
    with listening(mongo_port):  # not ours to use: no error about it
        result = invoke(
            "run", "-p", str(compiled), "--port", str(port), "--mongo-port", str(mongo_port)
        )
    assert result.exit_code == 0, result.output
    assert served == ["mongodb://elsewhere:27017"]
    assert not (compiled / ".jobhunter_cache" / "mongo").exists()


def test_run_same_port_twice_is_an_error(compiled: Path, no_serving: list[object]) -> None:
    result = invoke("run", "-p", str(compiled), "--port", "8123", "--mongo-port", "8123")
    assert result.exit_code == 1
    assert "--port and --mongo-port are both 8123" in result.output


def test_run_recompiles_stale_output_first(compiled: Path, no_serving: list[object]) -> None:
    model = compiled / "models" / "todo.py"
    model.write_text(
        model.read_text().replace(
            "    done_at: Optional[datetime] = None\n",
            "    done_at: Optional[datetime] = None\n    estimate_hours: float = 1.0\n",
        )
    )
    port = free_port()
    with listening(port):  # stops it right after the compile
        result = invoke("run", "-p", str(compiled), "--port", str(port))
    assert result.exit_code == 1
    assert "written" in result.output and "up to date" not in result.output
    assert "estimate_hours" in (compiled / ".run_cache" / "core_docs" / "metadata.json").read_text()
    assert compile_project(compiled, mode="check").stale is False


def test_run_compile_error_prints_diagnostics_and_starts_nothing(
    compiled: Path, no_serving: list[object]
) -> None:
    op = compiled / "operations" / "complete_todo.py"
    op.write_text(op.read_text().replace('models_in=["Todo"]', 'models_in=["Todos"]'))
    result = invoke("run", "-p", str(compiled), "--port", str(free_port()))
    assert result.exit_code == 1
    assert "JH302" in result.output and "did you mean 'Todo'?" in result.output
    assert "compile failed: 1 error" in result.output and "nothing started" in result.output
    assert no_serving == []


def test_run_frontend_without_a_build_says_how_to_build_it(
    compiled: Path, no_serving: list[object]
) -> None:
    result = invoke("run", "-p", str(compiled), "--port", str(free_port()), "--frontend")
    assert result.exit_code == 1
    assert "no built frontend" in result.output and "npm ci && npm run build" in result.output
    assert no_serving == []


def test_dev_port_clashes_are_one_line_errors(compiled: Path, no_serving: list[object]) -> None:
    port, admin_port = free_port(), free_port()
    with listening(admin_port):
        result = invoke(
            "dev", "-p", str(compiled), "--port", str(port), "--frontend-port", str(admin_port)
        )
    assert result.exit_code == 1
    assert f"port {admin_port} on 127.0.0.1 is in use: pick another with --frontend-port" in (
        result.output
    )
    result = invoke("dev", "-p", str(compiled), "--port", str(port), "--frontend-port", str(port))
    assert result.exit_code == 1
    assert f"--port and --frontend-port are both {port}" in result.output
    with listening(port):  # --no-frontend: the API's port is checked all the same
        result = invoke("dev", "-p", str(compiled), "--port", str(port), "--no-frontend")
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is in use: pick another with --port" in result.output
    assert "Traceback" not in result.output and no_serving == []


def test_run_outside_a_project_is_a_clear_error(tmp_path: Path, no_serving: list[object]) -> None:
    result = invoke("run", "-p", str(tmp_path), "--port", str(free_port()))
    assert result.exit_code == 1
    assert "not a jobhunter project" in result.output and "Traceback" not in result.output


# -- run --frontend: one origin ---------------------------------------------------------


def test_frontend_and_api_share_one_origin(tmp_path: Path) -> None:
    api = FastAPI()

    @api.get("/api/models/Thing/")
    def things() -> list[int]:
        return [1]

    @api.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html>app</html>")
    (dist / "assets" / "app.js").write_text("js()")
    served = with_frontend(api, dist)

    async def requests() -> None:
        transport = httpx.ASGITransport(app=served)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/")).text == "<html>app</html>"
            assert (await client.get("/assets/app.js")).text == "js()"
            deep = await client.get("/models/Thing/show/1")  # a deep link loads the app
            assert (deep.status_code, deep.text) == (200, "<html>app</html>")
            dotted = await client.get("/operations/orders.archive")  # a page, with a dot
            assert (dotted.status_code, dotted.text) == (200, "<html>app</html>")
            missing = await client.get("/assets/gone.js")  # a missing file is no page
            assert missing.status_code == 404
            assert (await client.get("/api/models/Thing/")).json() == [1]
            assert (await client.get("/health")).json() == {"status": "ok"}
            assert (await client.get("/docs")).status_code == 200
            unknown = await client.get("/api/nothing")
            assert unknown.status_code == 404 and unknown.json() == {"detail": "Not Found"}
            assert (await client.post("/models/Thing")).status_code == 405

    asyncio.run(requests())


# -- run: the whole loop in subprocesses --------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """The descendants of `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def session(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])


def process_group(pid: int) -> int | None:
    """The process group of `pid` (None once it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[2])


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class Runner:
    """`jobhunter run` (or `command`, e.g. `dev`) as a user starts it from a terminal: its own
    process group, so a Ctrl-C is a SIGINT to the group."""

    def __init__(
        self,
        project: Path,
        port: int,
        mongo_port: int,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("run",),
    ) -> None:
        self.project, self.port, self.mongo_port = project, port, mongo_port
        self.url = f"http://127.0.0.1:{port}"
        self.children: list[int] = []
        self.log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finish()
        env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "MONGODB_URL"}
        self.process = subprocess.Popen(
            [JOBHUNTER, *command, "--port", str(port), "--mongo-port", str(mongo_port)],
            cwd=project,
            env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """Teardown after a failure: the whole group, and the children that left it."""
        children = {*self.children, *process_tree(self.process.pid)}
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def wait_healthy(self) -> tuple[float, list[int]]:
        """Seconds until /health answered 200, and the processes `run` started."""
        started = time.monotonic()
        while time.monotonic() - started < STARTUP_TIMEOUT_S:
            assert self.process.poll() is None, f"run exited:\n{self.output()}"
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    self.children = process_tree(self.process.pid)
                    return time.monotonic() - started, self.children
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.process.kill()
        raise AssertionError(f"/health never answered:\n{self.output()}")

    def stop(self, how: signal.Signals, group: bool = False) -> int:
        if group:
            os.killpg(self.process.pid, how)
        else:
            self.process.send_signal(how)
        try:
            return self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(f"run did not stop on {how.name}:\n{self.output()}") from None


def wait_gone(pids: list[int], timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def runners() -> Iterator[list[Runner]]:
    """Every Runner a test starts; killed at teardown, so a failed test leaves nothing."""
    started: list[Runner] = []
    yield started
    for runner in started:
        runner.kill()


@pytest.mark.slow
def test_init_compile_run_persist_and_stop_cleanly(tmp_path: Path, runners: list[Runner]) -> None:
    project = tmp_path / "todo-app"
    done = subprocess.run([JOBHUNTER, "init", str(project)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        ["make", "-C", str(project), "compile", f"JOBHUNTER={JOBHUNTER}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    port, mongo_port = free_port(), free_port()

    # First run: create a Todo, then Ctrl-C (SIGINT to the terminal's process group).
    first = Runner(project, port, mongo_port)
    runners.append(first)
    seconds, children = first.wait_healthy()
    print(f"first start to healthy: {seconds:.2f}s")
    assert children, "the embedded MongoDB should be a child process"
    # Out of the terminal's process group: a Ctrl-C reaches only `run`, which stops the
    # database after the API (whose shutdown may still write to it).
    assert all(session(child) != session(first.process.pid) for child in children)
    assert (project / ".jobhunter_cache" / "mongo").is_dir()
    for url in banner_urls(first.output()):  # every URL the banner prints answers
        assert httpx.get(url).status_code == 200, url
    created = httpx.post(f"{first.url}/api/models/Todo/", json={"title": "survive a restart"})
    assert created.status_code == 201, created.text
    todo_id = created.json()["id"]
    # The project's CLI finds the embedded MongoDB on its non-default port.
    served = project / ".jobhunter_cache" / "mongodb_url"
    assert served.read_text(encoding="utf-8") == f"mongodb://127.0.0.1:{mongo_port}"
    listed = subprocess.run(
        [JOBHUNTER, "models", "list", "Todo", "--json"],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "MONGODB_URL"},
        capture_output=True,
        text=True,
    )
    assert listed.returncode == 0, listed.stderr
    assert [todo["id"] for todo in json.loads(listed.stdout)] == [todo_id]
    assert first.stop(signal.SIGINT, group=True) == 0, first.output()
    assert not served.exists(), "a stopped `run` leaves no URL behind"
    assert wait_gone(children) == [], first.output()
    assert port_free(port) and port_free(mongo_port)
    output = first.output()
    assert f"http://127.0.0.1:{port}/docs" in output
    assert len(banner_urls(output)) == 3
    assert f"mongodb://127.0.0.1:{mongo_port}" in output
    assert "stopped the API and the embedded MongoDB" in output
    assert "Traceback" not in output

    # Second run: the record is still there; the operation reads and writes it; SIGTERM.
    second = Runner(project, port, mongo_port)
    runners.append(second)
    seconds, children = second.wait_healthy()
    print(f"restart to healthy: {seconds:.2f}s")
    listed = httpx.get(f"{second.url}/api/models/Todo/").json()
    assert [t["id"] for t in listed] == [todo_id]
    ran = httpx.post(f"{second.url}/api/operations/complete_todo/", json={"todo_id": todo_id})
    assert ran.status_code == 200, ran.text
    assert httpx.get(f"{second.url}/api/models/Todo/{todo_id}").json()["status"] == "done"
    assert second.stop(signal.SIGTERM) == 0, second.output()
    assert wait_gone(children) == [], second.output()
    assert "Traceback" not in second.output()

    # Third run, killed outright: the embedded MongoDB must not outlive it.
    third = Runner(project, port, mongo_port)
    runners.append(third)
    _, children = third.wait_healthy()
    third.stop(signal.SIGKILL)
    assert wait_gone(children) == [], "the embedded MongoDB outlived a killed `jobhunter run`"


@pytest.mark.slow
@pytest.mark.parametrize("command", [("run",), ("dev", "--no-frontend")], ids=["run", "dev"])
def test_run_survives_operations_that_exit_and_prints_what_failed(
    compiled: Path, runners: list[Runner], command: tuple[str, ...]
) -> None:
    """An operation calling sys.exit or raising KeyboardInterrupt fails its run: `run` (or
    `dev`) and its embedded MongoDB go on serving. A crash's traceback, redacted, is on the
    terminal."""
    (compiled / "operations" / "faults.py").write_text(FAULT_OPERATIONS, encoding="utf-8")
    assert compile_project(compiled).ok
    secrets = {"FAULT_PASSWORD": "pw-7d1c0e9b", "FAULT_TOKEN": "tok-52aa93f0e1"}
    runner = Runner(compiled, free_port(), free_port(), env=secrets, command=command)
    runners.append(runner)
    _, children = runner.wait_healthy()

    for operation in ("exit_async", "exit_sync", "interrupt_async", "interrupt_sync"):
        for params in ({}, {"background": "true"}):
            answer = httpx.post(f"{runner.url}/api/operations/{operation}/", json={}, params=params)
            assert answer.status_code in (202, 500), answer.text
    crashed = httpx.post(f"{runner.url}/api/operations/leak_secrets/", json={"text": "crash"})
    assert crashed.status_code == 500, crashed.text
    created = httpx.post(f"{runner.url}/api/models/Todo/", json={"title": "still here"})
    assert created.status_code == 201, runner.output()
    assert runner.process.poll() is None and all(alive(pid) for pid in children)

    assert runner.stop(signal.SIGINT, group=True) == 0, runner.output()
    output = runner.output()
    logged = r"ERROR:\s+operation 'leak_secrets' failed \(TaskRun \w+\):\nTraceback"
    assert re.search(logged, output), output
    assert "RuntimeError: mongodb://***@db.internal:27017 refused token ***" in output
    assert all(secret not in output for secret in secrets.values())


def embedded_mongo_pid(runner: Runner, not_pid: int | None = None) -> int:
    """The pid of the embedded MongoDB `run` started (other than `not_pid`), once it is up."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        for pid in process_tree(runner.process.pid):
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"jobhunter_compiler.devserver.embedded_mongo" in command and pid != not_pid:
                    return pid
        time.sleep(0.05)
    raise AssertionError(f"no embedded MongoDB under `run`:\n{runner.output()}")


@pytest.mark.slow
def test_run_restarts_a_dead_embedded_mongodb_and_stops_when_it_keeps_dying(
    tmp_path: Path, runners: list[Runner]
) -> None:
    project = scaffolded(tmp_path)
    runner = Runner(project, free_port(), free_port())
    runners.append(runner)
    runner.wait_healthy()
    todos = f"{runner.url}/api/models/Todo/"
    before = httpx.post(todos, json={"title": "written before the crash"}, timeout=30)
    assert before.status_code == 201, before.text
    mongo = embedded_mongo_pid(runner)
    os.kill(mongo, signal.SIGKILL)
    killed = time.monotonic()
    after = None
    while time.monotonic() - killed < 20:
        after = httpx.post(todos, json={"title": "written after"}, timeout=30)
        if after.status_code == 201:
            break
        assert after.status_code == 503, after.text  # never a bare 500 meanwhile
        time.sleep(0.2)
    assert after is not None and after.status_code == 201, runner.output()
    print(f"writes again {time.monotonic() - killed:.2f}s after the kill")
    listed = httpx.get(todos, timeout=30).json()
    assert {t["title"] for t in listed} == {"written before the crash", "written after"}
    assert "the embedded MongoDB exited (code -9); restarting it" in runner.output()

    # It keeps dying: after the third restart within a minute, `run` gives up, clearly.
    for restarts in range(1, 4):
        mongo = embedded_mongo_pid(runner, not_pid=mongo)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while runner.output().count("the embedded MongoDB is back") < restarts:
            assert time.monotonic() < deadline, runner.output()
            time.sleep(0.05)
        os.kill(mongo, signal.SIGKILL)
    assert runner.process.wait(STOP_TIMEOUT_S) == 1, runner.output()
    output = runner.output()
    assert "the embedded MongoDB exited (code -9) 4 times within 60 s" in output, output
    assert "Traceback" not in output


def test_run_with_a_placeholder_api_key_is_a_one_line_error(
    tmp_path: Path, runners: list[Runner], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = scaffolded(tmp_path)
    config = project / ".jobhunter.yml"
    config.write_text(config.read_text() + "\napi:\n  auth: api_key\n", encoding="utf-8")
    monkeypatch.setenv("JOBHUNTER_API_KEY", "change-me")
    runner = Runner(project, free_port(), free_port())
    runners.append(runner)
    assert runner.process.wait(STARTUP_TIMEOUT_S) == 1, runner.output()
    output = runner.output()
    assert "error: api.auth is api_key but $JOBHUNTER_API_KEY is the placeholder" in output
    assert "Traceback" not in output
    assert port_free(runner.mongo_port), "the embedded MongoDB outlived `run`"


# -- dev: compile on save, the API reloaded ---------------------------------------------

RELOAD_WAIT_S = 30.0
"""How long a test waits for a save to go live: it shows the reload needs no restart; how
soon it goes live (the 3 s target) is `make bench`'s to measure (tests/bench/bench_dev.py),
since a loaded machine would make a timed test fail for nothing."""


def accepted_within(url: str, body: dict[str, object], limit_s: float) -> float:
    """Seconds until a POST of `body` to the Todo list is accepted (at most `limit_s`). Each
    POST is on a fresh connection, and none may go unanswered while the API reloads."""
    started = time.monotonic()
    while True:
        answer = httpx.post(f"{url}/api/models/Todo/", json=body, timeout=5)
        elapsed = time.monotonic() - started
        if answer.status_code == 201:
            return elapsed
        assert answer.status_code == 422, answer.text
        assert elapsed < limit_s, f"not accepted within {limit_s} s"
        time.sleep(0.05)


@contextmanager
def probing(url: str) -> Iterator[list[str]]:
    """GET /health back to back on a thread, each on a fresh connection, until the block
    ends; yields the list of the requests that got no answer (filled as it goes)."""
    dropped: list[str] = []
    sent = 0
    stop = threading.Event()

    def probe() -> None:
        nonlocal sent
        while not stop.is_set():
            sent += 1
            try:
                httpx.get(f"{url}/health", timeout=10).raise_for_status()
            except httpx.TransportError as error:
                dropped.append(repr(error))

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        yield dropped
    finally:
        stop.set()
        prober.join()
    print(f"{sent} requests on fresh connections during the reload, {len(dropped)} dropped")
    assert sent > 10


def add_field(model: Path, line: str) -> None:
    text = model.read_text()
    anchor = "    done_at: Optional[datetime] = None\n"
    assert anchor in text
    model.write_text(text.replace(anchor, f"{anchor}    {line}\n"))


def banner_urls(output: str) -> list[str]:
    """The http URLs of the banner `run`/`dev` prints."""
    return re.findall(r"^  \w+ +(http://\S+)", output, flags=re.MULTILINE)


def wait_for_output(runner: Runner, text: str, count: int = 1) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while runner.output().count(text) < count:
        assert time.monotonic() < deadline, f"never printed {text!r}:\n{runner.output()}"
        assert runner.process.poll() is None, runner.output()
        time.sleep(0.05)


@pytest.mark.slow
def test_dev_reloads_the_api_on_save_and_keeps_the_last_good_one(
    tmp_path: Path, runners: list[Runner]
) -> None:
    project = scaffolded(tmp_path)
    model = project / "models" / "todo.py"
    runner = Runner(project, free_port(), free_port(), command=("dev", "--no-frontend"))
    runners.append(runner)
    seconds, children = runner.wait_healthy()
    print(f"dev start to healthy: {seconds:.2f}s")
    urls = banner_urls(runner.output())
    assert f"http://127.0.0.1:{runner.port}/api/" in urls and len(urls) == 3, urls
    for url in urls:  # every URL the banner prints answers
        assert httpx.get(url).status_code == 200, url
    assert "frontend" not in runner.output()
    # As under `run`, the project's CLI finds the embedded MongoDB through this file.
    served = project / ".jobhunter_cache" / "mongodb_url"
    assert served.read_text(encoding="utf-8") == f"mongodb://127.0.0.1:{runner.mongo_port}"
    created = httpx.post(f"{runner.url}/api/models/Todo/", json={"title": "seen by the CLI"})
    assert created.status_code == 201, created.text
    listed = subprocess.run(
        [JOBHUNTER, "models", "list", "Todo", "--json"],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "MONGODB_URL"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    assert [todo["id"] for todo in json.loads(listed.stdout)] == [created.json()["id"]]
    refused = httpx.post(f"{runner.url}/api/models/Todo/", json={"title": "a", "hours": 2.5})
    assert refused.status_code == 422, refused.text

    # A new field: the API accepts it, without a restart, and drops no request meanwhile.
    with probing(runner.url) as dropped:
        add_field(model, "hours: float = 1.0")
        seconds = accepted_within(runner.url, {"title": "a", "hours": 2.5}, RELOAD_WAIT_S)
        print(f"save to a new field accepted: {seconds:.2f}s")
        time.sleep(1)  # the old API child drains and stops
    assert dropped == [], dropped
    assert runner.process.poll() is None

    # A save that does not compile: nothing is reloaded, the last good API answers.
    good = model.read_text()
    model.write_text(good + "\ndef broken(:\n")
    wait_for_output(runner, "kept the last good output")
    assert httpx.get(f"{runner.url}/health").status_code == 200
    assert httpx.post(f"{runner.url}/api/models/Todo/", json={"title": "b"}).status_code == 201

    # Code the compiler accepts but that fails at import: the new API does not start and the
    # last good one keeps serving.
    operation = project / "operations" / "complete_todo.py"
    working = operation.read_text()
    model.write_text(good)
    operation.write_text(working + '\nraise RuntimeError("broken at import")\n')
    wait_for_output(runner, "the new API did not start; the last good one keeps serving")
    assert "broken at import" in runner.output()
    assert httpx.post(f"{runner.url}/api/models/Todo/", json={"title": "c"}).status_code == 201

    # Fixed: the next save reloads it.
    operation.write_text(working)
    add_field(model, "effort: int = 0")
    seconds = accepted_within(runner.url, {"title": "d", "effort": 3}, RELOAD_WAIT_S)
    print(f"save after a broken one to a new field accepted: {seconds:.2f}s")

    api_children = process_tree(runner.process.pid)
    # A Ctrl-C at the terminal (to the foreground process group) reaches `dev` alone.
    assert [process_group(pid) for pid in api_children].count(runner.process.pid) == 0
    before_stop = len(runner.output())
    os.killpg(runner.process.pid, signal.SIGINT)  # Ctrl-C twice: the second one is ignored
    assert runner.stop(signal.SIGINT, group=True) == 0, runner.output()
    assert "Traceback" not in runner.output()[before_stop:], runner.output()
    assert not served.exists(), "a stopped `dev` leaves no URL behind"
    assert wait_gone([*children, *api_children]) == [], runner.output()
    assert port_free(runner.port) and port_free(runner.mongo_port)
    assert "stopped the API and the embedded MongoDB" in runner.output()


@pytest.mark.slow
def test_dev_killed_outright_leaves_no_child_and_no_port_held(
    tmp_path: Path, runners: list[Runner]
) -> None:
    """The API children run in sessions of their own (a Ctrl-C reaches `dev` alone), yet
    die with `dev` however it dies."""
    project = scaffolded(tmp_path)
    runner = Runner(project, free_port(), free_port(), command=("dev", "--no-frontend"))
    runners.append(runner)
    runner.wait_healthy()
    add_field(project / "models" / "todo.py", "hours: float = 1.0")
    accepted_within(runner.url, {"title": "a", "hours": 2.5}, RELOAD_WAIT_S)
    children = process_tree(runner.process.pid)
    assert len(children) >= 2, children  # the embedded MongoDB and an API child at least
    assert runner.stop(signal.SIGKILL) == -signal.SIGKILL
    assert wait_gone(children) == [], "a child outlived a killed `jobhunter dev`"
    assert port_free(runner.port) and port_free(runner.mongo_port)
