"""A scratch model for poking at the generated API, CLI and UI."""

from datetime import datetime
from typing import Literal

from beanie import Document
from pydantic import Field

from jobhunter_compiler import datamodel

from .common import utcnow


@datamodel(
    name="TestItem",
    description="A throwaway record for trying the generated stack out.",
    tags=["testing"],
    ui={
        "icon": "experiment",
        "primary_field": "name",
        "list_fields": ["name", "kind", "value", "score", "active"],
        "sortable_fields": ["name", "value", "score", "created_at"],
        "readonly_fields": ["created_at"],
    },
)
class TestItem(Document):
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["alpha", "beta", "gamma"] = "alpha"
    value: int = Field(default=0, ge=0, le=1000)
    score: float = 0.5
    active: bool = True
    tags: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "test_items"
