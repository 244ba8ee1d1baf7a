"""Full-text-ish search over job postings."""

import re
from datetime import datetime
from typing import Literal, Optional

from beanie.operators import In, Or, RegEx
from pydantic import BaseModel, Field

from jobhunter_compiler import operation
from models.job import Job, JobStatus


class SearchJobsInput(BaseModel):
    query: str = Field(default="", max_length=200, description="Words matched in title or company.")
    status: Optional[JobStatus] = Field(default=JobStatus.OPEN, description="None: any status.")
    remote: Optional[Literal["onsite", "hybrid", "remote"]] = None
    min_salary: Optional[int] = Field(
        default=None, ge=0, description="Lowest acceptable salary_max."
    )
    skills: list[str] = Field(default_factory=list, description="Match postings with any of these.")
    limit: int = Field(default=20, ge=1, le=100)
    skip: int = Field(default=0, ge=0)


class JobSummary(BaseModel):
    id: str
    title: str
    company: str
    location: Optional[str] = None
    remote: str
    status: JobStatus
    salary_max: Optional[int] = None
    posted_at: Optional[datetime] = None


class SearchJobsOutput(BaseModel):
    total: int = Field(description="Matches before skip/limit.")
    jobs: list[JobSummary]


@operation(
    name="search_jobs",
    description="Find job postings by text, status, remote policy, salary and skills.",
    category="jobs",
    inputs=SearchJobsInput,
    outputs=SearchJobsOutput,
    tags=["jobs", "search"],
    models_in=["Job"],
    models_out=[],
    async_enabled=True,
)
async def search_jobs(input: SearchJobsInput) -> SearchJobsOutput:
    """Newest postings first; `total` counts every match so the caller can page."""
    filters = []
    if input.query.strip():
        pattern = re.escape(input.query.strip())
        filters.append(Or(RegEx(Job.title, pattern, "i"), RegEx(Job.company, pattern, "i")))
    if input.status is not None:
        filters.append(Job.status == input.status)
    if input.remote is not None:
        filters.append(Job.remote == input.remote)
    if input.min_salary is not None:
        filters.append(Job.salary_max >= input.min_salary)
    if input.skills:
        filters.append(In(Job.skills, [skill.lower() for skill in input.skills]))

    total = await Job.find(*filters).count()
    jobs = (
        await Job.find(*filters)
        .sort(-Job.posted_at, +Job.title)
        .skip(input.skip)
        .limit(input.limit)
        .to_list()
    )
    return SearchJobsOutput(
        total=total,
        jobs=[
            JobSummary(
                id=str(job.id),
                title=job.title,
                company=job.company,
                location=job.location,
                remote=job.remote,
                status=job.status,
                salary_max=job.salary_max,
                posted_at=job.posted_at,
            )
            for job in jobs
        ],
    )
