"""Test set-up: the project root on sys.path (so `models` and `operations` import), one MongoDB
server for the session, and Beanie initialised on a fresh database for each test."""

import asyncio
import itertools
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The generated app's list of documents (yours plus TaskRun), kept current by `make compile`.
sys.path.insert(0, str(ROOT / ".run_cache"))

_numbers = itertools.count()


@pytest.fixture(scope="session")
def mongo_url():
    """$MONGODB_URL when set, else an embedded MongoDB wire-protocol server, in memory."""
    url = os.environ.get("MONGODB_URL")
    if url:
        yield url
        return
    from jobhunter_compiler.devserver.embedded_mongo import EmbeddedMongo

    with EmbeddedMongo() as server:
        yield server.url


@pytest.fixture
def run_with_db(mongo_url):
    """Runs an async test body with Beanie on a database of its own, dropped afterwards."""
    from beanie import init_beanie
    from generated_routes.models import DOCUMENT_MODELS
    from pymongo import AsyncMongoClient

    name = f"test_{os.getpid()}_{next(_numbers)}"

    def run(body):
        async def main():
            client = AsyncMongoClient(mongo_url, tz_aware=True, uuidRepresentation="standard")
            try:
                await init_beanie(database=client[name], document_models=DOCUMENT_MODELS)
                return await body()
            finally:
                await client.drop_database(name)
                await client.close()

        return asyncio.run(main())

    return run
