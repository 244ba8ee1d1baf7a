"""Applications to job postings."""

from datetime import datetime
from enum import Enum
from typing import Optional

import pymongo
from beanie import Document, Link
from pydantic import Field

from jobhunter_compiler import datamodel

from .common import utcnow
from .job import Job


class ApplicationStatus(str, Enum):
    SUBMITTED = "submitted"
    INTERVIEWING = "interviewing"
    OFFER = "offer"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


@datamodel(
    name="Application",
    description="Someone's application to a job posting.",
    tags=["jobs", "applications"],
    ui={
        "icon": "file-text",
        "primary_field": "applicant_name",
        "list_fields": ["applicant_name", "email", "job", "status", "submitted_at"],
        "searchable_fields": ["applicant_name", "email"],
        "sortable_fields": ["applicant_name", "submitted_at"],
        "readonly_fields": ["submitted_at"],
        "widgets": {"cover_letter": "textarea", "status": "select"},
    },
)
class Application(Document):
    """One application per applicant e-mail and posting (see `submit_application`)."""

    job: Link[Job] = Field(description="The posting applied to.")
    applicant_name: str = Field(min_length=1, max_length=120)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Contact e-mail.")
    status: ApplicationStatus = ApplicationStatus.SUBMITTED
    cover_letter: Optional[str] = Field(default=None, max_length=10_000)
    resume_url: Optional[str] = None
    expected_salary: Optional[int] = Field(default=None, ge=0, description="Yearly.")
    notes: list[str] = Field(default_factory=list)
    submitted_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "applications"
        indexes = ["email", [("submitted_at", pymongo.DESCENDING)]]
