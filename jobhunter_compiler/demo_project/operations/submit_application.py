"""Apply to a job posting."""

from typing import Optional

from beanie import PydanticObjectId
from pydantic import BaseModel, Field

from jobhunter_compiler import OperationError, operation
from models.application import Application, ApplicationStatus
from models.job import Job, JobStatus


class SubmitApplicationInput(BaseModel):
    job_id: str = Field(description="Id of an open Job.")
    applicant_name: str = Field(min_length=1, max_length=120)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    cover_letter: Optional[str] = Field(default=None, max_length=10_000)
    resume_url: Optional[str] = None
    expected_salary: Optional[int] = Field(default=None, ge=0)


class SubmitApplicationOutput(BaseModel):
    application_id: str
    status: ApplicationStatus
    already_applied: bool = Field(
        default=False, description="True when this e-mail had applied before; nothing was created."
    )


@operation(
    name="submit_application",
    description="Apply to an open job posting, once per e-mail address.",
    category="applications",
    inputs=SubmitApplicationInput,
    outputs=SubmitApplicationOutput,
    tags=["applications"],
    models_in=["Job"],
    models_out=["Application"],
    retries=1,
    timeout_s=30,
)
async def submit_application(input: SubmitApplicationInput) -> SubmitApplicationOutput:
    """Refuses (OperationError) an unknown or closed posting; re-applying returns the
    existing application instead of creating a second one."""
    if not PydanticObjectId.is_valid(input.job_id):
        raise OperationError(f"not a job id: {input.job_id!r}")
    job = await Job.get(PydanticObjectId(input.job_id))
    if job is None:
        raise OperationError(f"no job with id {input.job_id}")
    if job.status != JobStatus.OPEN:
        raise OperationError(f"job {input.job_id} is {job.status.value}, not open")

    email = input.email.strip().lower()
    existing = await Application.find_one(Application.job.id == job.id, Application.email == email)
    if existing is not None:
        return SubmitApplicationOutput(
            application_id=str(existing.id), status=existing.status, already_applied=True
        )

    application = Application(
        job=job,
        applicant_name=input.applicant_name,
        email=email,
        cover_letter=input.cover_letter,
        resume_url=input.resume_url,
        expected_salary=input.expected_salary,
    )
    await application.insert()
    return SubmitApplicationOutput(application_id=str(application.id), status=application.status)
