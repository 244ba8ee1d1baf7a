"""The generated Typer CLI, run the way users run it: `jobhunter ops ...` and
`jobhunter models ...` as subprocesses inside a compiled copy of the demo (plus the failing
operations of `conftest.CRASH_OPERATION`), against a real MongoDB server (nx-27017, see
tests/mongo_fixture.py). Each test gets its own database.

Also: `python -m cli` from the output folder, the messages outside a project, before the
first compile and on stale output, and the help of every command of every fixture project
(which imports every generated module and builds every option).
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_server import with_source_roots
from conftest import CRASH_OPERATION, NEVER_IMPORT_FIXTURE, copy_project, oracle_projects
from pymongo import MongoClient

from jobhunter_compiler.emit.python import Imports
from jobhunter_compiler.emit.typer_cli import _option_type
from jobhunter_compiler.ir import ProjectIR, TypeRef
from jobhunter_compiler.pipeline import compile_project

BIN = Path(sys.executable).parent
JOBHUNTER = str(BIN / "jobhunter")
TIMEOUT_S = 60

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "demo_project",
        tmp_path_factory.mktemp("cli") / "demo",
    )
    (project / "operations" / "crash.py").write_text(CRASH_OPERATION, encoding="utf-8")
    assert compile_project(project).ok
    return project


@pytest.fixture
def env(mongo_url: str, mongo_db_name: str) -> dict[str, str]:
    """The environment of a command: this test's database, a wide terminal for tables."""
    return {
        **os.environ,
        "MONGODB_URL": mongo_url,
        "MONGODB_DB": mongo_db_name,
        "COLUMNS": "200",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture
def run(demo: Path, env: dict[str, str]) -> Run:
    """`jobhunter ARGS...` in the demo (or `cwd`), on this test's database."""

    def run(
        *args: str, cwd: Path | None = None, stdin: str | None = None, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [JOBHUNTER, *args],
            cwd=cwd or demo,
            env={**env, **extra},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    return run


@pytest.fixture
def db(mongo_url: str, mongo_db_name: str) -> Any:
    with MongoClient(mongo_url, tz_aware=True, uuidRepresentation="standard") as client:
        yield client[mongo_db_name]


def ok(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a successful command printed."""
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refused(done: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


# --------------------------------------------------------------------------- operations


def test_every_demo_operation_runs_from_the_cli_and_records_a_cli_task_run(
    run: Run, db: Any
) -> None:
    item = ok(
        run(
            "ops", "create_test_item", "--name", "widget", "--kind", "beta", "--value", "7",
            "--score", "0.25", "--no-active", "--tags", "a", "--tags", "b",
        )
    )  # fmt: skip
    assert item["name"] == "widget"
    stored = db.test_items.find_one({"name": "widget"})
    assert (stored["kind"], stored["value"], stored["score"]) == ("beta", 7, 0.25)
    assert (stored["active"], stored["tags"]) == (False, ["a", "b"])

    scraped = ok(run("ops", "scrape_jobs", "--max-postings", "3"))
    assert scraped["created"] == len(scraped["job_ids"]) == 3

    found = ok(run("ops", "search_jobs", "--status", "open", "--limit", "2"))
    assert found["total"] >= 3 and len(found["jobs"]) == 2

    job_id = scraped["job_ids"][0]
    applied = ok(
        run(
            "ops", "submit_application", "--job-id", job_id, "--applicant-name", "Ada",
            "--email", "ada@example.com", "--expected-salary", "90000",
        )
    )  # fmt: skip
    assert applied["already_applied"] is False
    application = db.applications.find_one({"email": "ada@example.com"})
    assert application["job"].id == scraped_id(job_id)

    runs = list(db.task_runs.find({}, sort=[("created_at", 1)]))
    assert [r["operation_name"] for r in runs] == [
        "create_test_item",
        "scrape_jobs",
        "search_jobs",
        "submit_application",
    ]
    for task_run in runs:
        assert task_run["status"] == "success"
        assert task_run["actor"] == {"channel": "cli", "user_id": getpass.getuser(), "email": None}
    assert runs[0]["input_dump"]["tags"] == ["a", "b"]


def scraped_id(text: str) -> Any:
    from bson import ObjectId

    return ObjectId(text)


def test_output_is_one_json_line_in_a_pipe_and_the_task_run_goes_to_stderr(
    run: Run, db: Any
) -> None:
    done = run("ops", "create_test_item", "--name", "piped")
    assert done.returncode == 0
    assert done.stdout.count("\n") == 1 and json.loads(done.stdout)["name"] == "piped"
    task_run = db.task_runs.find_one({"operation_name": "create_test_item"})
    assert f"TaskRun {task_run['_id']}" in done.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--name", "x", "--value", "abc"], "'--value'"),
        (["--name", "x", "--value", "5000"], "'--value'"),
        (["--name", "x", "--kind", "delta"], "'--kind'"),
        (["--name", "x", "--score", "many"], "'--score'"),
        ([], "'--name': a value is required"),
        (["--name", ""], "'--name'"),
        (["--json", "{"], "'--json': not valid JSON"),
        (["--json", "[1, 2]"], "'--json': must be a JSON object"),
        (["--json", '{"name": "x", "value": -1}'], "'--value'"),
        (["--name", "x", "--bogus", "1"], "--bogus"),
        (["--json", "{}", "--json-file", "-"], "not both"),
        (["--json-file", "/nonexistent/body.json"], "'--json-file': cannot read"),
    ],
    ids=[
        "int-not-a-number",
        "int-out-of-range",
        "not-a-choice",
        "float-not-a-number",
        "required-missing",
        "constraint",
        "json-malformed",
        "json-not-an-object",
        "json-constraint",
        "unknown-option",
        "json-twice",
        "json-file-missing",
    ],
)
def test_usage_errors_exit_2_naming_the_option_and_run_nothing(
    run: Run, db: Any, args: list[str], fragment: str
) -> None:
    refused(run("ops", "create_test_item", *args), 2, fragment)
    assert db.task_runs.count_documents({}) == 0
    assert db.test_items.count_documents({}) == 0


def test_json_bodies_from_text_file_and_stdin_with_options_on_top(
    run: Run, db: Any, tmp_path: Path
) -> None:
    ok(run("ops", "create_test_item", "--json", '{"name": "from-json", "value": 3}'))
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"name": "from-file", "kind": "gamma"}), encoding="utf-8")
    ok(run("ops", "create_test_item", "--json-file", str(body), "--value", "9"))
    ok(run("ops", "create_test_item", "--json-file", "-", stdin='{"name": "from-stdin"}'))
    stored = {d["name"]: d for d in db.test_items.find()}
    assert stored["from-json"]["value"] == 3
    assert (stored["from-file"]["kind"], stored["from-file"]["value"]) == ("gamma", 9)
    assert "from-stdin" in stored


def test_a_refused_operation_exits_1_with_its_message(run: Run, db: Any) -> None:
    refused(run("ops", "refuse", "--message", "not today"), 1, "refused: not today")
    refused(
        run("ops", "submit_application", "--job-id", "0" * 24, "--applicant-name", "A",
            "--email", "a@b.co"),
        1,
        f"no job with id {'0' * 24}",
    )  # fmt: skip
    task_run = db.task_runs.find_one({"operation_name": "refuse"})
    assert task_run["status"] == "failed" and task_run["actor"]["channel"] == "cli"


def test_a_crashing_operation_exits_1_without_a_traceback_which_stays_in_the_task_run(
    run: Run, db: Any
) -> None:
    done = run("ops", "crash", "--message", "boom")
    task_run = db.task_runs.find_one({"operation_name": "crash"})
    refused(done, 1, "crash failed: RuntimeError: kaboom: boom", f"TaskRun {task_run['_id']}")
    assert done.stdout == ""
    assert task_run["status"] == "failed"
    assert "Traceback" in task_run["traceback"] and "kaboom" in task_run["traceback"]


def test_ops_lists_operations_by_category_with_descriptions(run: Run) -> None:
    for args in (["ops"], ["ops", "--help"]):
        done = run(*args)
        assert done.returncode == 0, done.stderr
        for text in ("testing", "create_test_item", "Create a TestItem from the given values."):
            assert text in done.stdout
        assert done.stdout.index("jobs") < done.stdout.index("scrape_jobs")


def test_operation_help_shows_typed_options_defaults_and_choices(run: Run) -> None:
    done = run("ops", "search_jobs", "--help")
    assert done.returncode == 0, done.stderr
    for text in ("--status", "open|closed|archived|none", "--remote", "--skills", "1<=x<=100"):
        assert text in done.stdout, text
    assert "Find job postings" in done.stdout
    assert "none for no value" in done.stdout


def test_link_columns_show_the_linked_records_primary_field(run: Run, db: Any) -> None:
    job = ok(run("models", "create", "Job", "--title", "Lighthouse Keeper", "--company", "Sea"))
    application = ok(
        run("models", "create", "Application", "--job", job["id"], "--applicant-name",
            "Grace", "--email", "grace@example.com")
    )  # fmt: skip
    table = run("models", "list", "Application", "--search", "Grace")
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if application["id"] in line)
    assert "Lighthouse Keeper" in row and job["id"] not in row, table.stdout
    listed = ok(run("models", "list", "Application", "--search", "Grace", "--json"))
    assert listed[0]["job"] == job["id"]  # JSON keeps the id
    db.jobs.delete_one({"title": "Lighthouse Keeper"})
    dangling = run("models", "list", "Application", "--search", "Grace")
    assert f"{job['id']} (missing)" in dangling.stdout, dangling.stdout + dangling.stderr


def test_an_optional_enum_option_takes_none_for_no_value(run: Run, db: Any) -> None:
    for status in ("open", "closed"):
        ok(run("models", "create", "Job", "--title", f"Nil {status}", "--company", "Zilch",
               "--status", status))  # fmt: skip
    open_jobs = ok(run("ops", "search_jobs", "--query", "Zilch"))  # the default: open
    assert [job["title"] for job in open_jobs["jobs"]] == ["Nil open"]
    any_status = ok(run("ops", "search_jobs", "--query", "Zilch", "--status", "none"))
    assert sorted(job["title"] for job in any_status["jobs"]) == ["Nil closed", "Nil open"]
    task_run = db.task_runs.find_one({"operation_name": "search_jobs", "input_dump.status": None})
    assert task_run is not None
    refused(run("ops", "search_jobs", "--status", "nothing"), 2, "'nothing' is not one of")


def test_help_marks_required_options_documents_yes_and_says_a_or_an(run: Run) -> None:
    create = run("models", "create", "Job", "--help")
    assert create.returncode == 0, create.stderr
    lines = {line.split()[1]: line for line in create.stdout.splitlines() if "│ --" in line}
    assert "(required)" in lines["--title"] and "(required)" not in lines["--location"], lines
    operation = run("ops", "create_test_item", "--help").stdout
    assert "(required)" in next(line for line in operation.splitlines() if "--name" in line)
    update = run("models", "update", "Job", "--help")
    assert "(required)" not in update.stdout  # update changes only what is given
    deletes = run("models", "delete", "--help")
    assert deletes.returncode == 0, deletes.stderr
    for text in ("Delete an Application", "Delete a Job", "--yes does not"):
        assert text in deletes.stdout, text
    assert "--yes" in run("models", "delete", "Job", "--help").stdout
    assert "Create an Application" in run("models", "create", "--help").stdout


def test_the_emitter_spells_the_runtimes_marks() -> None:
    from jobhunter_compiler.emit import typer_cli
    from jobhunter_runtime import cli

    assert (typer_cli.NO_CHOICE, typer_cli.REQUIRED_MARK) == (cli.NO_CHOICE, cli.REQUIRED_MARK)


@pytest.mark.parametrize(
    ("noun", "said"),
    [
        ("Application", "an Application"),
        ("Job", "a Job"),
        ("User", "a User"),
        ("Hour", "an Hour"),
        ("Item", "an Item"),
        ("SMS", "an SMS"),
        ("URL", "a URL"),
        ("European", "a European"),
        ("OneTimeCode", "a OneTimeCode"),
        ("8Ball", "an 8Ball"),
        ("task_run", "a task_run"),
    ],
)
def test_an_article_by_sound(noun: str, said: str) -> None:
    from jobhunter_compiler.emit.naming import with_article

    assert with_article(noun) == said


def test_unreachable_database_exits_1_with_a_clear_message(run: Run) -> None:
    from jobhunter_compiler.devserver.embedded_mongo import free_port

    url = f"mongodb://127.0.0.1:{free_port()}"
    refused(run("ops", "create_test_item", "--name", "x", MONGODB_URL=url), 1, url, "MONGODB_URL")


def test_an_unreachable_database_is_given_up_after_2_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client a command connects with waits 2 s for a server (the driver's default is
    30; it was 5): the setting is checked, not the time it took, which a loaded machine
    stretches."""
    import asyncio

    import pymongo
    import typer

    from jobhunter_compiler.devserver.embedded_mongo import free_port
    from jobhunter_runtime.cli import Database, connected

    clients: list[Any] = []

    class RecordedClient(pymongo.AsyncMongoClient):  # type: ignore[type-arg]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    monkeypatch.setattr(pymongo, "AsyncMongoClient", RecordedClient)
    monkeypatch.setenv("MONGODB_URL", f"mongodb://127.0.0.1:{free_port()}")
    database = Database("unreachable", "jobhunter_runtime.taskrun:RUNTIME_DOCUMENT_MODELS", 30)

    async def connect() -> None:
        async with connected(database):
            raise AssertionError("connected to a port nothing listens on")

    with pytest.raises(typer.Exit):
        asyncio.run(connect())
    assert [client.options.server_selection_timeout for client in clients] == [2.0]


def test_without_mongodb_url_commands_use_the_database_jobhunter_run_serves(
    run: Run, demo: Path, mongo_url: str
) -> None:
    from jobhunter_compiler.devserver.embedded_mongo import free_port

    served = demo / ".jobhunter_cache" / "mongodb_url"
    served.parent.mkdir(exist_ok=True)
    served.write_text(mongo_url, encoding="utf-8")
    try:
        created = ok(run("models", "create", "Job", "--title", "Served", "--company", "Run"))
        # from a folder of the project, the file is found too
        listed = ok(run("models", "list", "Job", "--json", cwd=demo / "models", MONGODB_URL=""))
        assert created["id"] in [job["id"] for job in listed]
        stale = f"mongodb://127.0.0.1:{free_port()}"
        served.write_text(stale, encoding="utf-8")
        done = run("models", "list", "Job", MONGODB_URL="")
        refused(done, 1, stale, "`jobhunter run` left that URL in .jobhunter_cache/mongodb_url")
    finally:
        served.unlink()


# --------------------------------------------------------------------------- models


def test_model_verbs_round_trip(run: Run, db: Any) -> None:
    created = ok(
        run("models", "create", "Job", "--title", "Data Engineer", "--company", "Initech",
            "--skills", "sql", "--skills", "python", "--salary-max", "70000")
    )  # fmt: skip
    job_id = created["id"]
    assert created["skills"] == ["sql", "python"] and created["status"] == "open"
    assert db.jobs.count_documents({}) == 1

    table = run("models", "list", "Job")
    assert table.returncode == 0 and job_id in table.stdout and "Data Engineer" in table.stdout
    assert "Job: 1-1 of 1" in table.stderr

    shown = run("models", "get", "Job", job_id)
    assert shown.returncode == 0 and "Initech" in shown.stdout
    assert ok(run("models", "get", "Job", job_id, "--json"))["salary_max"] == 70000

    updated = ok(
        run("models", "update", "Job", job_id, "--status", "closed",
            "--json", '{"salary_min": 50000}')
    )  # fmt: skip
    assert (updated["status"], updated["salary_min"], updated["title"]) == (
        "closed",
        50000,
        "Data Engineer",
    )
    assert db.jobs.find_one()["status"] == "closed"

    deleted = ok(run("models", "delete", "Job", job_id, "--yes"))
    assert deleted["id"] == job_id and db.jobs.count_documents({}) == 0
    refused(run("models", "get", "Job", job_id), 1, f"Job {job_id} not found")


def test_soft_delete_then_restore(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], db: Any
) -> None:
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "soft_delete",
        tmp_path_factory.mktemp("cli") / "soft_delete",
    )
    assert compile_project(project).ok

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [JOBHUNTER, *args], cwd=project, env=env, capture_output=True, text=True,
            timeout=TIMEOUT_S,
        )  # fmt: skip

    draft_id = ok(run("models", "create", "Draft", "--title", "Plan"))["id"]
    assert ok(run("models", "delete", "Draft", draft_id, "--yes"))["deleted_at"] is not None
    assert db.drafts.count_documents({}) == 1, "a soft delete keeps the record"
    assert ok(run("models", "list", "Draft", "--json")) == []
    only = ok(run("models", "list", "Draft", "--filter", "_deleted=only", "--json"))
    assert [r["id"] for r in only] == [draft_id]
    refused(run("models", "list", "Draft", "--filter", "_deleted=all"), 2, "_deleted")
    refused(run("models", "get", "Draft", draft_id), 1, "not found")

    restored = ok(run("models", "restore", "Draft", draft_id))
    assert restored["id"] == draft_id and restored["deleted_at"] is None
    assert [r["id"] for r in ok(run("models", "list", "Draft", "--json"))] == [draft_id]
    refused(run("models", "restore", "Draft", "0" * 24), 1, "not found")


def test_a_link_to_any_document_is_a_json_option(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], db: Any
) -> None:
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "document_links",
        tmp_path_factory.mktemp("cli") / "document_links",
    )
    assert compile_project(project).ok

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [JOBHUNTER, *args], cwd=project, env=env, capture_output=True, text=True,
            timeout=TIMEOUT_S,
        )  # fmt: skip

    note_id = ok(run("models", "create", "Note", "--text", "read me"))["id"]
    photo_id = ok(run("models", "create", "Photo", "--caption", "sunset"))["id"]
    to_note = {"id": note_id, "collection": "notes"}
    to_photo = {"id": photo_id, "collection": "Photo"}
    created = ok(
        run(
            "models", "create", "Bookmark", "--title", "both",
            "--target", json.dumps(to_note), "--related", json.dumps(to_photo),
        )
    )  # fmt: skip
    assert (created["target"], created["related"]) == (to_note, [to_photo])
    assert db.Bookmark.find_one()["target"].collection == "notes"
    updated = ok(
        run("models", "update", "Bookmark", created["id"], "--backup", json.dumps(to_photo))
    )
    assert updated["backup"] == to_photo
    assert ok(run("models", "get", "Bookmark", created["id"], "--json"))["backup"] == to_photo
    gone = {"id": "0" * 24, "collection": "notes"}
    refused(
        run("models", "create", "Bookmark", "--title", "x", "--target", json.dumps(gone)),
        2,
        "no record with the given id in collection notes",
    )


def test_options_send_the_key_the_model_validates_and_tables_read_the_one_it_dumps(
    tmp_path_factory: pytest.TempPathFactory, env: dict[str, str], db: Any
) -> None:
    """`summary` validates as `abstract` and dumps as `synopsis`; Invoice validates in
    camelCase and dumps in PascalCase."""
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "aliases",
        tmp_path_factory.mktemp("cli") / "aliases",
    )
    assert compile_project(project).ok

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [JOBHUNTER, *args], cwd=project, env=env, capture_output=True, text=True,
            timeout=TIMEOUT_S,
        )  # fmt: skip

    note = ok(run("models", "create", "Note", "--body-text", "hi", "--page-ref", "7",
                  "--summary", "short"))  # fmt: skip
    assert (note["body"], note["page_ref"], note["synopsis"]) == ("hi", 7, "short")
    assert db.Note.find_one()["summary"] == "short"
    updated = ok(run("models", "update", "Note", note["id"], "--summary", "shorter"))
    assert updated["synopsis"] == "shorter"
    table = run("models", "list", "Note")
    assert table.returncode == 0, table.stderr
    assert "synopsis" in table.stdout and "shorter" in table.stdout

    invoice = ok(run("models", "create", "Invoice", "--invoice-number", "A-7"))
    assert invoice["InvoiceNumber"] == "A-7"
    table = run("models", "list", "Invoice", "--filter", "invoice_number=A-7")
    assert table.returncode == 0, table.stderr
    assert "InvoiceNumber" in table.stdout and "A-7" in table.stdout


def test_list_filters_sorts_and_pages(run: Run) -> None:
    for name, value in (("bravo", 5), ("alpha", 20), ("charlie", 10)):
        ok(run("models", "create", "TestItem", "--name", name, "--value", str(value)))

    def names(*args: str) -> list[str]:
        return [r["name"] for r in ok(run("models", "list", "TestItem", "--json", *args))]

    assert names("--sort", "name") == ["alpha", "bravo", "charlie"]
    assert names("--sort", "-value") == ["alpha", "charlie", "bravo"]
    assert names("--sort", "name", "--limit", "2") == ["alpha", "bravo"]
    assert names("--sort", "name", "--offset", "2") == ["charlie"]
    assert names("--filter", "value_gte=10", "--sort", "name") == ["alpha", "charlie"]
    assert names("-f", "name_like=rav") == ["bravo"]
    assert names("-q", "charl") == ["charlie"]
    page = run("models", "list", "TestItem", "--sort", "name", "--limit", "2")
    assert "TestItem: 1-2 of 3" in page.stderr
    assert page.stdout.index("alpha") < page.stdout.index("bravo")
    assert "charlie" not in page.stdout


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["get", "Job", "not-an-id"], 2, "not a valid Job id"),
        (["list", "Job", "--filter", "bogus=1"], 2, "unknown query parameter 'bogus'"),
        (["list", "Job", "--filter", "title"], 2, "is not FIELD=VALUE"),
        (["list", "Job", "--sort", "-nope"], 2, "'--sort'"),
        (["list", "TestItem", "--filter", "value=many"], 2, "'--filter'"),
        (["update", "Job", "0" * 24], 2, "nothing to change"),
        (["update", "Job", "0" * 24, "--title", "New title"], 1, "not found"),
        (["create", "Job", "--title", "x"], 2, "'--title'"),
        (["create", "Job", "--title", "Engineer"], 2, "'--company': a value is required"),
        (
            ["create", "Application", "--applicant-name", "A", "--email", "a@b.co",
             "--job", "0" * 24],
            2,
            "'--job': no Job with the given id",
        ),
        (["delete", "Job", "0" * 24, "--yes"], 1, "not found"),
        (["list", "Nope"], 2, "Nope"),
    ],
    ids=[
        "malformed-id",
        "unknown-filter",
        "filter-without-value",
        "unknown-sort",
        "filter-value-of-wrong-type",
        "update-nothing",
        "update-missing",
        "create-constraint",
        "create-missing-field",
        "create-link-to-nothing",
        "delete-missing",
        "unknown-model",
    ],
)  # fmt: skip
def test_model_verb_errors(run: Run, args: list[str], code: int, fragment: str) -> None:
    refused(run("models", *args), code, fragment)


def test_delete_asks_first_and_keeps_the_record_without_a_yes(run: Run, db: Any) -> None:
    job = ok(run("models", "create", "Job", "--title", "Keeper", "--company", "Acme"))
    refused(run("models", "delete", "Job", job["id"], stdin=""), 1)
    refused(run("models", "delete", "Job", job["id"], stdin="n\n"), 1)
    assert db.jobs.count_documents({}) == 1
    assert ok(run("models", "delete", "Job", job["id"], stdin="y\n"))["id"] == job["id"]
    assert db.jobs.count_documents({}) == 0


@pytest.mark.parametrize(
    ("id_text", "code", "fragment"),
    [("not-an-id", 2, "not a valid Job id"), ("0" * 24, 1, "not found")],
    ids=["malformed", "missing"],
)
def test_delete_says_a_bad_id_before_asking(
    run: Run, id_text: str, code: int, fragment: str
) -> None:
    answer = run("models", "delete", "Job", id_text, stdin="y\n")
    refused(answer, code, fragment)
    assert "Delete Job" not in answer.stderr


# --------------------------------------------------------------------------- finding the CLI


def test_outside_a_project_it_says_what_to_do(run: Run, tmp_path: Path) -> None:
    refused(run("ops", cwd=tmp_path), 1, "not inside a jobhunter project", "jobhunter init")


def test_before_the_first_compile_it_says_to_compile(run: Run, tmp_path: Path) -> None:
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "demo_project", tmp_path / "p"
    )
    refused(run("models", "list", "Job", cwd=project), 1, "run `jobhunter compile`")


def test_users_outside_auth_users_says_how_to_turn_it_on(run: Run, demo: Path) -> None:
    refused(run("users", "list", cwd=demo), 1, "api.auth is 'none'", "set it to `users`")
    refused(run("login", cwd=demo), 1, "no sign-in: api.auth is 'none'", "set it to `users`")


def test_help_says_the_commands_work_on_the_database(run: Run, demo: Path) -> None:
    """Without `auth: users` the CLI works on the database itself, and has no `login`."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--help"],
        cwd=demo / ".run_cache",
        env={**with_source_roots(demo), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    assert "straight from its database" in done.stdout
    assert "login" not in done.stdout


def test_it_finds_the_project_from_a_subfolder(run: Run, demo: Path) -> None:
    done = run("ops", "create_test_item", "--name", "from-below", cwd=demo / "models")
    assert ok(done)["name"] == "from-below"
    assert "warning" not in done.stderr


def test_stale_output_warns_but_runs(run: Run, tmp_path: Path) -> None:
    project = copy_project(
        Path(__file__).parent.parent / "fixtures" / "demo_project", tmp_path / "p"
    )
    assert compile_project(project).ok
    model = project / "models" / "test_item.py"
    model.write_text(model.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    done = run("ops", "create_test_item", "--name", "stale", cwd=project)
    assert ok(done)["name"] == "stale"
    assert "older than the sources" in done.stderr and "jobhunter compile" in done.stderr


def test_python_m_cli_from_the_output_folder(demo: Path, env: dict[str, str], db: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "ops", "create_test_item", "--name", "via-module"],
        cwd=demo / ".run_cache",
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert ok(done)["name"] == "via-module"
    assert db.task_runs.find_one()["actor"]["channel"] == "cli"


# --------------------------------------------------------------------------- every fixture

HELP_SCRIPT = textwrap.dedent("""
    import contextlib
    import io
    import sys

    from cli.app import app

    def leaves(command, path):
        children = getattr(command, "commands", None)
        if not children:
            yield path
            return
        for name, child in children.items():
            yield from leaves(child, [*path, name])

    failures = []
    count = 0
    for path in leaves(app, []):
        count += 1
        shown = io.StringIO()
        try:
            with contextlib.redirect_stdout(shown):
                code = app.main(args=[*path, "--help"], prog_name="jh", standalone_mode=False)
        except Exception as exc:
            failures.append((path, repr(exc)))
            continue
        if code != 0 or "Usage:" not in shown.getvalue():
            failures.append((path, code, shown.getvalue()[-300:]))
    print(count)
    if failures:
        print(failures, file=sys.stderr)
        sys.exit(1)
    """)


@pytest.mark.parametrize("source", [*oracle_projects(), NEVER_IMPORT_FIXTURE], ids=lambda p: p.name)
def test_help_of_every_command_of_every_fixture(source: Path, tmp_path: Path) -> None:
    project = copy_project(source, tmp_path / source.name)
    result = compile_project(project)
    assert result.ok and result.ir is not None
    done = subprocess.run(
        [sys.executable, "-c", HELP_SCRIPT],
        cwd=project / ".run_cache",
        env=with_source_roots(project),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ir = result.ir
    # An `ops` group without operations is a leaf itself; soft-delete models add `restore`;
    # and `db check`.
    restorable = sum(m.soft_delete for m in ir.models)
    assert int(done.stdout) == (len(ir.operations) or 1) + 5 * len(ir.models) + restorable + 1


# --------------------------------------------------------------------------- option kinds


@pytest.mark.parametrize(
    ("type_ref", "expected"),
    [
        (TypeRef(kind="int"), ("int", False)),
        (TypeRef(kind="bool", nullable=True), ("bool", False)),
        (TypeRef(kind="datetime"), ("str", False)),
        (TypeRef(kind="literal", values=["a", "b"]), ('Literal["a", "b"]', False)),
        (TypeRef(kind="literal", values=[1, 2]), ("Literal[1, 2]", False)),
        (TypeRef(kind="literal", values=[1, "a"]), ("str", True)),
        (TypeRef(kind="list", args=[TypeRef(kind="float")]), ("list[float]", False)),
        (TypeRef(kind="list", args=[TypeRef(kind="dict")]), ("list[str]", True)),
        (TypeRef(kind="list", args=[TypeRef(kind="bool")]), ("list[str]", True)),
        (TypeRef(kind="list", args=[TypeRef(kind="literal", values=["a"])]), ("list[str]", False)),
        (TypeRef(kind="set", args=[TypeRef(kind="literal", values=[1])]), ("list[int]", False)),
        (TypeRef(kind="dict", args=[TypeRef(kind="str"), TypeRef(kind="int")]), ("str", True)),
        (TypeRef(kind="schema", ref="m.Address"), ("str", True)),
        (TypeRef(kind="union", args=[TypeRef(kind="int"), TypeRef(kind="str")]), ("str", True)),
        (TypeRef(kind="link", ref="Job"), ("str", False)),
        (TypeRef(kind="secret_str"), ("str", False)),
        (TypeRef(kind="ipv6_address", nullable=True), ("str", False)),
        (TypeRef(kind="set", args=[TypeRef(kind="path")]), ("list[str]", False)),
        (TypeRef(kind="list", args=[TypeRef(kind="link", ref="Job")]), ("list[str]", False)),
    ],
    ids=lambda value: value.kind if isinstance(value, TypeRef) else None,
)
def test_option_type_per_field_kind(type_ref: TypeRef, expected: tuple[str, bool]) -> None:
    assert _option_type(type_ref, ProjectIR(project="p"), Imports()) == expected


# --------------------------------------------------------------------------- in-process


def test_jobhunter_ops_outside_a_project_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from jobhunter_compiler.commands.main import app

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["models", "list", "Job"])
    assert result.exit_code == 1
    assert "not inside a jobhunter project" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_find_project_walks_up_to_the_config(tmp_path: Path) -> None:
    from jobhunter_compiler.commands.project_commands import find_project

    (tmp_path / ".jobhunter.yml").write_text("project: p\n", encoding="utf-8")
    nested = tmp_path / "operations" / "deep"
    nested.mkdir(parents=True)
    assert find_project(nested) == tmp_path.resolve()
    bare = tmp_path.parent / f"{tmp_path.name}-bare"
    (bare / "models").mkdir(parents=True)
    assert find_project(bare) == bare.resolve()
    assert find_project(bare / "models") is None


def test_an_operation_reporting_progress_draws_a_bar_as_it_runs(run: Run, db: Any) -> None:
    done = run("ops", "count_up", "--steps", "3", "--pause-s", "0.05")
    assert ok(done) == {"ok": True}
    assert "step 3 of 3" in done.stderr and "100%" in done.stderr, done.stderr
    task_run = db.task_runs.find_one({"operation_name": "count_up"})
    assert (task_run["progress"], task_run["progress_message"]) == (1.0, "step 3 of 3")
    # an operation that reports no progress draws no bar
    assert "%" not in run("ops", "refuse", "--message", "no").stderr
