"""Diagnostics: every problem in user input, reported the way ruff and rustc do.

A diagnostic carries a stable code (`JH###`), a location relative to the project root, and
a hint. Every code is declared once in `CODES` so the catalogue (`jobhunter explain`, the
README) and the checks cannot drift apart.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(BaseModel):
    code: str
    severity: Severity
    title: str
    hint: str


def _codes(*entries: tuple[str, Severity, str, str]) -> dict[str, Code]:
    return {c: Code(code=c, severity=s, title=t, hint=h) for c, s, t, h in entries}


E, W = Severity.ERROR, Severity.WARNING
CODES: dict[str, Code] = _codes(
    # 0xx: input files and configuration
    ("JH001", E, "syntax error", "fix the syntax; the file is skipped until it parses"),
    ("JH002", E, "invalid configuration", "see .jobhunter.yml.example for every key"),
    (
        "JH003",
        E,
        "unreadable source file",
        "check the file's encoding (UTF-8) and permissions, or split deeply nested expressions",
    ),
    (
        "JH004",
        W,
        "no models or operations found",
        "check `models:`/`operations:` in .jobhunter.yml",
    ),
    (
        "JH005",
        E,
        "graphviz missing",
        "install Graphviz (`apt-get install graphviz`) or set docs.graph_svg: false",
    ),
    ("JH006", E, "project is locked", "wait for the other compile (or watch) to finish"),
    (
        "JH007",
        E,
        "graphviz failed",
        "check graph.dot with `dot -Tsvg`, or set docs.graph_svg: false",
    ),
    ("JH008", E, "project folder not found", "pass the folder holding .jobhunter.yml"),
    (
        "JH009",
        E,
        "not a jobhunter project",
        "run in your project's folder, pass --project, or start one with `jobhunter demo DIR`",
    ),
    (
        "JH010",
        E,
        "template override failed",
        "fix the template in templates_dir, or delete it to use the built-in one",
    ),
    (
        "JH011",
        E,
        "text UTF-8 cannot encode",
        "remove the lone surrogate (a `\\udXXX` escape without its pair): "
        "every generated file is UTF-8",
    ),
    (
        "JH012",
        E,
        "declarations nested too deeply",
        "nest fewer classes inside each other (a model holding a model holding a model..., "
        "at most about 1,900 levels)",
    ),
    (
        "JH013",
        E,
        "file name is not a module name",
        "rename the file and its folders to Python identifiers (`job_board.py`, not "
        "`job-board.py`): the generated code imports the module",
    ),
    # 1xx: decorator arguments
    (
        "JH101",
        E,
        "non-literal decorator argument",
        "decorator arguments must be literals or names bound to module-level literals",
    ),
    ("JH102", W, "unknown decorator argument", "remove it, or check its spelling"),
    (
        "JH103",
        W,
        "unknown ui key",
        "known keys: icon, primary_field, list_fields, searchable_fields, "
        "sortable_fields, hidden_fields, readonly_fields, detail_sections, widgets, on_delete",
    ),
    ("JH104", E, "invalid decorator argument", "check the argument's type against the docs"),
    (
        "JH105",
        E,
        "decorated object is of the wrong kind",
        "@datamodel decorates a class; @operation decorates a function",
    ),
    (
        "JH106",
        E,
        "unknown permission",
        "permissions take the keys read, create, update and delete, each a list of roles",
    ),
    (
        "JH107",
        E,
        "unknown role",
        "use a role listed in `api.roles` of .jobhunter.yml (or `*`, any signed-in user)",
    ),
    # 2xx: models and fields
    ("JH201", E, "duplicate model name", "model names must be unique across the project"),
    (
        "JH202",
        E,
        "field without annotation",
        "annotate it (`name: str = ...`), or mark it ClassVar",
    ),
    (
        "JH203",
        E,
        "invalid name",
        "use letters, digits and underscores, not starting with a digit, "
        "not a Python or TypeScript keyword, and at most 100 characters",
    ),
    ("JH204", E, "ui hint names an unknown field", "use one of the model's field names"),
    (
        "JH205",
        W,
        "unresolved type",
        "import the type from a module the scanner can read; "
        "the field is treated as opaque JSON",
    ),
    ("JH206", E, "unknown link target", "Link[...] must name a @datamodel class"),
    (
        "JH207",
        E,
        "collection shared by unrelated models",
        "give one of the models its own Settings.name; models meant to share a collection "
        "belong in one `Settings.is_root = True` hierarchy or one UnionDoc",
    ),
    (
        "JH208",
        E,
        "invalid collection name",
        "MongoDB collection names are non-empty, at most 200 bytes, without '$' or NUL, and "
        "do not start with 'system.'; `task_runs` holds the TaskRun records and "
        "`jobhunter_users` the app's users",
    ),
    (
        "JH209",
        E,
        "field name clash",
        "give the field another alias: every field needs its own JSON name, and `id` is "
        "the record's id",
    ),
    (
        "JH210",
        W,
        "field type needs a package that is not installed",
        "install it where `jobhunter run` and `jobhunter ops` run; the generated "
        "requirements.txt lists it for the API image",
    ),
    (
        "JH211",
        W,
        "read-only field without a default",
        "give it a default (or default_factory) if only the server sets it",
    ),
    (
        "JH212",
        E,
        "Beanie 1 `class Collection`",
        "rename it `class Settings:`; Beanie 2 refuses a Document with an inner "
        "`class Collection` when it starts",
    ),
    (
        "JH213",
        W,
        "alias the compiler cannot compute",
        "use pydantic's to_camel, to_pascal or to_snake (or an AliasGenerator of them) and "
        "literal keys in AliasChoices/AliasPath, or give each field its Field(alias=...); "
        "until then the fields keep their names",
    ),
    (
        "JH214",
        E,
        "alias generator renames a Document's id",
        'declare `id: PydanticObjectId | None = Field(None, alias="_id")` in the class: '
        "Beanie stores the id under its alias, so a generated one (`id`, `Id`) loses it",
    ),
    (
        "JH215",
        W,
        "Decimal that Beanie cannot read back",
        "annotate it `DecimalAnnotation` (`from beanie import DecimalAnnotation`), which reads "
        "Decimal128 back; limits go beside it: "
        "`Annotated[DecimalAnnotation, Field(max_digits=8, decimal_places=2)]`",
    ),
    (
        "JH216",
        W,
        "time of day that BSON cannot store",
        "BSON has no time-of-day type: store a `datetime`, a `timedelta` since midnight, or "
        'the time as text (`str` with `Field(pattern=r"^\\d{2}:\\d{2}(:\\d{2})?$")`)',
    ),
    (
        "JH217",
        W,
        "NameEmail that Beanie cannot store",
        "store the address as `EmailStr` and the name in a field of its own (or the whole "
        "`Name <address>` as `str`); a NameEmail is fine in an operation's inputs and outputs",
    ),
    (
        "JH218",
        W,
        "validation alias with no flat key",
        'add a plain key to it (`AliasChoices("total", AliasPath("totals", 0))`), or set '
        "`populate_by_name=True`: the generated API, CLI and UI send each field under one "
        "flat key, which the model must take",
    ),
    (
        "JH219",
        W,
        "NaiveDatetime that the generated app cannot read back",
        "use `datetime` (or `AwareDatetime`): the generated app reads datetimes from MongoDB "
        "with their time zone (UTC), which a NaiveDatetime refuses",
    ),
    (
        "JH220",
        E,
        "on_delete on a field that is no link",
        "ui.on_delete takes fields typed `Link[Model]`, `Link[Model] | None` or "
        "`list[Link[Model]]`",
    ),
    (
        "JH221",
        E,
        "set_null on a required link",
        "a required link cannot be cleared: make it `Link[Model] | None = None`, or choose "
        '"protect" or "cascade"',
    ),
    (
        "JH222",
        W,
        "links_to that names no model or holds no id",
        '`Field(json_schema_extra={"links_to": "Model"})` goes on a `str` or '
        "`PydanticObjectId` field (or a list of them) and names a @datamodel model",
    ),
    # 3xx: operations
    ("JH301", E, "duplicate operation name", "operation names must be unique across the project"),
    ("JH302", E, "unknown model", "models_in/models_out must name @datamodel models"),
    (
        "JH303",
        E,
        "inputs/outputs class not found",
        "define the class in a scanned module and import it where the operation is declared",
    ),
    ("JH304", E, "inputs/outputs is not a BaseModel", "inputs and outputs must be pydantic models"),
    # 4xx: schema evolution, against the snapshot in migrations_dir
    (
        "JH401",
        W,
        "schema change that needs no migration",
        "documents stored under the recorded models still load; `jobhunter migrate new NAME` "
        "records the change",
    ),
    (
        "JH402",
        W,
        "schema change that needs a migration",
        "`jobhunter migrate new NAME` writes a migration for it and records the new schema; "
        "`compile --check` and `migrate check` fail until then",
    ),
    (
        "JH403",
        W,
        "probable field rename",
        "`jobhunter migrate new NAME` writes a migration that moves the values",
    ),
    (
        "JH404",
        W,
        "unreadable schema snapshot",
        "restore it from version control (a merge conflict?), or delete it and record the "
        "current schema with `jobhunter migrate new NAME`",
    ),
)


class Diagnostic(BaseModel):
    code: str
    severity: Severity
    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None

    @property
    def location(self) -> str:
        if self.path is None:
            return "<project>"
        if self.line is None:
            return self.path
        return f"{self.path}:{self.line}:{self.col or 1}"

    def sort_key(self) -> tuple:
        return (self.path or "", self.line or 0, self.col or 0, self.code, self.message)


def diagnostic(
    code: str,
    message: str,
    path: str | None = None,
    line: int | None = None,
    col: int | None = None,
    hint: str | None = None,
) -> Diagnostic:
    entry = CODES[code]
    return Diagnostic(
        code=code,
        severity=entry.severity,
        message=message,
        path=path,
        line=line,
        col=col,
        hint=hint or entry.hint,
    )


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A rustc-style suggestion for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def render_text(diagnostics: list[Diagnostic], root: Path) -> str:
    """ruff/rustc style: location, code, message, the source line with a caret, a hint."""
    blocks = []
    for d in sorted(diagnostics, key=Diagnostic.sort_key):
        lines = [f"{d.location}: {d.code} {d.severity.value}: {d.message}"]
        source_line = _source_line(root, d)
        if source_line is not None:
            gutter = str(d.line)
            # Tabs are shown as 4 spaces; the caret must move the same way.
            caret_col = len(source_line[: max((d.col or 1) - 1, 0)].expandtabs(4))
            lines.append(f"{' ' * len(gutter)} |")
            lines.append(f"{gutter} | {source_line.expandtabs(4)}")
            lines.append(f"{' ' * len(gutter)} | {' ' * caret_col}^")
        if d.hint:
            lines.append(f"  = hint: {d.hint}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_json(diagnostics: list[Diagnostic]) -> str:
    data = [d.model_dump(mode="json") for d in sorted(diagnostics, key=Diagnostic.sort_key)]
    return json.dumps(data, indent=2, sort_keys=True)


def _source_line(root: Path, d: Diagnostic) -> str | None:
    if d.path is None or d.line is None:
        return None
    try:
        text = (root / d.path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    if not 1 <= d.line <= len(lines):
        return None
    return lines[d.line - 1]
