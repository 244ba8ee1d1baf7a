"""A field type that needs a package pydantic does not install (EmailStr needs
email-validator): the generated requirements include it, a compile in an environment
without it warns at the field (JH210), and `jobhunter run` says so in one line instead of
a 180-line traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobhunter_compiler.devserver.embedded_mongo import free_port
from jobhunter_compiler.emit.pins import version_of
from jobhunter_compiler.pipeline import compile_project

JOBHUNTER = str(Path(sys.executable).parent / "jobhunter")
CONTACT = """from beanie import Document
from pydantic import EmailStr

from jobhunter_compiler import datamodel


@datamodel()
class Contact(Document):
    name: str
    emails: list[{email}]
"""
PIN = f"email-validator=={version_of('email-validator')}"


def contacts_project(folder: Path, email: str = "EmailStr") -> Path:
    (folder / "models").mkdir(parents=True)
    (folder / ".jobhunter.yml").write_text("project: contacts\n")
    (folder / "models" / "__init__.py").write_text("")
    (folder / "models" / "contact.py").write_text(CONTACT.format(email=email))
    return folder


def requirements(project: Path) -> list[str]:
    return (project / ".run_cache" / "requirements.txt").read_text().splitlines()


def test_the_generated_requirements_include_what_field_types_need(tmp_path: Path) -> None:
    with_email = contacts_project(tmp_path / "email")
    without = contacts_project(tmp_path / "plain", email="str")
    assert compile_project(with_email).ok and compile_project(without).ok
    assert PIN in requirements(with_email)
    assert PIN not in requirements(without)


def test_a_missing_package_is_a_warning_at_the_field_that_no_later_compile_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = contacts_project(tmp_path / "project")
    monkeypatch.setitem(sys.modules, "email_validator", None)  # as if not installed
    result = compile_project(project)
    assert result.ok
    [warning] = result.diagnostics
    assert (warning.code, warning.path, warning.line) == ("JH210", "models/contact.py", 10)
    assert "email-validator" in warning.message
    monkeypatch.delitem(sys.modules, "email_validator")  # installed since
    again = compile_project(project)
    assert again.up_to_date and again.diagnostics == []


def test_run_without_the_package_says_so_in_one_line(tmp_path: Path) -> None:
    project = contacts_project(tmp_path / "project")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text('import sys\nsys.modules["email_validator"] = None\n')
    # A database URL keeps the embedded MongoDB out of it: the app fails at import.
    env = {**os.environ, "PYTHONPATH": str(site), "MONGODB_URL": "mongodb://127.0.0.1:9"}
    done = subprocess.run(
        [JOBHUNTER, "run", "--port", str(free_port())],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error.endswith(
        f"needs email-validator, which is not installed here: pip install '{PIN}'"
    )
