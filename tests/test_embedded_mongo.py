"""The embedded MongoDB server (jobhunter_compiler.devserver.embedded_mongo) against Beanie 2
and pymongo.

The filter tests assert only what is correct MongoDB semantics, so they also pass against mongo:7
(JOBHUNTER_TEST_MONGO=testcontainers). Measured on nx-27017 0.8.1 with our patches, where
"count" means count_documents / Beanie's .count(), which run as an aggregation:

  works in find and count        {"f": {"$in": [...]}}, {"f": {"$nin": [...]}}, {"f": {"$gte": x}}
                                 {"f": scalar}, {"f": {"$ne": scalar}} (on a non-null field)
                                 {"f": {"$regex": p, "$options": "i"}}, $or of such regexes
                                 {"tags": "x"} (list element), {"_id": {"$in": [oid, ...]}}
                                 {"f": {"$in": [None]}} (null or missing), {"f": {"$nin": [None]}}
                                 tz-aware datetimes with $gte/$lt (read back naive, in UTC)
                                 datetimes written by $set, $push, $addToSet, find_one_and_update
                                 and Beanie's doc.set (needs our patch)
                                 links: {"link.$id": {"$in": [oid]}}, {"link.$id": {"$nin": [oid]}}
                                 (Beanie: In(Model.link.id, [oid]), NotIn(...))
  wrong or failing               {"link.$id": oid} and {"sub.key": oid}: nothing matches (nested
                                 ObjectId equality; $in with one element works)
                                 {"link.$id": {"$ne": oid}}: matches everything
                                 {"link": DBRef(...)}: error "Operator '$ref' is not implemented"
                                 {"link": {"$in"/"$ne"/"$nin": [DBRef(...)]}}: error in find
                                 {"f": None}: right in find, count misses stored nulls
                                 {"f": {"$exists": False}}: count right, find also matches nulls
                                 {"f": {"$ne": None}}: matches missing fields too
                                 {"f": re.compile(...)} / bson Regex values: error
                                 UUIDs (uuidRepresentation="standard"), also as _id and DBRef $id:
                                 read back as UUIDs; equality, $in, $nin (needs our patch)
                                 {"children.$id": {"$in"/"$nin": [oid]}} through a list of links,
                                 {"tags.x": {"$in": [...]}} through a list of subdocuments (needs
                                 our patch)
                                 Decimal128: stored and read back; equality, $in, $nin compare
                                 the decimal's text (needs our patch)
                                 bytes in a replace_one replacement (needs our patch)
  other                          distinct ignores its filter; $group on a subdocument gives a
                                 JSON string as _id
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from beanie import Document, Link, init_beanie
from beanie.operators import In, NotIn, RegEx
from bson import Binary, DBRef, Decimal128, ObjectId
from pydantic import Field
from pymongo import AsyncMongoClient, ReturnDocument

from jobhunter_compiler.devserver.embedded_mongo import (
    EmbeddedMongo,
    EmbeddedMongoError,
    free_port,
    install_patches,
)

UTC = dt.UTC
MONDAY = dt.datetime(2024, 1, 1, 9, tzinfo=UTC)


class Company(Document):
    name: str

    class Settings:
        name = "companies"


class Job(Document):
    title: str
    salary: int
    tags: list[str] = []
    note: str | None = None
    posted: dt.datetime
    company: Link[Company] | None = None

    class Settings:
        name = "jobs"


Scenario = Callable[[AsyncMongoClient[dict[str, Any]], str], Awaitable[None]]


def run_with_beanie(url: str, db_name: str, scenario: Scenario) -> None:
    """Run `scenario` in a fresh event loop with Beanie bound to `db_name`."""

    async def main() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url)
        try:
            await init_beanie(database=client[db_name], document_models=[Company, Job])
            await scenario(client, db_name)
        finally:
            await client.close()

    asyncio.run(main())


async def seed() -> tuple[Company, Company, list[Job]]:
    """Two companies and three jobs: Python Dev (Acme), python ops (Beta), Go dev (no company)."""
    acme = await Company(name="Acme").insert()
    beta = await Company(name="Beta").insert()
    jobs = [
        Job(title="Python Dev", salary=100, tags=["x", "y"], posted=MONDAY, company=acme),
        Job(
            title="python ops",
            salary=200,
            tags=["y"],
            note="remote",
            posted=MONDAY + dt.timedelta(days=1),
            company=beta,
        ),
        Job(title="Go dev", salary=200, posted=MONDAY + dt.timedelta(days=2)),
    ]
    for job in jobs:
        await job.insert()
    return acme, beta, jobs


def test_beanie_round_trip(mongo_url: str, mongo_db_name: str) -> None:
    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        _, _, jobs = await seed()
        fetched = await Job.get(jobs[1].id)
        assert fetched is not None
        assert (fetched.title, fetched.salary, fetched.tags, fetched.note) == (
            "python ops",
            200,
            ["y"],
            "remote",
        )

        query = Job.find(In(Job.salary, [100, 200]), Job.title != "Go dev", Job.salary >= 150)
        assert [job.title for job in await query.to_list()] == ["python ops"]
        assert await query.count() == 1

        page = Job.find().sort(-Job.salary, +Job.title).skip(1).limit(2)
        assert [job.title for job in await page.to_list()] == ["python ops", "Python Dev"]
        assert await Job.find().count() == 3

        insensitive = Job.find(RegEx(Job.title, "^python", options="i")).sort(+Job.salary)
        assert [job.title for job in await insensitive.to_list()] == ["Python Dev", "python ops"]

    run_with_beanie(mongo_url, mongo_db_name, scenario)


def test_link_is_stored_as_dbref_and_fetched(mongo_url: str, mongo_db_name: str) -> None:
    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        acme, _, jobs = await seed()
        raw = await client[db_name]["jobs"].find_one({"_id": jobs[0].id})
        assert raw is not None
        assert raw["company"] == DBRef("companies", acme.id)

        lazy = await Job.get(jobs[0].id)
        assert lazy is not None
        assert isinstance(lazy.company, Link)
        assert lazy.company.ref.id == acme.id

        # get(..., fetch_links=True) runs an aggregation: needs the pipeline patch.
        eager = await Job.get(jobs[0].id, fetch_links=True)
        assert eager is not None
        assert isinstance(eager.company, Company)
        assert eager.company.name == "Acme"

        by_linked_field = Job.find(Job.company.name == "Beta", fetch_links=True)  # type: ignore[union-attr]
        assert [job.title for job in await by_linked_field.to_list()] == ["python ops"]

    run_with_beanie(mongo_url, mongo_db_name, scenario)


def test_documents_linking_to_given_ones(mongo_url: str, mongo_db_name: str) -> None:
    """The link filters that work on nx-27017 (see the module docstring) and on MongoDB."""

    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        acme, beta, _ = await seed()
        jobs = client[db_name]["jobs"]
        expected = {
            "company.$id $in": ({"company.$id": {"$in": [acme.id]}}, ["Python Dev"]),
            "company.$id $in two": (
                {"company.$id": {"$in": [acme.id, beta.id]}},
                ["Python Dev", "python ops"],
            ),
            "company.$id $nin": ({"company.$id": {"$nin": [acme.id]}}, ["python ops", "Go dev"]),
        }
        for label, (query, titles) in expected.items():
            assert sorted([doc["title"] async for doc in jobs.find(query)]) == sorted(titles), label
            assert await jobs.count_documents(query) == len(titles), label

        beanie_in = Job.find(In(Job.company.id, [beta.id]))  # type: ignore[union-attr]
        assert [job.title for job in await beanie_in.to_list()] == ["python ops"]
        assert await beanie_in.count() == 1
        beanie_not_in = Job.find(NotIn(Job.company.id, [beta.id]))  # type: ignore[union-attr]
        assert await beanie_not_in.count() == 2

    run_with_beanie(mongo_url, mongo_db_name, scenario)


# 09:00 UTC, the moment "python ops" was posted.
TUESDAY_10_PLUS_1 = dt.datetime(2024, 1, 2, 10, tzinfo=dt.timezone(dt.timedelta(hours=1)))

LIST_FILTERS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "equality": ({"salary": 200}, ["python ops", "Go dev"]),
    "$in": ({"salary": {"$in": [100]}}, ["Python Dev"]),
    "$nin": ({"title": {"$nin": ["Go dev"]}}, ["Python Dev", "python ops"]),
    "$ne": ({"salary": {"$ne": 200}}, ["Python Dev"]),
    "$gte": ({"salary": {"$gte": 200}}, ["python ops", "Go dev"]),
    "regex i": ({"title": {"$regex": "^PYTHON", "$options": "i"}}, ["Python Dev", "python ops"]),
    "$or of regexes": (
        {"$or": [{"title": {"$regex": "ops"}}, {"title": {"$regex": "^go", "$options": "i"}}]},
        ["python ops", "Go dev"],
    ),
    "list element": ({"tags": "y"}, ["Python Dev", "python ops"]),
    "is null": ({"note": {"$in": [None]}}, ["Python Dev", "Go dev"]),
    "is not null": ({"note": {"$nin": [None]}}, ["python ops"]),
    "tz-aware $gte": ({"posted": {"$gte": TUESDAY_10_PLUS_1}}, ["python ops", "Go dev"]),
    "tz-aware $lt": ({"posted": {"$lt": TUESDAY_10_PLUS_1}}, ["Python Dev"]),
}


@pytest.mark.parametrize("label", LIST_FILTERS)
def test_list_filter_forms(mongo_url: str, mongo_db_name: str, label: str) -> None:
    """Each form finds the right documents, and count_documents (an aggregation) agrees."""
    query, titles = LIST_FILTERS[label]

    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        await seed()
        jobs = client[db_name]["jobs"]
        assert sorted([doc["title"] async for doc in jobs.find(query)]) == sorted(titles)
        assert await jobs.count_documents(query) == len(titles)

    run_with_beanie(mongo_url, mongo_db_name, scenario)


def test_ids_datetimes_and_sorting(mongo_url: str, mongo_db_name: str) -> None:
    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        _, _, jobs = await seed()
        collection = client[db_name]["jobs"]
        by_ids = {"_id": {"$in": [jobs[0].id, jobs[2].id]}}
        assert sorted([doc["title"] async for doc in collection.find(by_ids)]) == [
            "Go dev",
            "Python Dev",
        ]
        assert await collection.count_documents(by_ids) == 2

        stored = await Job.get(jobs[0].id)
        assert stored is not None
        assert stored.posted.replace(tzinfo=UTC) == MONDAY  # the driver returns naive UTC

        two_keys = collection.find().sort([("salary", -1), ("title", 1)])
        assert [doc["title"] async for doc in two_keys] == ["Go dev", "python ops", "Python Dev"]

    run_with_beanie(mongo_url, mongo_db_name, scenario)


# 09:00 UTC on a Friday; tz-aware like the datetimes Beanie models hold.
FRIDAY_10_PLUS_1 = dt.datetime(2026, 11, 20, 10, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def _as_utc(value: Any) -> Any:
    """The driver returns naive UTC datetimes; anything else (a string) is returned as is."""
    return value.replace(tzinfo=UTC) if isinstance(value, dt.datetime) else value


def test_datetimes_written_by_update_operators(mongo_url: str, mongo_db_name: str) -> None:
    """Partial updates store datetimes as BSON dates (needs the update patch), like inserts do."""

    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        _, _, jobs = await seed()
        collection = client[db_name]["jobs"]
        python_dev, python_ops, go_dev = (job.id for job in jobs)

        await collection.update_one({"_id": python_dev}, {"$set": {"posted": FRIDAY_10_PLUS_1}})
        raw = await collection.find_one({"_id": python_dev})
        assert raw is not None and _as_utc(raw["posted"]) == FRIDAY_10_PLUS_1

        since_friday = {"posted": {"$gte": FRIDAY_10_PLUS_1}}
        assert [doc["title"] async for doc in collection.find(since_friday)] == ["Python Dev"]
        assert await collection.count_documents(since_friday) == 1
        newest_first = [doc["title"] async for doc in collection.find().sort("posted", -1)]
        assert newest_first == ["Python Dev", "Go dev", "python ops"]

        # Beanie's doc.set sends the same $set.
        await jobs[1].set({Job.posted: FRIDAY_10_PLUS_1 + dt.timedelta(days=1)})
        fetched = await Job.get(python_ops)
        assert fetched is not None
        assert _as_utc(fetched.posted) == FRIDAY_10_PLUS_1 + dt.timedelta(days=1)
        by_beanie = Job.find(Job.posted >= FRIDAY_10_PLUS_1).sort(-Job.posted)
        assert [job.title for job in await by_beanie.to_list()] == ["python ops", "Python Dev"]

        # Datetimes nested in $set values, and in the other operators that write values.
        await collection.update_one(
            {"_id": go_dev},
            {
                "$set": {"history": [{"at": FRIDAY_10_PLUS_1}], "meta.seen": FRIDAY_10_PLUS_1},
                "$push": {"seen": FRIDAY_10_PLUS_1},
                "$addToSet": {"days": FRIDAY_10_PLUS_1},
                "$max": {"posted": FRIDAY_10_PLUS_1},
            },
        )
        await collection.update_one(
            {"_id": go_dev}, {"$push": {"seen": {"$each": [MONDAY], "$slice": -5}}}
        )
        raw = await collection.find_one({"_id": go_dev})
        assert raw is not None
        assert _as_utc(raw["history"][0]["at"]) == FRIDAY_10_PLUS_1
        assert _as_utc(raw["meta"]["seen"]) == FRIDAY_10_PLUS_1
        assert [_as_utc(value) for value in raw["seen"]] == [FRIDAY_10_PLUS_1, MONDAY]
        assert [_as_utc(value) for value in raw["days"]] == [FRIDAY_10_PLUS_1]
        assert _as_utc(raw["posted"]) == FRIDAY_10_PLUS_1

        after = await collection.find_one_and_update(
            {"_id": python_dev},
            {"$set": {"posted": MONDAY}},
            return_document=ReturnDocument.AFTER,
        )
        assert after is not None and _as_utc(after["posted"]) == MONDAY
        await collection.update_many({}, {"$set": {"checked": MONDAY}})
        assert await collection.count_documents({"checked": {"$gte": MONDAY}}) == 3

        upserted_id = ObjectId()
        await collection.update_one(
            {"_id": upserted_id},
            {"$set": {"title": "new"}, "$setOnInsert": {"posted": FRIDAY_10_PLUS_1}},
            upsert=True,
        )
        raw = await collection.find_one({"_id": upserted_id})
        assert raw is not None and _as_utc(raw["posted"]) == FRIDAY_10_PLUS_1

    run_with_beanie(mongo_url, mongo_db_name, scenario)


class Tag(Document):
    id: uuid.UUID = Field(default_factory=uuid.uuid4)  # type: ignore[assignment]
    label: str

    class Settings:
        name = "tags"


class Board(Document):
    name: str
    children: list[Link[Company]] = []

    class Settings:
        name = "boards"


def run_with_uuids(url: str, db_name: str, scenario: Scenario) -> None:
    """Like run_with_beanie, with the UUID representation Beanie documents with UUIDs need."""

    async def main() -> None:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url, uuidRepresentation="standard"
        )
        try:
            await init_beanie(database=client[db_name], document_models=[Company, Tag, Board])
            await scenario(client, db_name)
        finally:
            await client.close()

    asyncio.run(main())


def test_uuids_round_trip_and_match(mongo_url: str, mongo_db_name: str) -> None:
    """UUIDs as _id, as values, nested and as a DBRef's $id (needs the UUID patch)."""
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        items = client[db_name]["items"]
        await items.insert_many(
            [
                {
                    "_id": first,
                    "n": 1,
                    "other": second,
                    "all": [first, second],
                    "sub": {"k": third},
                },
                {"_id": second, "n": 2, "link": DBRef("items", first)},
                {"_id": third, "n": 3},
            ]
        )
        raw = await items.find_one({"_id": first})
        assert raw == {
            "_id": first,
            "n": 1,
            "other": second,
            "all": [first, second],
            "sub": {"k": third},
        }
        linked = await items.find_one({"_id": Binary.from_uuid(second)})
        assert linked is not None and linked["link"] == DBRef("items", first)
        expected: dict[str, tuple[dict[str, Any], list[int]]] = {
            "_id equality": ({"_id": second}, [2]),
            "_id $in": ({"_id": {"$in": [first, third]}}, [1, 3]),
            "_id $nin": ({"_id": {"$nin": [first, third]}}, [2]),
            "value": ({"other": second}, [1]),
            "value $in": ({"other": {"$in": [second, third]}}, [1]),
            "list element": ({"all": second}, [1]),
            "nested": ({"sub.k": {"$in": [third]}}, [1]),
            "DBRef $id": ({"link.$id": {"$in": [first]}}, [2]),
        }
        for label, (query, numbers) in expected.items():
            assert sorted([doc["n"] async for doc in items.find(query)]) == numbers, label
            assert await items.count_documents(query) == len(numbers), label
        await items.update_one({"_id": third}, {"$set": {"other": first}})
        assert [doc["n"] async for doc in items.find({"other": first})] == [3]
        await items.delete_one({"_id": {"$in": [third]}})
        assert await items.count_documents({}) == 2

    run_with_uuids(mongo_url, mongo_db_name, scenario)


def test_beanie_document_with_a_uuid_id(mongo_url: str, mongo_db_name: str) -> None:
    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        red, blue, green = Tag(label="red"), Tag(label="blue"), Tag(label="green")
        for tag in (red, blue, green):
            await tag.insert()
        fetched = await Tag.get(blue.id)
        assert fetched is not None and fetched.id == blue.id and fetched.label == "blue"

        by_ids = Tag.find(In(Tag.id, [red.id, green.id]))
        assert sorted(tag.label for tag in await by_ids.to_list()) == ["green", "red"]
        assert await by_ids.count() == 2
        assert await Tag.find(NotIn(Tag.id, [red.id, green.id])).count() == 1

        blue.label = "navy"
        await blue.replace()
        replaced = await Tag.get(blue.id)
        assert replaced is not None and replaced.label == "navy"

        await red.delete()
        assert await Tag.get(red.id) is None
        assert sorted(tag.label for tag in await Tag.find_all().to_list()) == ["green", "navy"]

    run_with_uuids(mongo_url, mongo_db_name, scenario)


def test_in_through_a_list_of_links(mongo_url: str, mongo_db_name: str) -> None:
    """$in/$nin on a dotted path through an array (needs the dotted-$in patch)."""

    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        acme = await Company(name="Acme").insert()
        beta = await Company(name="Beta").insert()
        gamma = await Company(name="Gamma").insert()
        await Board(name="both", children=[acme, beta]).insert()  # type: ignore[list-item]
        await Board(name="beta", children=[beta]).insert()  # type: ignore[list-item]
        await Board(name="none").insert()

        boards = client[db_name]["boards"]
        expected: dict[str, tuple[dict[str, Any], list[str]]] = {
            "$in one": ({"children.$id": {"$in": [acme.id]}}, ["both"]),
            "$in two": ({"children.$id": {"$in": [beta.id, gamma.id]}}, ["beta", "both"]),
            "$in none": ({"children.$id": {"$in": [gamma.id]}}, []),
            "$nin": ({"children.$id": {"$nin": [acme.id]}}, ["beta", "none"]),
            "in $or": (
                {"$or": [{"children.$id": {"$in": [acme.id]}}, {"name": "none"}]},
                ["both", "none"],
            ),
        }
        for label, (query, names) in expected.items():
            assert sorted([doc["name"] async for doc in boards.find(query)]) == names, label
            assert await boards.count_documents(query) == len(names), label

        with_acme = Board.find({"children.$id": {"$in": [acme.id]}})
        assert [board.name for board in await with_acme.to_list()] == ["both"]
        assert await with_acme.count() == 1
        with_beta = Board.find({"children.$id": {"$in": [beta.id]}}).sort(+Board.name)
        assert [board.name for board in await with_beta.to_list()] == ["beta", "both"]
        assert await with_beta.count() == 2

        await boards.update_many({"children.$id": {"$in": [beta.id]}}, {"$set": {"seen": True}})
        assert await boards.count_documents({"seen": True}) == 2
        await boards.delete_many({"children.$id": {"$in": [acme.id]}})
        assert sorted([doc["name"] async for doc in boards.find()]) == ["beta", "none"]

    run_with_uuids(mongo_url, mongo_db_name, scenario)


def test_in_through_a_list_of_subdocuments(mongo_url: str, mongo_db_name: str) -> None:
    async def scenario(client: AsyncMongoClient[dict[str, Any]], db_name: str) -> None:
        items = client[db_name]["items"]
        await items.insert_many(
            [
                {"n": 1, "tags": [{"x": 1}, {"x": 2}]},
                {"n": 2, "tags": [{"x": 3}, {"y": 1}]},
                {"n": 3, "tags": [{"x": [4, 5]}]},
                {"n": 4, "tags": {"x": 4}},
                {"n": 5},
            ]
        )
        expected: dict[str, tuple[dict[str, Any], list[int]]] = {
            "$in": ({"tags.x": {"$in": [1]}}, [1]),
            "$in several": ({"tags.x": {"$in": [2, 3]}}, [1, 2]),
            "$in an array's element": ({"tags.x": {"$in": [5]}}, [3]),
            "$in a subdocument": ({"tags.x": {"$in": [4]}}, [3, 4]),
            "$nin": ({"tags.x": {"$nin": [1, 4]}}, [2, 5]),
            "$in null": ({"tags.x": {"$in": [None]}}, [5]),
        }
        for label, (query, numbers) in expected.items():
            assert sorted([doc["n"] async for doc in items.find(query)]) == numbers, label
            assert await items.count_documents(query) == len(numbers), label

    run_with_beanie(mongo_url, mongo_db_name, scenario)


def _insert_on_handler(handler: Any, document: dict[str, Any]) -> dict[str, Any]:
    body = {"insert": "guard", "documents": [document], "$db": "guard"}
    _, response = handler.handle_insert({"request_id": 1, "sections": [("body", body)]})
    result: dict[str, Any] = response
    return result


def _found_by_aggregation(handler: Any, object_id: ObjectId) -> bool:
    body = {"aggregate": "guard", "pipeline": [{"$match": {"_id": object_id}}], "$db": "guard"}
    _, response = handler.handle_command({"request_id": 2, "sections": [("body", body)]})
    return len(response.get("cursor", {}).get("firstBatch", [])) == 1


def _read_back_after_set(handler: Any, value: Any) -> Any:
    object_id = ObjectId()
    _insert_on_handler(handler, {"_id": object_id})
    update = {"q": {"_id": object_id}, "u": {"$set": {"at": value}}}
    body = {"update": "guard", "updates": [update], "$db": "guard"}
    handler.handle_command({"request_id": 3, "sections": [("body", body)]})
    body = {"find": "guard", "filter": {"_id": object_id}, "$db": "guard"}
    _, response = handler.handle_command({"request_id": 4, "sections": [("body", body)]})
    return response["cursor"]["firstBatch"][0]["at"]


def _replaced_with_bytes(handler: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Replace a document by one holding bytes: (the write's answer, what find reads back)."""
    object_id = ObjectId()
    _insert_on_handler(handler, {"_id": object_id})
    update = {"q": {"_id": object_id}, "u": {"blob": b"\x00\xff"}}
    body = {"update": "guard", "updates": [update], "$db": "guard"}
    _, response = handler.handle_command({"request_id": 7, "sections": [("body", body)]})
    return response, _found(handler, {"_id": object_id})


def _found(handler: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """What find answers for `query`, encoded as the server would send it."""
    from nx_27017 import wire_protocol

    body = {"find": "guard", "filter": query, "$db": "guard"}
    _, response = handler.handle_command({"request_id": 5, "sections": [("body", body)]})
    found: list[dict[str, Any]] = wire_protocol._convert_objectids(response)["cursor"]["firstBatch"]
    return found


def _counted(handler: Any, query: dict[str, Any]) -> int:
    """What count_documents answers for `query` (an aggregation)."""
    pipeline = [{"$match": query}, {"$group": {"_id": 1, "n": {"$sum": 1}}}]
    body = {"aggregate": "guard", "pipeline": pipeline, "cursor": {}, "$db": "guard"}
    _, response = handler.handle_command({"request_id": 6, "sections": [("body", body)]})
    batch = response["cursor"]["firstBatch"]
    return int(batch[0]["n"]) if batch else 0


@pytest.fixture
def patches_undone_afterwards(monkeypatch: pytest.MonkeyPatch) -> None:
    """Lets a test call install_patches() in this process; monkeypatch restores the originals."""
    from neosqlite.collection.query_helper import QueryHelper
    from nx_27017 import utils
    from nx_27017.handler import NeoSQLiteHandler

    monkeypatch.setattr(utils, "convert_bson_to_neo_objectids", utils.convert_bson_to_neo_objectids)
    monkeypatch.setattr(NeoSQLiteHandler, "handle_command", NeoSQLiteHandler.handle_command)
    monkeypatch.setattr(QueryHelper, "_can_use_sql_updates", QueryHelper._can_use_sql_updates)
    monkeypatch.setattr(QueryHelper, "_internal_replace", QueryHelper._internal_replace)
    from neosqlite import query_operators
    from neosqlite.collection.sql_tier_aggregator import SQLTierAggregator
    from neosqlite.collection.sql_translator_unified import SQLTranslator
    from nx_27017 import wire_protocol

    monkeypatch.setattr(wire_protocol, "_convert_objectids", wire_protocol._convert_objectids)
    monkeypatch.setattr(
        QueryHelper, "_build_simple_where_clause", QueryHelper._build_simple_where_clause
    )
    monkeypatch.setattr(SQLTranslator, "translate_match", SQLTranslator.translate_match)
    monkeypatch.setattr(
        SQLTierAggregator, "can_optimize_pipeline", SQLTierAggregator.can_optimize_pipeline
    )
    monkeypatch.setattr(query_operators, "_in", query_operators._in)
    monkeypatch.setattr(query_operators, "_nin", query_operators._nin)


def test_upstream_still_needs_our_patches(patches_undone_afterwards: None) -> None:
    """Fails when nx-27017 changes under the patches in
    jobhunter_compiler/devserver/embedded_mongo.py."""
    from nx_27017.handler import NeoSQLiteHandler

    document = {"_id": ObjectId(), "company": DBRef("companies", ObjectId())}
    plain = NeoSQLiteHandler(":memory:")
    stored = _insert_on_handler(plain, dict(document))
    assert stored.get("n") == 0 and "DBRef" in str(stored.get("writeErrors")), (
        "nx-27017 now stores a DBRef by itself: remove the DBRef wrapper from install_patches() "
        f"in jobhunter_compiler/devserver/embedded_mongo.py (insert answered {stored})"
    )
    plain_id = ObjectId()
    assert _insert_on_handler(plain, {"_id": plain_id})["n"] == 1
    assert not _found_by_aggregation(plain, plain_id), (
        "nx-27017 now matches ObjectIds in aggregation pipelines by itself: remove the pipeline "
        "conversion from install_patches() in jobhunter_compiler/devserver/embedded_mongo.py"
    )
    moment = dt.datetime(2026, 11, 20, 9)  # naive UTC, as nx-27017 decodes it off the wire
    unpatched_value = _read_back_after_set(plain, moment)
    assert not isinstance(unpatched_value, dt.datetime), (
        "nx-27017 (neosqlite) now stores a datetime written by $set as a date by itself: remove "
        "the QueryHelper._can_use_sql_updates wrapper from install_patches() in "
        "jobhunter_compiler/devserver/embedded_mongo.py"
    )
    a_uuid = Binary.from_uuid(uuid.uuid4())
    assert _insert_on_handler(plain, {"_id": a_uuid})["n"] == 1
    assert not _found(plain, {"_id": a_uuid}), (
        "nx-27017 now matches UUIDs (Binary subtype 4) by itself: remove the UUID tagging "
        "(UUID_TAG, the Binary/UUID branches of convert_dbrefs_uuids_and_decimals and the "
        "wire_protocol._convert_objectids wrapper) from "
        "jobhunter_compiler/devserver/embedded_mongo.py"
    )
    price = Decimal128("12.34")
    stored = _insert_on_handler(plain, {"_id": ObjectId(), "price": price})
    assert stored.get("n") == 0 and "Decimal128" in str(stored.get("writeErrors")), (
        "nx-27017 now stores a Decimal128 by itself: remove the decimal tagging (DECIMAL_TAG "
        "and its branches) from jobhunter_compiler/devserver/embedded_mongo.py "
        f"(insert answered {stored})"
    )
    replaced, _ = _replaced_with_bytes(plain)
    assert "bytes" in str(replaced.get("writeErrors")), (
        "nx-27017 (neosqlite) now replaces a document holding bytes by itself: remove the "
        "QueryHelper._internal_replace wrapper from install_patches() in "
        f"jobhunter_compiler/devserver/embedded_mongo.py (update answered {replaced})"
    )
    in_array = {"tags.x": {"$in": [1]}}
    assert _insert_on_handler(plain, {"_id": ObjectId(), "tags": [{"x": 1}, {"x": 2}]})["n"] == 1
    assert not _found(plain, in_array) and not _counted(plain, in_array), (
        "nx-27017 (neosqlite) now matches $in on a dotted path through an array by itself: "
        "remove _match_dotted_in_with_python() from jobhunter_compiler/devserver/embedded_mongo.py"
    )

    install_patches()
    patched = NeoSQLiteHandler(":memory:")
    assert _insert_on_handler(patched, dict(document))["n"] == 1, (
        "install_patches() no longer makes nx-27017 store a DBRef: nx_27017 changed where it "
        "converts incoming documents (nx_27017.utils.convert_bson_to_neo_objectids); update it"
    )
    assert _found_by_aggregation(patched, document["_id"]), (
        "install_patches() no longer converts aggregation pipelines: nx_27017 changed "
        "NeoSQLiteHandler.handle_command; update install_patches()"
    )
    assert _read_back_after_set(patched, moment) == moment, (
        "install_patches() no longer makes $set store a datetime as a date: neosqlite changed "
        "how updates choose its SQL tier (QueryHelper._can_use_sql_updates); update it"
    )
    assert _insert_on_handler(patched, {"_id": a_uuid, "all": [a_uuid]})["n"] == 1
    assert _found(patched, {"_id": a_uuid}) == [{"_id": a_uuid, "all": [a_uuid]}], (
        "install_patches() no longer makes UUIDs match and read back: nx_27017 changed "
        "nx_27017.utils.convert_bson_to_neo_objectids or wire_protocol._convert_objectids"
    )
    priced = {"_id": ObjectId(), "price": price, "prices": [price]}
    assert _insert_on_handler(patched, dict(priced))["n"] == 1
    assert _found(patched, {"price": price}) == [priced], (
        "install_patches() no longer makes Decimal128 store, match and read back: nx_27017 "
        "changed nx_27017.utils.convert_bson_to_neo_objectids or wire_protocol._convert_objectids"
    )
    replaced, found = _replaced_with_bytes(patched)
    assert replaced.get("nModified") == 1 and found[0]["blob"] == b"\x00\xff", (
        "install_patches() no longer makes a replacement holding bytes store: neosqlite "
        f"changed QueryHelper._internal_replace; update it (update answered {replaced})"
    )
    assert _insert_on_handler(patched, {"_id": ObjectId(), "tags": [{"x": 1}]})["n"] == 1
    assert len(_found(patched, in_array)) == 1 and _counted(patched, in_array) == 1, (
        "install_patches() no longer makes $in on a dotted path through an array match: "
        "neosqlite changed how it chooses between SQL and its Python matcher "
        "(_build_simple_where_clause, translate_match, can_optimize_pipeline) or "
        "neosqlite.query_operators._in; update _match_dotted_in_with_python()"
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stop_frees_the_port_and_reaps_the_process() -> None:
    server = EmbeddedMongo().start()
    process = server._process
    assert process is not None and not _port_is_free(server.port)
    server.stop()
    assert process.returncode is not None  # waited for: no zombie
    assert _port_is_free(server.port)
    server.stop()  # a second stop is harmless


def test_a_server_that_cannot_start_reports_its_stderr() -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as occupant:
        occupant.bind(("127.0.0.1", port))
        occupant.listen()
        server = EmbeddedMongo(port=port)
        with pytest.raises(EmbeddedMongoError, match="address already in use"):
            server.start()
    assert server._process is None


def test_importing_jobhunter_does_not_load_nx() -> None:
    code = (
        "import sys, jobhunter_compiler, jobhunter_compiler.devserver.embedded_mongo\n"
        "assert 'nx_27017' not in sys.modules, sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
