"""The example model: something to do. Rename it, change it, or add models beside it."""

from datetime import datetime, timezone
from enum import Enum
from typing import Optional

from beanie import Document
from pydantic import Field

from jobhunter_compiler import datamodel


def utcnow() -> datetime:
    """Timezone-aware "now", for default_factory (datetime.utcnow is deprecated)."""
    return datetime.now(timezone.utc)


class TodoStatus(str, Enum):
    OPEN = "open"
    DOING = "doing"
    DONE = "done"


@datamodel(
    name="Todo",
    description="Something to do, with a status and a priority.",
    tags=["todos"],
    ui={
        "icon": "check-square",
        "primary_field": "title",
        "list_fields": ["title", "status", "priority", "due_at"],
        "searchable_fields": ["title", "notes"],
        "sortable_fields": ["title", "priority", "due_at", "created_at"],
        "readonly_fields": ["created_at", "done_at"],
        "widgets": {"notes": "textarea", "status": "select"},
    },
)
class Todo(Document):
    title: str = Field(min_length=1, max_length=200)
    notes: Optional[str] = Field(default=None, max_length=5_000)
    status: TodoStatus = TodoStatus.OPEN
    priority: int = Field(default=3, ge=1, le=5, description="1 is the most urgent.")
    tags: list[str] = Field(default_factory=list)
    due_at: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    done_at: Optional[datetime] = None

    class Settings:
        name = "todos"
