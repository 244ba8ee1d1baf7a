"""The API benchmark's baseline: the demo's TestItem list and create, written by hand.

What a FastAPI developer would write for the same model without jobhunter: the user's own
`models.test_item.TestItem` Beanie document, a create schema and a read schema, FastAPI's
response models, Beanie queries, `X-Total-Count` for the list. Same driver, same
`init_beanie`, same environment variables as the generated app. Served by
tests/bench/bench_api.py from the root of a compiled copy of fixtures/demo_project:

    python -m uvicorn handwritten_app:app --app-dir tests/bench
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from beanie import PydanticObjectId, init_beanie
from fastapi import FastAPI, Query, Response, status
from models.test_item import TestItem
from pydantic import BaseModel, ConfigDict, Field
from pymongo import AsyncMongoClient

MAX_PAGE_SIZE = 100


class TestItemCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["alpha", "beta", "gamma"] = "alpha"
    value: int = Field(default=0, ge=0, le=1000)
    score: float = 0.5
    active: bool = True
    tags: list[str] = Field(default_factory=list)


class TestItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: PydanticObjectId
    name: str
    kind: Literal["alpha", "beta", "gamma"]
    value: int
    score: float
    active: bool
    tags: list[str]
    created_at: datetime


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        os.environ.get("MONGODB_URL", "mongodb://localhost:27017"), tz_aware=True
    )
    await init_beanie(
        database=client[os.environ.get("MONGODB_DB", "handwritten")], document_models=[TestItem]
    )
    app.state.mongo = client
    try:
        yield
    finally:
        await client.close()


app = FastAPI(title="TestItem API (hand-written)", lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    await app.state.mongo.admin.command("ping")
    return {"status": "ok"}


@app.get("/api/models/TestItem/", response_model=list[TestItemRead])
async def list_test_items(
    response: Response,
    _start: int = Query(0, ge=0),
    _end: int = Query(25, ge=1),
) -> list[TestItem]:
    limit = max(0, min(_end - _start, MAX_PAGE_SIZE))
    response.headers["X-Total-Count"] = str(await TestItem.find_all().count())
    return await TestItem.find_all().sort("_id").skip(_start).limit(limit).to_list()


@app.post("/api/models/TestItem/", response_model=TestItemRead, status_code=status.HTTP_201_CREATED)
async def create_test_item(body: TestItemCreate) -> TestItem:
    item = TestItem(**body.model_dump())
    await item.insert()
    return item
