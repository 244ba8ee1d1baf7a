"""Insert a TestItem: the smallest possible write, to check the stack end to end."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from jobhunter_compiler import operation
from models.test_item import TestItem


class CreateTestItemInput(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["alpha", "beta", "gamma"] = "alpha"
    value: int = Field(default=0, ge=0, le=1000)
    score: float = 0.5
    active: bool = True
    tags: list[str] = Field(default_factory=list)


class CreateTestItemOutput(BaseModel):
    id: str
    name: str
    created_at: datetime


@operation(
    name="create_test_item",
    description="Create a TestItem from the given values.",
    category="testing",
    inputs=CreateTestItemInput,
    outputs=CreateTestItemOutput,
    tags=["testing"],
    models_out=["TestItem"],
)
async def create_test_item(input: CreateTestItemInput) -> CreateTestItemOutput:
    item = TestItem(**input.model_dump())
    await item.insert()
    return CreateTestItemOutput(id=str(item.id), name=item.name, created_at=item.created_at)
