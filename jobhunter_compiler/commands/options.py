"""Options several `jobhunter` commands share."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    text = "text"
    json = "json"


ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project", "-p", help="Project folder (holding .jobhunter.yml).", file_okay=False
    ),
]
FormatOption = Annotated[Format, typer.Option("--format", help="How to print diagnostics.")]

# `run` and `dev`: where the API and the embedded MongoDB listen.
HostOption = Annotated[str, typer.Option(help="Address the API listens on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="Port of the API.")]
MongoPortOption = Annotated[
    int,
    typer.Option(
        min=1, max=65535, help="Port of the embedded MongoDB (when MONGODB_URL is unset)."
    ),
]
