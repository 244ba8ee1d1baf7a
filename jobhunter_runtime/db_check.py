"""`db check` of the generated CLI: every stored document of every model's collection
validated against the current models, the way the API will read it, before a deploy
meets a document it cannot load.

It reads the raw documents and validates each with its Document class, so one bad
document is counted, not fatal. Errors are grouped per model by field and message, each
with the ids of a few documents that have it; the exit code is 1 when any fails.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from .cli import Database, connected, print_json, stderr, stdout

PROGRESS_FROM = 1000
"""Collections with more documents than this show a progress bar (on a terminal)."""

Examples = Annotated[
    int, typer.Option("--examples", min=0, max=100, help="Example ids shown per error.")
]


@dataclass
class ModelReport:
    name: str
    collection: str
    documents: int = 0
    invalid: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


def check_database(database: Database, examples: int, as_json: bool) -> None:
    """Validate, print the report, and exit 1 when any document fails."""
    reports = asyncio.run(_check(database, examples))
    if as_json:
        print_json(
            {
                "ok": not any(report.invalid for report in reports),
                "models": [_json(report) for report in reports],
            }
        )
    else:
        _print(reports)
    if any(report.invalid for report in reports):
        raise typer.Exit(1)


async def _check(database: Database, examples: int) -> list[ModelReport]:
    # start-up time: pydantic loads only for a command that reads documents, not for `--help`
    from pydantic import ValidationError

    reports = []
    async with connected(database) as documents:
        for document in documents:
            collection = document.get_pymongo_collection()
            report = ModelReport(document.__name__, collection.name)
            total = await collection.count_documents({})
            with Progress(
                TextColumn(f"checking {report.name}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=stderr,
                transient=True,
                disable=total <= PROGRESS_FROM or not stderr.is_terminal,
            ) as progress:
                task = progress.add_task("check", total=total)
                async for raw in collection.find({}):
                    report.documents += 1
                    progress.advance(task)
                    try:
                        document.model_validate(raw)
                    except ValidationError as exc:
                        report.invalid += 1
                        _count(report, raw.get("_id"), exc, examples)
            reports.append(report)
    return reports


def _count(report: ModelReport, document_id: Any, exc: Any, examples: int) -> None:
    """Each distinct error of one document, counted once."""
    for kind in sorted({_kind(error) for error in exc.errors()}):
        report.errors[kind] += 1
        if len(report.examples[kind]) < examples:
            report.examples[kind].append(str(document_id))


def _kind(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(document)"
    return f"{where}: {error['msg']}"


def _json(report: ModelReport) -> dict[str, Any]:
    return {
        "model": report.name,
        "collection": report.collection,
        "documents": report.documents,
        "invalid": report.invalid,
        "errors": [
            {"error": kind, "count": count, "examples": report.examples[kind]}
            for kind, count in sorted(report.errors.items())
        ],
    }


def _print(reports: list[ModelReport]) -> None:
    summary = Table(title="Documents", title_justify="left")
    for column in ("model", "collection", "documents", "invalid"):
        summary.add_column(
            column, justify="right" if column in ("documents", "invalid") else "left"
        )
    for report in reports:
        invalid = f"[red]{report.invalid}[/]" if report.invalid else "0"
        summary.add_row(report.name, report.collection, str(report.documents), invalid)
    stdout.print(summary)
    failing = [report for report in reports if report.invalid]
    if not failing:
        total = sum(report.documents for report in reports)
        stderr.print(f"[green]✓[/] all {total} documents load under the current models")
        return
    errors = Table(title="Errors", title_justify="left")
    for column in ("model", "error", "documents", "examples"):
        errors.add_column(column, justify="right" if column == "documents" else "left")
    for report in failing:
        for kind, count in sorted(report.errors.items()):
            errors.add_row(report.name, kind, str(count), ", ".join(report.examples[kind]))
    stdout.print(errors)
    invalid = sum(report.invalid for report in failing)
    stderr.print(
        f"[red]✗[/] {invalid} document(s) would fail to load; a migration "
        "(`jobhunter migrate new NAME`) or a fix by hand makes them valid"
    )
