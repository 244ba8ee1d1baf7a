"""A delete that follows `cascade` and `set_null` links, interrupted or raced, on a real
MongoDB wire-protocol server (nx-27017; `mongo:7` through testcontainers where Docker
runs): `ModelRecords.delete_record`'s guarantees, in process.

A Book's loans go with it (`cascade`), and each loan's reminders with the loan; its notes
too, which are only marked deleted (soft delete); a shelf that features the book or holds
it loses it (`set_null`, a single link and a list); a review keeps its book (`protect`).
Every write the delete makes is counted; a test makes the n-th one fail (or lets another
writer in just before it) for every n.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from beanie import Document, DocumentWithSoftDelete, Link
from pymongo.asynchronous.collection import AsyncCollection

from jobhunter_runtime.listing import ListSpec
from jobhunter_runtime.records import (
    LinkField,
    ModelRecords,
    Pagination,
    RecordReferenced,
    Referrer,
)

pytestmark = pytest.mark.anyio

WRITES = (
    "update_one",
    "update_many",
    "replace_one",
    "find_one_and_update",
    "delete_one",
    "delete_many",
)
"""The collection methods a delete writes through (Beanie's deletes included)."""


class Book(Document):
    title: str


class Loan(Document):
    reader: str
    book: Link[Book]


class Reminder(Document):
    note: str
    loan: Link[Loan]


class Note(DocumentWithSoftDelete):
    text: str
    book: Link[Book]


class Shelf(Document):
    name: str
    featured: Link[Book] | None = None
    books: list[Link[Book]] = []


class Review(Document):
    stars: int
    book: Link[Book]


DOCUMENTS: list[type[Document]] = [Book, Loan, Reminder, Note, Shelf, Review]
PAGINATION = Pagination(max_page_size=100, default_page_size=25, max_list_bytes=1 << 20)


def _records(
    document: type[Document],
    links: dict[str, LinkField] | None = None,
    referrers: tuple[Referrer, ...] = (),
    soft_delete: bool = False,
) -> ModelRecords:
    """The model's records, registered as a module's `RESOURCE` as the generated routes
    are, for the `Referrer`s naming it."""
    records = ModelRecords(
        name=document.__name__,
        document=document,
        list_spec=ListSpec(fields=(), soft_delete=soft_delete),
        pagination=PAGINATION,
        links=links or {},
        referrers=referrers,
    )
    module = types.ModuleType(f"delete_interrupted_{document.__name__.lower()}")
    module.RESOURCE = records  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return records


def _module(name: str) -> str:
    return f"delete_interrupted_{name.lower()}"


BOOKS = _records(
    Book,
    referrers=(
        Referrer("Loan", "book", "cascade", _module("Loan")),
        Referrer("Note", "book", "cascade", _module("Note")),
        Referrer("Shelf", "featured", "set_null", _module("Shelf")),
        Referrer("Shelf", "books", "set_null", _module("Shelf"), many=True),
        Referrer("Review", "book", "protect", _module("Review")),
    ),
)
LOANS = _records(
    Loan,
    links={"book": LinkField(Book)},
    referrers=(Referrer("Reminder", "loan", "cascade", _module("Reminder")),),
)
REMINDERS = _records(Reminder, links={"loan": LinkField(Loan)})
NOTES = _records(Note, links={"book": LinkField(Book)}, soft_delete=True)
SHELVES = _records(Shelf, links={"featured": LinkField(Book), "books": LinkField(Book, many=True)})
REVIEWS = _records(Review, links={"book": LinkField(Book)})


@pytest.fixture
def document_models() -> list[Any]:
    return list(DOCUMENTS)


@dataclass
class Library:
    book: Book
    other: Book
    shelf: Shelf


async def a_library() -> Library:
    """A book with two loans (each with a reminder) and a note, on a shelf that features
    it and holds it beside another book; every collection emptied first."""
    for document in DOCUMENTS:
        await document.get_pymongo_collection().delete_many({})
    book = await Book(title="Moominland").insert()
    other = await Book(title="Comet in Moominland").insert()
    for reader in ("Snufkin", "Little My"):
        loan = await Loan(reader=reader, book=book).insert()  # type: ignore[arg-type]
        await Reminder(note=f"{reader}, bring it back", loan=loan).insert()  # type: ignore[arg-type]
    await Note(text="first edition", book=book).insert()  # type: ignore[arg-type]
    shelf = Shelf(name="Favourites", featured=book, books=[book, other])  # type: ignore[arg-type]
    return Library(book, other, await shelf.insert())


async def dangling_links() -> list[str]:
    """Every stored link to no stored record, as `Model.field -> id`, but from a record
    that is itself deleted (a soft-deleted note keeps its link)."""
    found: list[str] = []
    for records in (LOANS, REMINDERS, NOTES, SHELVES, REVIEWS):
        collection = records.document.get_pymongo_collection()
        async for stored in collection.find({}):
            if stored.get("deleted_at") is not None:
                continue
            for name, link in records.links.items():
                value = stored.get(name)
                refs = value if isinstance(value, list) else [value] if value else []
                target = link.target.get_pymongo_collection()
                for ref in refs:
                    if not await target.count_documents({"_id": ref.id}):
                        found.append(f"{records.name}.{name} -> {ref.id}")
    return found


class Interrupted(RuntimeError):
    """The failure a test puts in place of one write."""


@contextmanager
def writes_counted(
    monkeypatch: pytest.MonkeyPatch,
    at: int | None = None,
    before: Callable[[], Awaitable[Any]] | None = None,
) -> Iterator[list[str]]:
    """Count the writes (their method names, in order); at the `at`-th, run `before` first
    (another writer) or else fail with `Interrupted`."""
    made: list[str] = []
    with monkeypatch.context() as patched:
        for name in WRITES:
            original = getattr(AsyncCollection, name)

            def counting(original: Any = original, name: str = name) -> Any:
                async def write(self: AsyncCollection[Any], *args: Any, **kwargs: Any) -> Any:
                    made.append(name)
                    if len(made) == at:
                        if before is None:
                            raise Interrupted(f"write {at} ({name}) failed")
                        await before()
                    return await original(self, *args, **kwargs)

                return write

            patched.setattr(AsyncCollection, name, counting())
        yield made


async def assert_deleted_as_the_rules_say(library: Library) -> None:
    assert await Book.get(library.book.id) is None
    assert await Loan.find_all().count() == 0
    assert await Reminder.find_all().count() == 0
    note = await Note.get_pymongo_collection().find_one({})
    assert note is not None and note["deleted_at"] is not None  # kept, marked deleted
    shelf = await Shelf.get_pymongo_collection().find_one({"_id": library.shelf.id})
    assert shelf is not None and shelf["featured"] is None
    assert [ref.id for ref in shelf["books"]] == [library.other.id]
    assert await dangling_links() == []


async def test_an_interrupted_delete_leaves_no_dangling_link_and_a_retry_finishes(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = await a_library()
    with writes_counted(monkeypatch) as made:
        await BOOKS.delete_record(library.book.id)
    await assert_deleted_as_the_rules_say(library)
    # Each loan after its reminder, the note marked deleted, the featured book and the
    # list cleared, the book last.
    assert made == ["delete_one"] * 4 + [
        "find_one_and_update",
        "update_many",
        "update_one",
        "delete_one",
    ], made

    for at in range(1, len(made) + 1):
        library = await a_library()
        with writes_counted(monkeypatch, at=at), pytest.raises(Interrupted):
            await BOOKS.delete_record(library.book.id)
        assert await dangling_links() == [], f"interrupted at write {at}"
        assert await Book.get(library.book.id) is not None, "the book goes last"
        noted = await Note.get_pymongo_collection().find_one({})
        await BOOKS.delete_record(library.book.id)
        await assert_deleted_as_the_rules_say(library)
        if noted is not None and noted["deleted_at"] is not None:  # not marked again
            again = await Note.get_pymongo_collection().find_one({})
            assert again is not None and again["deleted_at"] == noted["deleted_at"]


async def test_a_protect_link_written_during_the_delete_refuses_it(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first check finds no review; one written while the loans go is found by the
    last check, before the book itself is deleted."""
    library = await a_library()

    async def review() -> None:
        await Review(stars=5, book=library.book).insert()  # type: ignore[arg-type]

    with (
        writes_counted(monkeypatch, at=1, before=review),
        pytest.raises(RecordReferenced) as refused,
    ):
        await BOOKS.delete_record(library.book.id)
    assert "1 Review record links to it (Review.book)" in str(refused.value)
    assert "linked while it was being deleted" in str(refused.value)
    assert await Book.get(library.book.id) is not None
    assert await dangling_links() == []


async def test_a_cascade_link_written_during_the_delete_is_followed(
    beanie_database: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loan of the book written after the loans were deleted goes too, and a reminder
    of a loan written while that loan is being deleted goes with it."""
    library = await a_library()
    loans: list[Loan] = []

    async def lend() -> None:
        loans.append(await Loan(reader="Too-ticky", book=library.book).insert())  # type: ignore[arg-type]

    # Write 5 is the first after both loans and their reminders are deleted.
    with writes_counted(monkeypatch, at=5, before=lend):
        await BOOKS.delete_record(library.book.id)
    assert loans and await Loan.get(loans[0].id) is None
    await assert_deleted_as_the_rules_say(library)

    library = await a_library()
    first_loan = await Loan.find_one(Loan.reader == "Snufkin")
    assert first_loan is not None

    async def remind() -> None:
        await Reminder(note="late", loan=first_loan).insert()  # type: ignore[arg-type]

    # Write 1 deletes the first loan's reminder, just before the loan would go.
    with writes_counted(monkeypatch, at=1, before=remind):
        await BOOKS.delete_record(library.book.id)
    await assert_deleted_as_the_rules_say(library)
