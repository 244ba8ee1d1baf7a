"""pytest fixtures for a real MongoDB server (mocks would miss its query semantics);
registered in tests/conftest.py.

By default the server is nx-27017 through jobhunter_compiler.devserver.embedded_mongo
(no Docker needed).
With JOBHUNTER_TEST_MONGO=testcontainers it is mongo:7 in Docker, through testcontainers.
One server per session (per xdist worker); each test gets its own database on it.
`beanie_database` initialises Beanie there with the module's `document_models` fixture.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from jobhunter_compiler.devserver.embedded_mongo import EmbeddedMongo

MONGO_CHOICE_VARIABLE = "JOBHUNTER_TEST_MONGO"
MONGO_IMAGE = "mongo:7"

_database_numbers = itertools.count()


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """The URL of a MongoDB server that lives for the whole session."""
    choice = os.environ.get(MONGO_CHOICE_VARIABLE, "embedded")
    if choice == "embedded":
        with EmbeddedMongo() as server:
            yield server.url
    elif choice == "testcontainers":
        yield from _mongo_in_docker()
    else:
        pytest.fail(f"{MONGO_CHOICE_VARIABLE}={choice!r}: expected 'embedded' or 'testcontainers'")


def _mongo_in_docker() -> Iterator[str]:
    try:
        from testcontainers.community.mongodb import MongoDbContainer
    except ImportError:
        pytest.fail(
            f"{MONGO_CHOICE_VARIABLE}=testcontainers needs the testcontainers package: "
            "pip install -e '.[dev]'"
        )
    try:
        container = MongoDbContainer(MONGO_IMAGE).start()  # the constructor connects to Docker
    except Exception as error:  # docker.errors.DockerException and the like
        pytest.fail(
            f"{MONGO_CHOICE_VARIABLE}=testcontainers, but the Docker engine is not reachable or "
            f"could not start {MONGO_IMAGE} ({type(error).__name__}: {error}). Start Docker, or "
            f"unset {MONGO_CHOICE_VARIABLE} to test against the embedded nx-27017 server."
        )
    try:
        yield container.get_connection_url()
    finally:
        container.stop()


@pytest.fixture
def mongo_db_name(request: pytest.FixtureRequest, mongo_url: str) -> Iterator[str]:
    """A database name no other test uses, so tests sharing the server never see each other's
    data; the database is dropped afterwards."""
    from pymongo import MongoClient

    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12]
    name = f"test_{digest}_{next(_database_numbers)}"
    yield name
    with MongoClient(mongo_url, serverSelectionTimeoutMS=5000) as client:
        client.drop_database(name)


@pytest.fixture
async def beanie_database(
    mongo_url: str, mongo_db_name: str, document_models: list[Any]
) -> AsyncIterator[None]:
    """Beanie initialised on the test's own database with `document_models`, a fixture the
    test module defines; the client is closed afterwards."""
    from beanie import init_beanie
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await init_beanie(database=client[mongo_db_name], document_models=document_models)
        yield
    finally:
        await client.close()
