"""Collect postings from the bundled sample job board into `Job`."""

from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field

from jobhunter_compiler import operation
from models.job import Job

from .postings_parser import parse_postings

BOARD_NAME = "sample_board"
BOARD_PAGE = Path(__file__).resolve().parent.parent / "data" / "sample_postings.html"


class ScrapeJobsInput(BaseModel):
    keywords: list[str] = Field(
        default_factory=list, description="Keep postings whose title has any of these words."
    )
    max_postings: Optional[int] = Field(default=None, ge=1, le=500)
    dry_run: bool = Field(default=False, description="Parse and count, but write nothing.")


class ScrapeJobsOutput(BaseModel):
    found: int = Field(description="Postings on the page that matched the keywords.")
    created: int = 0
    updated: int = 0
    job_ids: list[str] = Field(default_factory=list)


@operation(
    name="scrape_jobs",
    description="Import postings from the sample job board; re-running updates them.",
    category="jobs",
    inputs=ScrapeJobsInput,
    outputs=ScrapeJobsOutput,
    tags=["jobs", "scraping"],
    models_out=["Job"],
    timeout_s=120,
)
async def scrape_jobs(input: ScrapeJobsInput) -> ScrapeJobsOutput:
    postings = parse_postings(BOARD_PAGE.read_text(encoding="utf-8"))
    keywords = [word.lower() for word in input.keywords]
    if keywords:
        postings = [p for p in postings if any(k in p["title"].lower() for k in keywords)]
    if input.max_postings is not None:
        postings = postings[: input.max_postings]

    result = ScrapeJobsOutput(found=len(postings))
    if input.dry_run:
        return result
    for posting in postings:
        job = await Job.find_one(
            Job.source == BOARD_NAME, Job.external_id == posting["external_id"]
        )
        if job is None:
            job = Job(source=BOARD_NAME, **posting)
            await job.insert()
            result.created += 1
        else:
            await job.set(posting)
            result.updated += 1
        result.job_ids.append(str(job.id))
    return result
