"""What deleting a linked-to record does, per link (`ui.on_delete`), through the generated
API and the generated CLI alike, on the `library` fixture: Book.author is `protect` (the
default), Loan.book `cascade`, Book.editor and Book.co_authors `set_null`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_server import ApiServer, with_source_roots
from conftest import FIXTURES, compile_copy, copy_project

from jobhunter_compiler.pipeline import compile_project

JOBHUNTER = str(Path(sys.executable).parent / "jobhunter")
TIMEOUT_S = 60


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(FIXTURES / "library", tmp_path_factory.mktemp("relations") / "lib")
    assert compile_project(project).ok
    return project


@pytest.fixture
def api(library: Path, mongo_url: str, mongo_db_name: str) -> Iterator[httpx.Client]:
    with (
        ApiServer(library, mongo_url, mongo_db_name) as server,
        httpx.Client(base_url=f"{server.url}/api/models", timeout=20) as client,
    ):
        yield client
        print(server.log())  # shown when a test fails: the traceback of a 500


def _create(api: httpx.Client, model: str, **body: Any) -> str:
    response = api.post(f"/{model}/", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_protected_record_is_not_deleted_and_the_409_says_why(api: httpx.Client) -> None:
    author = _create(api, "Author", name="Le Guin")
    _create(api, "Book", title="The Dispossessed", author=author)
    _create(api, "Book", title="The Lathe of Heaven", author=author)
    refused = api.delete(f"/Author/{author}")
    assert refused.status_code == 409, refused.text
    assert refused.json()["detail"] == (
        f"Author {author} cannot be deleted: 2 Book records link to it (Book.author)"
    )
    assert api.get(f"/Author/{author}").status_code == 200
    references = api.get(f"/Author/{author}/references").json()
    assert references == [
        {"model": "Book", "field": "author", "rule": "protect", "count": 2},
        {"model": "Book", "field": "editor", "rule": "set_null", "count": 0},
        {"model": "Book", "field": "co_authors", "rule": "set_null", "count": 0},
    ]
    assert api.get(f"/Author/{'0' * 24}/references").status_code == 404


def test_cascade_deletes_the_linking_records(api: httpx.Client) -> None:
    author = _create(api, "Author", name="Calvino")
    book = _create(api, "Book", title="Invisible Cities", author=author)
    other = _create(api, "Book", title="Cosmicomics", author=author)
    loans = [_create(api, "Loan", reader=reader, book=book) for reader in ("ann", "bo")]
    kept = _create(api, "Loan", reader="cy", book=other)
    assert api.get(f"/Book/{book}/references").json() == [
        {"model": "Loan", "field": "book", "rule": "cascade", "count": 2}
    ]
    assert api.delete(f"/Book/{book}").status_code == 200
    assert [api.get(f"/Loan/{loan}").status_code for loan in loans] == [404, 404]
    assert api.get(f"/Loan/{kept}").status_code == 200


def test_set_null_clears_a_link_and_takes_the_id_out_of_a_list(api: httpx.Client) -> None:
    author = _create(api, "Author", name="Borges")
    editor = _create(api, "Author", name="Bioy Casares")
    other = _create(api, "Author", name="Ocampo")
    book = _create(
        api,
        "Book",
        title="Antología",
        author=author,
        editor=editor,
        co_authors=[editor, other],
    )
    assert api.delete(f"/Author/{editor}").status_code == 200
    stored = api.get(f"/Book/{book}").json()
    assert stored["editor"] is None
    assert stored["co_authors"] == [other]
    assert stored["author"] == author


def test_a_protect_behind_a_cascade_refuses_the_whole_delete(
    library: Path, tmp_path: Path, mongo_url: str, mongo_db_name: str
) -> None:
    """A Review protects its Loan, which a Book's delete would cascade to: nothing is
    deleted, and the 409 names the Loan."""
    project = copy_project(library, tmp_path / "lib")
    models = project / "models" / "library.py"
    models.write_text(
        models.read_text(encoding="utf-8")
        + "\n\n@datamodel()\nclass Review(Document):\n    loan: Link[Loan]\n",
        encoding="utf-8",
    )
    assert compile_project(project).ok
    with (
        ApiServer(project, mongo_url, mongo_db_name) as server,
        httpx.Client(base_url=f"{server.url}/api/models", timeout=20) as api,
    ):
        author = _create(api, "Author", name="Eco")
        book = _create(api, "Book", title="Baudolino", author=author)
        loan = _create(api, "Loan", reader="di", book=book)
        _create(api, "Review", loan=loan)
        refused = api.delete(f"/Book/{book}")
        assert refused.status_code == 409, refused.text
        assert refused.json()["detail"] == (
            f"Book {book} cannot be deleted: "
            "1 Review record links to a Loan it would delete (Review.loan)"
        )
        assert api.get(f"/Loan/{loan}").status_code == 200


def test_set_null_on_a_required_link_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "source"
    copy_project(FIXTURES / "library", source)
    models = source / "models" / "library.py"
    text = models.read_text(encoding="utf-8")
    text = text.replace('"on_delete": {"book": "cascade"}', '"on_delete": {"book": "set_null"}')
    text = text.replace('"on_delete": {"editor"', '"on_delete": {"title": "cascade", "editor"')
    models.write_text(text, encoding="utf-8")
    _, result = compile_copy(source, tmp_path / "copy")
    found = {d.code: d.message for d in result.diagnostics}
    assert not result.ok
    assert "required link" in found["JH221"] and "Loan.book" in found["JH221"]
    assert "'title', which is no link" in found["JH220"]


def test_cli_delete_of_a_protected_record_exits_1_with_the_reason(
    library: Path, api: httpx.Client, mongo_url: str, mongo_db_name: str
) -> None:
    author = _create(api, "Author", name="Lem")
    _create(api, "Book", title="Solaris", author=author)
    done = subprocess.run(
        [JOBHUNTER, "models", "delete", "Author", author, "--yes"],
        cwd=library,
        env={
            **with_source_roots(library, os.environ),
            "MONGODB_URL": mongo_url,
            "MONGODB_DB": mongo_db_name,
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    assert "1 Book record links to it (Book.author)" in " ".join(done.stderr.split())
    assert api.get(f"/Author/{author}").status_code == 200


def test_links_to_naming_no_model_or_on_no_id_is_a_warning(tmp_path: Path) -> None:
    source = tmp_path / "source"
    copy_project(FIXTURES / "library", source)
    lending = source / "operations" / "lending.py"
    text = lending.read_text(encoding="utf-8")
    text = text.replace('{"links_to": "Book"}', '{"links_to": "Bok"}')
    text = text.replace(
        "reader: str = Field(min_length=1)",
        "reader: int = Field(json_schema_extra={'links_to': 'Loan'})",
    )
    lending.write_text(text, encoding="utf-8")
    _, result = compile_copy(source, tmp_path / "copy")
    messages = sorted(d.message for d in result.diagnostics if d.code == "JH222")
    assert result.ok
    assert messages == [
        "links_to of field 'book_id': 'Bok' is not a model",
        "links_to of field 'reader': `int` holds no record id (str or PydanticObjectId)",
    ]
