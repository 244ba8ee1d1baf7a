"""No traceback on bad input: mutate the demo project's sources and its
`.jobhunter.yml` at random; the compiler must either succeed or return diagnostics with
well-formed codes and locations, and a failed compile must leave the last good
`.run_cache/` byte-for-byte untouched."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from jobhunter_compiler.diagnostics import CODES, Severity, render_json, render_text
from jobhunter_compiler.pipeline import compile_project

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO = REPO_ROOT / "jobhunter_compiler" / "demo_project"
CONFIG = ".jobhunter.yml"
OUTPUT = ".run_cache"
CACHE = ".jobhunter_cache"
CODE = re.compile(r"JH\d{3}")


def _project_files() -> dict[str, bytes]:
    files = {}
    for path in sorted(DEMO.rglob("*")):
        rel = path.relative_to(DEMO)
        if path.is_file() and not {"__pycache__", OUTPUT, CACHE} & set(rel.parts):
            files[rel.as_posix()] = path.read_bytes()
    return files


PRISTINE = _project_files()
PY_FILES = sorted(p for p in PRISTINE if p.endswith(".py"))
TARGETS = [*PY_FILES, CONFIG]
assert CONFIG in PRISTINE and len(PY_FILES) >= 8

# -- strategies --------------------------------------------------------------------------

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=126)
JUNK = st.one_of(
    st.text(PRINTABLE, min_size=1, max_size=30).map(str.encode),
    st.sampled_from(
        [
            b"(",
            b")",
            b"[",
            b"]",
            b"{",
            b"}",
            b"(((",
            b"]]]",
            b"({[",
            b"@datamodel(",
            b"@datamodel",
            b"@operation(",
            b"@datamodel(name=",
            b"@operation(inputs=",
            b"\t",
            b"\t\t  ",
            b"\x00",
            b"\xff\xfe",
            b"\xc3\x28",
            b"\x80abc",
            b"\r",
            b"\\",
            b'"""',
            b"'",
            b"class X(Document):",
            b"    x: int = ",
            b"from . import",
            b"from .. import *",
            b"import",
            b"async def f(",
            b"def g(x: Link[",
            b"lambda:",
            b":=",
            b"\xef\xbb\xbf",
            b"# coding: bogus",
            b"# -*- coding: latin-1 -*-",
            b"if True:",
            b"    ",
            b"\f",
            b"Literal[",
            b"Optional[",
            b"= =",
            b"**",
            b"@",
            b"- ",
            b": ",
            b"&anchor",
            b"*alias",
            b"!!python/object:os.system",
            b"%YAML 9",
            b"---",
            b"...",
            b"? ",
            b"\xe2\x80\x8b",
            "é".encode(),
        ]
    ),
    st.text(max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(min_size=1, max_size=12),
)

LineOp = tuple[str, str, int, int, bytes]
LINE_OP: st.SearchStrategy[LineOp] = st.tuples(
    st.sampled_from(TARGETS),
    st.sampled_from(
        [
            "drop",
            "duplicate",
            "truncate_line",
            "truncate_file",
            "insert_line",
            "insert_inline",
            "swap",
            "dedent",
            "indent",
        ]
    ),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    JUNK,
)

# Config values never name absolute paths or parents: a fuzzed `output_dir: /` or
# `models: [/]` would make the compiler write to, or walk, the whole file system.
SAFE_TEXT = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789_-*?[]{},. :#'\"\t\\é"), max_size=12
).filter(lambda s: not s.lstrip().startswith(("/", "~")) and ".." not in s)
KEYS = st.one_of(
    st.sampled_from(
        [
            "project",
            "models",
            "operations",
            "source_roots",
            "exclude",
            "decorator_modules",
            "output_dir",
            "docs",
            "graph_svg",
            "model",
            "operation",
            "doc",
            "api",
            "cli",
        ]
    ),
    SAFE_TEXT,
)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True), SAFE_TEXT
)
YAML_DATA = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
PATHISH = st.one_of(
    st.sampled_from(
        [
            "models",
            "operations",
            "models/",
            "models/*.py",
            "**/*.py",
            "operations/*.py",
            ".",
            "src",
            "lib",
            "models/job.py",
            "nonexistent",
            "",
            "*",
            "models/**",
            "[",
            "data",
            "operations/search_jobs.py",
            "models/__init__.py",
            "Makefile",
        ]
    ),
    SAFE_TEXT,
)
MODULEISH = st.one_of(
    st.sampled_from(["core.decorators", "models.common", "jobhunter_compiler", "", ".", "a..b"]),
    SAFE_TEXT,
)


def _maybe_wrong(valid: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(valid, valid, valid, YAML_DATA)


# Mostly well-typed configs, so the values get past validation and reach the scanner.
PLAUSIBLE_CONFIG = st.fixed_dictionaries(
    {},
    optional={
        "project": _maybe_wrong(SAFE_TEXT),
        "models": _maybe_wrong(st.lists(PATHISH, max_size=3)),
        "operations": _maybe_wrong(st.lists(PATHISH, max_size=3)),
        "source_roots": _maybe_wrong(st.lists(PATHISH, max_size=3)),
        "exclude": _maybe_wrong(st.lists(PATHISH, max_size=3)),
        "decorator_modules": _maybe_wrong(st.lists(MODULEISH, max_size=2)),
        "output_dir": _maybe_wrong(
            st.sampled_from([".run_cache", "out", "build/docs", "docs_out"])
        ),
        "docs": _maybe_wrong(st.fixed_dictionaries({}, optional={"graph_svg": st.booleans()})),
    },
)
CONFIG_DOC = st.one_of(
    PLAUSIBLE_CONFIG.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    PLAUSIBLE_CONFIG.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    st.dictionaries(KEYS, YAML_DATA, max_size=6).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True).encode()
    ),
    YAML_DATA.map(lambda d: yaml.safe_dump(d, allow_unicode=True).encode()),
    st.sampled_from(
        [
            b"models: 3\n",
            b"docs: {graph_svg: maybe}\n",
            b"docs: [1, 2]\n",
            b"models: [models, 3, {a: b}]\n",
            b"models: [unclosed\n",
            b"project: {\n",
            b"\t- models\n",
            b"just a string\n",
            b"- a\n- list\n",
            b"",
            b"# only a comment\n",
            b"---\nmodels: [models]\n---\nmodels: [x]\n",
            b"models: &a [models]\noperations: *a\n",
            b"models: *undefined\n",
            b"!!python/object/apply:os.system [echo pwned]\n",
            b"\xff\xfemodels: [models]\n",
            b"output_dir: 42\n",
            b"output_dir: \n",
            b"exclude: ['**/*.py']\n",
            b"decorator_modules: [core.decorators, 7]\n",
        ]
    ),
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[list[LineOp], bytes | None]:
    ops = draw(st.lists(LINE_OP, min_size=0, max_size=5))
    config = draw(st.one_of(st.none(), CONFIG_DOC))
    if not ops and config is None:
        ops = [draw(LINE_OP)]
    return ops, config


def apply_op(content: bytes, op: LineOp) -> bytes:
    _, kind, a, b, junk = op
    lines = content.splitlines(keepends=True) or [b""]
    i, j = a % len(lines), b % len(lines)
    line = lines[i]
    if kind == "drop":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, line)
    elif kind == "truncate_line":
        lines[i] = line[: b % (len(line) + 1)]
    elif kind == "truncate_file":
        return content[: a % (len(content) + 1)]
    elif kind == "insert_line":
        lines.insert(i, junk + b"\n")
    elif kind == "insert_inline":
        k = b % (len(line) + 1)
        lines[i] = line[:k] + junk + line[k:]
    elif kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "dedent":
        lines[i] = line.lstrip(b" ")
    elif kind == "indent":
        lines[i] = b"\t" + line
    return b"".join(lines)


# -- the project under test --------------------------------------------------------------


def tree(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def write_files(project: Path, files: dict[str, bytes]) -> None:
    for rel, content in files.items():
        target = project / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


class Workbench:
    """A fresh demo copy per example, with the output and scan cache of a good compile."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.project = base / "project"
        good = base / "good"
        write_files(good, PRISTINE)
        result = compile_project(good)
        assert result.ok, result.diagnostics
        self.good_output = tree(good / OUTPUT)
        self.good_cache = tree(good / CACHE)
        assert "manifest.json" in self.good_output

    def reset(self, files: dict[str, bytes]) -> Path:
        shutil.rmtree(self.project, ignore_errors=True)
        write_files(self.project, files)
        write_files(self.project / OUTPUT, self.good_output)
        write_files(self.project / CACHE, self.good_cache)
        return self.project


def check_result(project: Path, result, good_output: dict[str, bytes]) -> None:
    diagnostics = result.diagnostics
    for d in diagnostics:
        assert CODE.fullmatch(d.code), d
        assert d.code in CODES, d
        assert d.severity is CODES[d.code].severity, d
        assert d.message, d
        assert d.path is None or d.path == CONFIG or (project / d.path).is_file(), d
        assert not (d.path and Path(d.path).is_absolute()), d
        assert d.line is None or d.line >= 1, d
        assert d.col is None or d.col >= 1, d
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    assert result.ok == (not errors)
    # Rendering never fails either, whatever the file now holds.
    render_text(diagnostics, project)
    assert isinstance(json.loads(render_json(diagnostics)), list)
    leftovers = [p.name for p in project.iterdir() if ".staging" in p.name]
    assert not leftovers, leftovers
    if result.ok:
        assert result.ir is not None and result.plan is not None
    else:
        assert tree(project / OUTPUT) == good_output, "a failed compile touched .run_cache/"


FUZZ = settings(
    max_examples=int(os.environ.get("JOBHUNTER_FUZZ_EXAMPLES", "450")),
    deadline=None,
    database=None,  # never write .hypothesis/ into the repository
    # The same examples on every run, so `make test` cannot flake; set
    # JOBHUNTER_FUZZ_RANDOM=1 (and JOBHUNTER_FUZZ_EXAMPLES=5000) to explore further.
    derandomize=not os.environ.get("JOBHUNTER_FUZZ_RANDOM"),
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@FUZZ
@given(change=mutations())
def test_mutated_project_never_raises(tmp_path: Path, change) -> None:
    bench = _bench(tmp_path)
    ops, config = change
    files = dict(PRISTINE)
    for op in ops:
        files[op[0]] = apply_op(files[op[0]], op)
    if config is not None:
        files[CONFIG] = config
    project = bench.reset(files)

    result = compile_project(project)

    check_result(project, result, bench.good_output)
    event("compiled" if result.ok else "diagnosed")
    if result.ok:
        # Idempotent: right after a compile the output is fresh, by the fast path and by a
        # full compile alike (no scan cache, no recorded state).
        again = compile_project(project, mode="check")
        assert again.ok and not again.stale, again.diff[:3000]
        shutil.rmtree(project / CACHE)
        full = compile_project(project, mode="check")
        assert full.ok and not full.stale, full.diff[:3000]


_BENCHES: dict[Path, Workbench] = {}


def _bench(tmp_path: Path) -> Workbench:
    if tmp_path not in _BENCHES:
        _BENCHES[tmp_path] = Workbench(tmp_path)
    return _BENCHES[tmp_path]


def test_apply_op_mutates() -> None:
    """The mutation helpers really change the sources (else the fuzz test proves nothing)."""
    source = b"a = 1\nb = 2\nc = 3\n"
    assert apply_op(source, ("x", "drop", 1, 0, b"")) == b"a = 1\nc = 3\n"
    assert apply_op(source, ("x", "duplicate", 0, 0, b"")) == b"a = 1\na = 1\nb = 2\nc = 3\n"
    assert apply_op(source, ("x", "truncate_line", 2, 3, b"")) == b"a = 1\nb = 2\nc ="
    assert apply_op(source, ("x", "truncate_file", 7, 0, b"")) == b"a = 1\nb"
    assert apply_op(source, ("x", "insert_line", 1, 0, b"((")) == b"a = 1\n((\nb = 2\nc = 3\n"
    assert apply_op(source, ("x", "insert_inline", 0, 1, b"@")) == b"a@ = 1\nb = 2\nc = 3\n"
    assert apply_op(source, ("x", "swap", 0, 2, b"")) == b"c = 3\nb = 2\na = 1\n"


# -- valid (if odd) Python the compiler must survive -----------------------------------

ODD_HEADER = (
    "from beanie import Document\nfrom pydantic import Field\n"
    "from jobhunter_compiler import datamodel\n\n@datamodel()\nclass Odd(Document):\n"
)
ODD_BUT_VALID: dict[str, str] = {
    "field_alias_not_a_string": "    a: int = Field(alias=1)\n",
    "field_description_not_a_string": "    a: int = Field(description=['x'])\n",
    "field_title_not_a_string": "    a: int = Field(title=2)\n",
    "field_constraint_not_a_scalar": "    a: int = Field(ge=[1])\n",
    "annotation_nested_150_deep": "    a: " + "list[" * 150 + "int" + "]" * 150 + "\n",
    "default_nested_150_deep": "    a: list = " + "[" * 150 + "]" * 150 + "\n",
    "long_expression_800_terms": "    a: int = " + " + ".join(["1"] * 800) + "\n",
}


@pytest.mark.parametrize("case", sorted(ODD_BUT_VALID))
def test_odd_but_valid_python_is_never_a_traceback(tmp_path: Path, case: str) -> None:
    source = ODD_HEADER + ODD_BUT_VALID[case]
    compile(source, "odd.py", "exec")  # CPython accepts it: the compiler must not crash
    project = tmp_path / "odd"
    write_files(project, {"models/odd.py": source.encode()})
    result = compile_project(project)
    check_result(project, result, {})
    assert result.ok or result.diagnostics


# -- a few hand-picked mutations through the real command line ---------------------------

BROKEN_PROJECTS: dict[str, dict[str, bytes]] = {
    "truncated_and_binary": {
        "models/job.py": PRISTINE["models/job.py"][:1500],
        "models/application.py": b"\xff\xfe\x00" + PRISTINE["models/application.py"],
        "operations/search_jobs.py": PRISTINE["operations/search_jobs.py"].replace(
            b"class JobSummary", b"@datamodel(\nclass JobSummary", 1
        ),
        CONFIG: b"models: [unclosed\n",
    },
    "junk_everywhere": {
        "models/job.py": PRISTINE["models/job.py"].replace(b"    title:", b"\ttitle:", 1),
        "models/test_item.py": PRISTINE["models/test_item.py"] + b"\n]]]\x00@datamodel(\n",
        "operations/scrape_jobs.py": PRISTINE["operations/scrape_jobs.py"].replace(
            b"inputs=ScrapeJobsInput", b"inputs=ScrapeJobsInput(((", 1
        ),
        CONFIG: b"model: [models]\ndocs: {graph_svg: maybe}\noutput_dir: [1]\n",
    },
    "config_only": {CONFIG: b"- just\n- a list\n"},
}


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


@pytest.mark.parametrize("name", sorted(BROKEN_PROJECTS))
def test_cli_never_prints_a_traceback(tmp_path: Path, name: str) -> None:
    """Through the real entry point: an uncaught exception would print a traceback."""
    project = tmp_path / name
    write_files(project, {**PRISTINE, **BROKEN_PROJECTS[name]})
    proc = subprocess.run(
        [sys.executable, "-m", "jobhunter_compiler", "compile", "-p", str(project)],
        capture_output=True,
        timeout=120,
        env=_env(),
    )
    output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert "Traceback" not in output, output
    assert proc.returncode == 1, f"exit {proc.returncode}:\n{output}"
    assert re.search(r"JH\d{3} error", output), output
    assert not (project / OUTPUT).exists(), "a failed compile wrote output"


@pytest.mark.parametrize(
    "command",
    [
        ["compile", "--check", "--format", "json"],
        ["compile", "--diff"],
        ["lint"],
        ["lint", "--format", "json"],
        ["inspect"],
        ["inspect", "--json"],
    ],
    ids=" ".join,
)
def test_every_command_reports_broken_projects_cleanly(tmp_path: Path, command: list[str]) -> None:
    from typer.testing import CliRunner

    from jobhunter_compiler.commands.main import app

    for name, changes in BROKEN_PROJECTS.items():
        project = tmp_path / name
        write_files(project, {**PRISTINE, **changes})
        result = CliRunner().invoke(app, [*command, "-p", str(project)])
        assert result.exception is None or isinstance(
            result.exception, SystemExit
        ), f"{name}: {result.exception!r}"
        assert result.exit_code == 1, f"{name}: {result.output}"
        assert re.search(r"JH\d{3}", result.output), f"{name}: {result.output}"
        if "json" in command and command[0] != "inspect":
            data = json.loads(result.stdout)
            diagnostics = data["diagnostics"] if isinstance(data, dict) else data
            assert any(d["severity"] == "error" for d in diagnostics), data
        assert not (project / OUTPUT).exists()
