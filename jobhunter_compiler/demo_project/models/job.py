"""Job postings, entered by hand or collected by `scrape_jobs`."""

from datetime import datetime
from enum import Enum
from typing import Literal, Optional

import pymongo
from beanie import Document, Indexed
from pydantic import Field
from pymongo import IndexModel

from jobhunter_compiler import datamodel

from .common import utcnow


class JobStatus(str, Enum):
    """Where a posting is in its life; only open postings take applications."""

    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


@datamodel(
    name="Job",
    description="A job posting collected from a job board or entered by hand.",
    tags=["jobs"],
    ui={
        "icon": "briefcase",
        "primary_field": "title",
        "list_fields": ["title", "company", "location", "remote", "status", "salary_max"],
        "searchable_fields": ["title", "company", "location", "description"],
        "sortable_fields": ["title", "company", "salary_max", "posted_at"],
        "hidden_fields": ["external_id"],
        "readonly_fields": ["source", "scraped_at"],
        "detail_sections": [
            {"title": "Posting", "fields": ["title", "company", "location", "remote", "url"]},
            {"title": "Pay", "fields": ["salary_min", "salary_max", "currency"]},
            {"title": "Details", "fields": ["description", "skills", "posted_at"]},
        ],
        "widgets": {"description": "textarea", "url": "url"},
    },
)
class Job(Document):
    """A job posting. Scraped postings carry their board (`source`) and the board's id
    (`external_id`), so scraping the same board twice updates instead of duplicating."""

    title: Indexed(str) = Field(min_length=2, max_length=200, description="Title as posted.")
    company: str = Field(min_length=1, max_length=120, description="Hiring company.")
    location: Optional[str] = Field(default=None, description="City and country, if any.")
    remote: Literal["onsite", "hybrid", "remote"] = "onsite"
    status: JobStatus = JobStatus.OPEN
    description: str = Field(default="", max_length=20_000, description="Full posting text.")
    salary_min: Optional[int] = Field(default=None, ge=0, description="Yearly, in `currency`.")
    salary_max: Optional[int] = Field(default=None, ge=0, description="Yearly, in `currency`.")
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    skills: list[str] = Field(default_factory=list, description="Lower-case skill keywords.")
    match_score: float = Field(default=0.0, ge=0.0, le=1.0, description="How well it fits you.")
    is_featured: bool = False
    url: Optional[str] = Field(default=None, description="Where to read or apply.")
    source: str = Field(default="manual", description="'manual' or the job board's name.")
    external_id: Optional[str] = Field(default=None, description="The board's own id.")
    posted_at: Optional[datetime] = None
    scraped_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "jobs"
        indexes = [
            "status",
            [("company", pymongo.ASCENDING), ("posted_at", pymongo.DESCENDING)],
            IndexModel(
                [("source", pymongo.ASCENDING), ("external_id", pymongo.ASCENDING)],
                name="source_external_id",
            ),
        ]
