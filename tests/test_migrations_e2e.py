"""Schema evolution end to end on a real server (nx-27017 by default): documents written
under model v1; v2 renames a field; `migrate check` fails; `migrate new` writes the
migration; `migrate up` moves every value; `db check` is clean; the API lists the renamed
field with the old values; `migrate down` restores them; a document made invalid by hand
makes `db check` exit 1 naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_server import ApiServer
from pymongo import MongoClient

pytestmark = pytest.mark.slow

V1 = """\
from beanie import Document
from pydantic import Field

from jobhunter_compiler import datamodel


@datamodel(name="Contact")
class Contact(Document):
    name: str = Field(min_length=1)
    email: str

    class Settings:
        name = "contacts"
"""
V2 = V1.replace("    name: str = Field", "    full_name: str = Field")
PEOPLE = ["Ada Lovelace", "Grace Hopper", "Alan Turing"]


def jobhunter(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `jobhunter` command as a user runs it, in the project's folder (`db check`
    imports the project's own modules: a process of its own keeps them out of this one)."""
    return subprocess.run(
        [sys.executable, "-m", "jobhunter_compiler", *args],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_renamed_field_migrates_up_and_down(
    tmp_path: Path, mongo_url: str, mongo_db_name: str
) -> None:
    project = tmp_path / "contacts"
    (project / "models").mkdir(parents=True)
    (project / ".jobhunter.yml").write_text("project: contacts\n", encoding="utf-8")
    (project / "models" / "contact.py").write_text(V1, encoding="utf-8")
    env = {"MONGODB_URL": mongo_url, "MONGODB_DB": mongo_db_name}
    assert jobhunter(project, env, "migrate", "new", "initial").returncode == 0
    with MongoClient(mongo_url) as client:
        contacts = client[mongo_db_name]["contacts"]
        contacts.insert_many(
            [{"name": name, "email": f"{name.split()[0].lower()}@example.com"} for name in PEOPLE]
        )

        (project / "models" / "contact.py").write_text(V2, encoding="utf-8")
        compiled = jobhunter(project, env, "compile")
        assert compiled.returncode == 0, compiled.stderr
        assert "JH403" in compiled.stderr and "Contact.name" in compiled.stderr
        before = jobhunter(project, env, "db", "check")
        assert before.returncode == 1, before.stdout + before.stderr
        assert "full_name: Field required" in before.stdout
        checked = jobhunter(project, env, "migrate", "check")
        assert checked.returncode == 1, checked.stderr
        written = jobhunter(project, env, "migrate", "new", "rename_name")
        assert written.returncode == 0, written.stderr
        assert jobhunter(project, env, "migrate", "check").returncode == 0

        up = jobhunter(project, env, "migrate", "up")
        assert up.returncode == 0, up.stderr
        assert "applied 1 migration(s)" in up.stdout
        assert "without a transaction" in up.stderr  # nx-27017 is no replica set
        stored = list(contacts.find({}, {"_id": 0}))
        assert sorted(doc["full_name"] for doc in stored) == sorted(PEOPLE)
        assert not any("name" in doc for doc in stored)
        clean = jobhunter(project, env, "db", "check")
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert f"all {len(PEOPLE)} documents load" in clean.stderr

        with ApiServer(project, mongo_url, mongo_db_name) as server:
            listed = httpx.get(f"{server.url}/api/models/Contact/", timeout=10)
        assert listed.status_code == 200, listed.text
        assert sorted(item["full_name"] for item in listed.json()) == sorted(PEOPLE)

        down = jobhunter(project, env, "migrate", "down")
        assert down.returncode == 0, down.stderr
        assert "current: none" in down.stdout
        assert sorted(doc["name"] for doc in contacts.find({})) == sorted(PEOPLE)
        assert contacts.count_documents({"full_name": {"$exists": True}}) == 0

        assert jobhunter(project, env, "migrate", "up").returncode == 0
        broken = contacts.insert_one({"full_name": "", "email": "nobody@example.com"})
        failed = jobhunter(project, env, "db", "check", "--json")
        assert failed.returncode == 1, failed.stderr
        assert str(broken.inserted_id) in failed.stdout
        assert "full_name: String should have at least 1 character" in failed.stdout


def test_unreachable_database_and_broken_migrations_are_reported(tmp_path: Path) -> None:
    project = tmp_path / "contacts"
    (project / "models").mkdir(parents=True)
    (project / "models" / "contact.py").write_text(V1, encoding="utf-8")
    (project / "migrations").mkdir()
    env = {"MONGODB_URL": "mongodb://127.0.0.1:9", "MONGODB_DB": "nothing"}
    unreachable = jobhunter(project, env, "migrate", "up")
    assert unreachable.returncode == 1
    assert "cannot reach MongoDB at mongodb://127.0.0.1:9" in unreachable.stderr
    (project / "migrations" / "20260101000000_broken.py").write_text("def f(:\n", "utf-8")
    broken = jobhunter(project, env, "migrate", "up")
    assert broken.returncode == 1
    assert "migrations/20260101000000_broken.py:1: syntax error" in broken.stderr
    assert "Traceback" not in broken.stderr + unreachable.stderr


def test_a_conversion_and_a_backfill_run_both_ways(
    tmp_path: Path, mongo_url: str, mongo_db_name: str
) -> None:
    project = tmp_path / "contacts"
    (project / "models").mkdir(parents=True)
    source = V1.replace("    email: str\n", "    email: str\n    visits: int = 0\n")
    (project / "models" / "contact.py").write_text(source, encoding="utf-8")
    env = {"MONGODB_URL": mongo_url, "MONGODB_DB": mongo_db_name}
    assert jobhunter(project, env, "migrate", "new", "initial").returncode == 0
    with MongoClient(mongo_url) as client:
        contacts = client[mongo_db_name]["contacts"]
        contacts.insert_many([{"name": "Ada", "email": "a@x", "visits": 3}, {"name": "Bo"}])
        source = source.replace("visits: int = 0", "visits: float = 0\n    tier: str = 'basic'")
        (project / "models" / "contact.py").write_text(source, encoding="utf-8")
        written = jobhunter(project, env, "migrate", "new", "visits_and_tier")
        assert written.returncode == 0, written.stderr
        assert "only you can write" not in written.stderr

        assert jobhunter(project, env, "migrate", "up").returncode == 0
        stored = {doc["name"]: doc for doc in contacts.find({})}
        assert type(stored["Ada"]["visits"]) is float and stored["Ada"]["visits"] == 3.0
        assert "visits" not in stored["Bo"]  # only stored values convert
        assert {doc["tier"] for doc in stored.values()} == {"basic"}

        assert jobhunter(project, env, "migrate", "down").returncode == 0
        stored = {doc["name"]: doc for doc in contacts.find({})}
        assert type(stored["Ada"]["visits"]) is int and stored["Ada"]["visits"] == 3
        assert not any("tier" in doc for doc in stored.values())
