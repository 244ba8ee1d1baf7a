"""The docs emitter (`core_docs/`), on small hand-built IRs."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from jobhunter_compiler.config import Config, DocsConfig
from jobhunter_compiler.emit import EmitSettings
from jobhunter_compiler.emit.docs import (
    GENERATED_BY,
    GraphvizMissing,
    block,
    cell,
    code,
    emit_docs,
    scrub_svg,
    unique_ids,
)
from jobhunter_compiler.emit.docs import (
    plain as plain_text,
)
from jobhunter_compiler.emit.emit_cache import EmitCache, emission_cache
from jobhunter_compiler.emit.template_set import TemplateSet
from jobhunter_compiler.ir import (
    DefaultValue,
    DetailSection,
    EdgeIR,
    FieldIR,
    IndexIR,
    ModelIR,
    OperationIO,
    OperationIR,
    ProjectIR,
    SourceRef,
    TypeRef,
    UiHints,
    dump_json,
    ir_json_schema,
    json_bytes,
    json_part,
)

HAS_DOT = shutil.which("dot") is not None
ROOT = Path(__file__).resolve().parents[1]
SAFE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def src(path: str = "models/job.py", line: int = 1) -> SourceRef:
    return SourceRef(path=path, line=line, col=1)


def fld(name: str, type_: str, kind: str = "str", *, required: bool = True, **extra) -> FieldIR:
    type_info = extra.pop("type_info", None) or TypeRef(kind=kind)
    return FieldIR(
        name=name, type=type_, type_info=type_info, required=required, source=src(), **extra
    )


def sample_ir() -> ProjectIR:
    company = ModelIR(
        name="Company",
        class_name="Company",
        module="models.company",
        source=src("models/company.py", 5),
        description="An employer.",
        tags=["jobs"],
        collection="companies",
        bases=["beanie.Document"],
        fields=[
            fld("name", "str", constraints={"min_length": 1}),
            fld(
                "jobs",
                "list[BackLink[Job]]",
                "list",
                required=False,
                default=DefaultValue(kind="factory", value=None, text="list"),
                type_info=TypeRef(kind="list", args=[TypeRef(kind="backlink", ref="Job")]),
            ),
        ],
    )
    job = ModelIR(
        name="Job",
        class_name="Job",
        module="models.job",
        source=src("models/job.py", 12),
        description="A job posting.\nScraped or entered by hand.",
        tags=["search", "jobs"],
        ui=UiHints(
            icon="briefcase",
            primary_field="title",
            list_fields=["title", "company"],
            widgets={"status": "select", "notes": "markdown"},
            detail_sections=[DetailSection(title="Main", fields=["title", "status"])],
        ),
        collection="jobs",
        indexes=[IndexIR(keys=[("title", 1)], unique=True, name="by_title", text='("title", 1)')],
        bases=["models.base.Base"],
        fields=[
            fld("title", "str", description="Title | shown in lists", indexed=True),
            fld(
                "status",
                'Literal["open", "closed"]',
                "literal",
                required=False,
                default=DefaultValue(kind="literal", value="open", text='"open"'),
                type_info=TypeRef(kind="literal", values=["open", "closed"]),
            ),
            fld(
                "salary",
                "int | None",
                "int",
                required=False,
                default=DefaultValue(kind="literal", value=None, text="None"),
                constraints={"ge": 0, "le": 1_000_000},
                description="Yearly,\nin EUR",
            ),
            fld(
                "company",
                "Link[Company]",
                "link",
                type_info=TypeRef(kind="link", ref="Company"),
            ),
            fld(
                "created_by",
                "str",
                required=False,
                inherited_from="models.base.Base",
                default=DefaultValue(kind="literal", value="system", text="'system'"),
            ),
        ],
    )
    search = OperationIR(
        name="search_jobs",
        function="search_jobs",
        module="operations.search",
        source=src("operations/search.py", 20),
        description="Find jobs by keyword.",
        category="jobs",
        is_async=True,
        async_enabled=True,
        retries=2,
        timeout_s=30.0,
        inputs=OperationIO(
            schema_id="operations.search.SearchInput",
            fields=[fld("query", "str", description="Words | phrases")],
        ),
        outputs=OperationIO(
            schema_id="operations.search.SearchOutput",
            fields=[fld("ids", "list[str]", "list")],
        ),
        models_in=["Job"],
    )
    archive = OperationIR(
        name="jobs.archive",
        function="archive",
        module="operations.jobs",
        source=src("operations/jobs.py", 3),
        category="jobs",
        is_async=False,
        async_enabled=False,
        inputs=OperationIO(),
        outputs=OperationIO(),
        models_in=["Job"],
        models_out=["Job"],
    )
    collide = OperationIR(  # sanitises to the same id as `jobs.archive`
        name="jobs_archive",
        function="jobs_archive",
        module="operations.misc",
        source=src("operations/misc.py", 1),
        is_async=True,
        async_enabled=True,
        inputs=OperationIO(),
        outputs=OperationIO(),
        models_out=["Company"],
    )
    edges = [
        EdgeIR(source="model:Job", target="operation:search_jobs", kind="reads"),
        EdgeIR(source="model:Job", target="operation:jobs.archive", kind="reads"),
        EdgeIR(source="operation:jobs.archive", target="model:Job", kind="writes"),
        EdgeIR(source="operation:jobs_archive", target="model:Company", kind="writes"),
        EdgeIR(source="model:Job", target="model:Company", kind="link", field="company"),
        EdgeIR(source="model:Company", target="model:Job", kind="backlink", field="jobs"),
        EdgeIR(source="model:Job", target="model:Base", kind="inherits"),
    ]
    return ProjectIR(
        project="demo",
        models=[company, job],
        operations=[search, archive, collide],
        edges=edges,
    )


def docs_settings(svg: bool = False, cache: EmitCache | None = None) -> EmitSettings:
    return EmitSettings(Config(docs=DocsConfig(graph_svg=svg)), TemplateSet(), cache)


def files(ir: ProjectIR, svg: bool = False, cache: EmitCache | None = None) -> dict[str, str]:
    out = emit_docs(ir, docs_settings(svg, cache))
    return {f.path: f.content.decode("utf-8") for f in out}


def table_rows(markdown: str, header_start: str) -> list[list[str]]:
    """Rows (cells split on unescaped `|`) of the first table whose header starts so."""
    lines = markdown.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line)[1:-1]
        rows.append([c.strip() for c in cells])
    return rows


def section(markdown: str, heading: str) -> str:
    """Text from `heading` (exact line) to the next heading of the same or higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = markdown.split("\n")
    start = lines.index(heading)
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(rf"^#{{1,{level}}} ", lines[i])),
        len(lines),
    )
    return "\n".join(lines[start:end])


# --------------------------------------------------------------------------- file set


def test_file_set_and_metadata() -> None:
    ir = sample_ir()
    out = files(ir)
    assert sorted(out) == [
        "core_docs/graph.dot",
        "core_docs/graph.mmd",
        "core_docs/metadata.json",
        "core_docs/metadata.schema.json",
        "core_docs/models.md",
        "core_docs/operations.md",
    ]
    assert out["core_docs/metadata.json"] == ir.to_json()
    assert out["core_docs/metadata.schema.json"] == ir_json_schema()
    assert ProjectIR.model_validate(json.loads(out["core_docs/metadata.json"])) == ir


def test_metadata_json_holds_each_record_on_a_line_of_its_own() -> None:
    """So that a diff after an edit shows the records that changed: top-level lines, and
    one line per model, operation, schema, enum and edge, in order."""
    text = files(sample_ir())["core_docs/metadata.json"]
    data = json.loads(text)
    lines = text.splitlines()
    records = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    ")]
    lists = ("edges", "enums", "models", "operations", "schemas")
    assert records == [record for key in lists for record in data[key]]
    assert len(records) > len(lists)
    top_level = [line for line in lines if not line.startswith("    ")]
    assert all(line in "{}" or line.startswith(('  "', "  ]")) for line in top_level), top_level


def test_every_file_is_clean_text_with_a_header() -> None:
    out = files(sample_ir())
    for path, text in out.items():
        assert "\r" not in text, path
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert all(line == line.rstrip() for line in text.split("\n")), path
        assert "/work/" not in text and "/tmp/" not in text, path
    header = f"<!-- {GENERATED_BY} -->"
    assert out["core_docs/models.md"].startswith(header + "\n")
    assert out["core_docs/operations.md"].startswith(header + "\n")
    assert out["core_docs/graph.mmd"].startswith(f"%% {GENERATED_BY}\n")
    assert out["core_docs/graph.dot"].startswith(f"// {GENERATED_BY}\n")
    for text in out.values():
        assert not re.search(r"\d+\.\d+\.\d+", text.split("\n", 1)[0])  # no version in header


# --------------------------------------------------------------------------- models.md


def test_models_summary_table() -> None:
    md = files(sample_ir())["core_docs/models.md"]
    rows = table_rows(md, "| Model |")
    assert [r[0] for r in rows] == ["[Company](#model_Company)", "[Job](#model_Job)"]
    assert rows[1][1:4] == ["`jobs`", "5", "`jobs`, `search`"]
    assert rows[1][4] == "A job posting."  # first line only


def test_model_section_and_field_table() -> None:
    md = files(sample_ir())["core_docs/models.md"]
    job = section(md, "## Job")
    assert "A job posting.\nScraped or entered by hand." in job
    assert "- **Class:** `Job` in `models.job` (`models/job.py:12`)" in job
    assert "- **Collection:** `jobs`" in job
    rows = table_rows(job, "| Field |")
    assert [r[0] for r in rows] == ["`title`", "`status`", "`salary`", "`company`", "`created_by`"]
    by_name = {r[0].strip("`"): r for r in rows}
    # name | type | required | default | constraints | description
    title = ["`title`", "`str`", "yes", "—", "indexed", "Title \\| shown in lists"]
    assert by_name["title"] == title
    assert by_name["status"][1] == '`Literal["open", "closed"]`'
    assert by_name["status"][2:5] == ["no", '`"open"`', 'one of `"open"`, `"closed"`']
    assert by_name["salary"] == [
        "`salary`",
        "`int \\| None`",
        "no",
        "`None`",
        "`ge=0`, `le=1000000`",
        "Yearly,<br>in EUR",
    ]
    assert by_name["created_by"][5] == "*Inherited from* `models.base.Base`"
    company = section(md, "## Company")
    jobs_row = table_rows(company, "| Field |")[1]
    assert jobs_row[1] == "`list[BackLink[Job]]`" and jobs_row[3] == "`list` (factory)"


def test_model_indexes_ui_and_relations() -> None:
    md = files(sample_ir())["core_docs/models.md"]
    job = section(md, "## Job")
    assert '- `("title", 1)` — name `by_title`, unique' in job
    ui = section(job, "### UI hints")
    assert "- **Icon:** `briefcase`" in ui
    assert "- **List fields:** `title`, `company`" in ui
    assert "- **Widgets:** `notes` → `markdown`, `status` → `select`" in ui  # sorted keys
    assert "Searchable" not in ui  # unset hints are not shown
    rel = section(job, "### Relations")
    assert "- **Links to:** [Company](#model_Company) via `company`" in rel
    assert "- **Back-linked by:** [Company](#model_Company).`jobs`" in rel
    assert "- **Inherits from:** `Base`" in rel  # not declared: no dangling link
    assert (
        "- **Read by:** [jobs.archive](operations.md#op_jobs_archive), "
        "[search_jobs](operations.md#op_search_jobs)"
    ) in rel
    assert "- **Written by:** [jobs.archive](operations.md#op_jobs_archive)" in rel
    assert '<a id="model_Job"></a>' in md
    assert "### UI hints" not in section(md, "## Company")


# --------------------------------------------------------------------------- operations.md


def test_operations_grouped_by_category_uncategorised_last() -> None:
    md = files(sample_ir())["core_docs/operations.md"]
    h2 = [line for line in md.split("\n") if line.startswith("## ")]
    assert h2 == ["## jobs", "## Uncategorised"]
    h3 = [line for line in md.split("\n") if line.startswith("### ")]
    assert h3 == ["### jobs.archive", "### search_jobs", "### jobs_archive"]
    assert "### jobs_archive" in section(md, "## Uncategorised")
    rows = table_rows(md, "| Operation |")
    assert [r[0] for r in rows] == [
        "[jobs.archive](#op_jobs_archive)",
        "[search_jobs](#op_search_jobs)",
        "[jobs_archive](#op_jobs_archive_2)",
    ]
    assert rows[1][1:6] == ["jobs", "async", "yes", "[Job](models.md#model_Job)", "none"]


def test_operation_section() -> None:
    md = files(sample_ir())["core_docs/operations.md"]
    op = section(md, "### search_jobs")
    assert "Find jobs by keyword." in op
    assert "- **Function:** `search_jobs` in `operations.search` (`operations/search.py:20`)" in op
    assert "- **Execution:** `async def`" in op
    assert "- **TaskRun:** recorded for every call (`async_enabled`)" in op
    assert "- **Retries:** 2" in op and "- **Timeout:** 30 s" in op
    assert "- **Models in:** [Job](models.md#model_Job)" in op
    assert "- **Models out:** none" in op
    inputs = section(op, "#### Inputs (`operations.search.SearchInput`)")
    assert table_rows(inputs, "| Field |") == [
        ["`query`", "`str`", "yes", "—", "", "Words \\| phrases"]
    ]
    outputs = section(op, "#### Outputs (`operations.search.SearchOutput`)")
    assert [r[0] for r in table_rows(outputs, "| Field |")] == ["`ids`"]

    archive = section(md, "### jobs.archive")
    assert "- **Execution:** `def` (runs in a worker thread)" in archive
    assert "- **TaskRun:** not recorded" in archive
    assert "- **Timeout:** none" in archive
    assert section(archive, "#### Inputs") == "#### Inputs\n\nNone.\n"


# --------------------------------------------------------------------------- graphs


def mermaid_nodes(mmd: str) -> dict[str, str]:
    return dict(re.findall(r"^  (\S+?)(?:\[\(|\(\[)(\".*?\")", mmd, flags=re.M))


def mermaid_edges(mmd: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r"^  (\S+) [-=.]+>\|(\".*?\")\| (\S+)$", mmd, flags=re.M))


def dot_nodes(dot: str) -> dict[str, str]:
    found = re.findall(r"^  (\w+) \[label=(\".*?(?<!\\)\")", dot, flags=re.M)
    return {node: label for node, label in found if node not in ("graph", "node", "edge")}


def dot_edges(dot: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r"^  (\w+) -> (\w+) \[label=(\".*?(?<!\\)\")", dot, flags=re.M))


EXPECTED_IDS = {
    "model_Base": "Base",
    "model_Company": "Company",
    "model_Job": "Job",
    "op_jobs_archive": "jobs.archive",
    "op_jobs_archive_2": "jobs_archive",
    "op_search_jobs": "search_jobs",
}
EXPECTED_EDGES = {
    ("model_Job", "op_search_jobs", "reads"),
    ("model_Job", "op_jobs_archive", "reads"),
    ("op_jobs_archive", "model_Job", "writes"),
    ("op_jobs_archive_2", "model_Company", "writes"),
    ("model_Job", "model_Company", "link: company"),
    ("model_Company", "model_Job", "backlink: jobs"),
    ("model_Job", "model_Base", "inherits"),
}


def test_mermaid_graph() -> None:
    mmd = files(sample_ir())["core_docs/graph.mmd"]
    assert mmd.split("\n")[2] == "flowchart LR"
    nodes = mermaid_nodes(mmd)
    assert {k: json.loads(v) for k, v in nodes.items()} == EXPECTED_IDS
    assert all(SAFE_ID.match(i) and i.lower() != "end" for i in nodes)
    assert '  model_Job[("Job")]:::model' in mmd
    assert '  op_jobs_archive(["jobs.archive"]):::operation' in mmd
    assert "  class model_Base missing" in mmd  # an edge names it, nothing declares it
    edges = {(s, t, json.loads(label)) for s, label, t in mermaid_edges(mmd)}
    assert edges == EXPECTED_EDGES
    assert '  op_jobs_archive ==>|"writes"| model_Job' in mmd
    assert '  model_Job -.->|"link: company"| model_Company' in mmd


def test_dot_graph() -> None:
    dot = files(sample_ir())["core_docs/graph.dot"]
    nodes = dot_nodes(dot)
    assert {k: json.loads(v) for k, v in nodes.items()} == EXPECTED_IDS
    assert all(SAFE_ID.match(i) for i in nodes)
    assert 'model_Job [label="Job", shape=cylinder' in dot
    assert 'op_jobs_archive [label="jobs.archive", shape=box, style="rounded,filled"' in dot
    assert 'model_Base [label="Base", shape=cylinder, style="filled,dashed"' in dot
    edges = {(s, t, json.loads(label)) for s, t, label in dot_edges(dot)}
    assert edges == EXPECTED_EDGES
    assert dot.count(" -> ") == len(EXPECTED_EDGES)
    assert dot.rstrip().endswith("}")


def test_labels_are_escaped() -> None:
    ir = sample_ir()
    ir.project = 'my "quoted" \\ project'
    weird = ir.models[0].model_copy(update={"name": 'We"ird<x>#1'})
    ir.models.append(weird)
    out = files(ir)
    dot = out["core_docs/graph.dot"]
    assert 'label="my \\"quoted\\" \\\\ project"' in dot
    assert 'model_We_ird_x__1 [label="We\\"ird<x>#1"' in dot
    mmd = out["core_docs/graph.mmd"]
    assert 'model_We_ird_x__1[("We#quot;ird#lt;x#gt;#35;1")]:::model' in mmd


def test_unique_ids_are_deterministic_and_collision_free() -> None:
    keys = [
        "operation:a.b",
        "operation:a_b",
        "operation:a-b",
        "operation:a_b_2",  # its natural id must not be stolen by a suffixed one
        "model:a.b",
        "model:end",
    ]
    ids = unique_ids(keys)
    assert len(set(ids.values())) == len(keys)
    assert all(SAFE_ID.match(i) for i in ids.values())
    assert ids["operation:a_b_2"] == "op_a_b_2"
    assert ids["model:end"] == "model_end"
    for _ in range(5):
        shuffled = keys[:]
        random.shuffle(shuffled)
        assert unique_ids(shuffled) == ids


# --------------------------------------------------------------------------- emission cache


def cached_files(ir: ProjectIR, cache_dir: Path) -> dict[str, str]:
    """`files(ir)`, rendered through the emission cache kept in `cache_dir`."""
    cache = emission_cache(ir, cache_dir)
    rendered = files(ir, cache=cache)
    cache.save()
    return rendered


def test_cached_sections_follow_what_the_graph_says_about_their_node(tmp_path: Path) -> None:
    """A node may stay as it is while its anchor changes (ids are unique over all graph
    nodes, undeclared ones too) or its relations do (other nodes' edges): sections and
    graph files from the cache follow, and the pages are those of an uncached render."""
    ir = sample_ir()
    job_x = ir.models[0].model_copy(update={"name": "Job_x", "fields": []})
    plain = ir.model_copy(
        update={
            "models": [*ir.models, job_x],
            "operations": [o for o in ir.operations if o.name != "jobs.archive"],
            "edges": [e for e in ir.edges if "jobs.archive" not in e.source + e.target],
        }
    )
    # Edges naming an undeclared `jobs.archive` and `Job.x` take the ids `op_jobs_archive`
    # and `model_Job_x`: `jobs_archive` and `Job_x` move to `..._2`, though unchanged.
    undeclared = [
        *(e for e in ir.edges if "jobs.archive" in e.source + e.target),
        EdgeIR(source="model:Company", target="model:Job.x", kind="inherits"),
    ]
    linked = EdgeIR(source="model:Company", target="model:Job_x", kind="link", field="x")
    ghost = [  # a graph node without an edge
        o.model_copy(update={"models_in": ["Ghost"]}) if o.name == "jobs_archive" else o
        for o in plain.operations
    ]
    versions = [  # each after `plain`, whose entries the cache keeps till the next compile
        plain.model_copy(update={"edges": [*plain.edges, *undeclared]}),
        plain.model_copy(update={"edges": [*plain.edges, linked]}),
        plain.model_copy(update={"operations": ghost}),
    ]
    for version in versions:
        assert cached_files(plain, tmp_path) == files(plain)
        assert cached_files(version, tmp_path) == files(version)
    assert "op_jobs_archive_2" in files(versions[0])["core_docs/operations.md"]
    assert 'id="model_Job_x_2"' in files(versions[0])["core_docs/models.md"]


TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)  # JSON has no lone surrogates
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(JSON_VALUES, max_size=4))
def test_json_parts_splice_into_the_document_dump_json_writes(items: list) -> None:
    """metadata.json is assembled from one part per node: the same bytes as dumping it whole,
    whatever the nesting depth, strings (newlines included) and empty containers."""
    whole = {"nodes": items, "graph": {"edges": items}}
    spliced = {
        "nodes": [orjson.Fragment(json_part(item, 2)) for item in items],
        "graph": {"edges": [orjson.Fragment(json_part(item, 3)) for item in items]},
    }
    assert json_bytes(spliced) == json_bytes(whole)
    assert dump_json(spliced) == dump_json(whole)


# --------------------------------------------------------------------------- determinism


def test_render_twice_same_bytes() -> None:
    first = emit_docs(sample_ir(), docs_settings())
    second = emit_docs(sample_ir(), docs_settings())
    assert [(f.path, f.content) for f in first] == [(f.path, f.content) for f in second]


def test_output_does_not_depend_on_list_or_dict_order() -> None:
    """Emitters sort models, operations, edges, tags and dict keys themselves (metadata.json
    is the IR verbatim, so it is left out; field order is declaration order by design)."""
    reference = files(sample_ir())
    rng = random.Random(1234)
    for _ in range(5):
        ir = sample_ir()
        for items in (ir.models, ir.operations, ir.edges):
            rng.shuffle(items)
        for model in ir.models:
            rng.shuffle(model.tags)
            widgets = list(model.ui.widgets.items())
            rng.shuffle(widgets)
            model.ui.widgets = dict(widgets)
            for f in model.fields:
                constraints = list(f.constraints.items())
                rng.shuffle(constraints)
                f.constraints = dict(constraints)
        out = files(ir)
        for path in reference:
            if not path.endswith("metadata.json"):
                assert out[path] == reference[path], path


def test_same_bytes_under_different_hash_seeds() -> None:
    script = (
        f"import hashlib, sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'tests')!r}];"
        "from test_docs_emitter import files, sample_ir;"
        "out = files(sample_ir());"
        "print(hashlib.sha256(repr(sorted(out.items())).encode()).hexdigest())"
    )
    digests = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_empty_project() -> None:
    out = files(ProjectIR(project="empty"))
    assert "0 models." in out["core_docs/models.md"]
    assert "| Model |" not in out["core_docs/models.md"]
    assert "0 operations" in out["core_docs/operations.md"]
    assert "flowchart LR" in out["core_docs/graph.mmd"]
    assert "digraph jobhunter {" in out["core_docs/graph.dot"]


# --------------------------------------------------------------------------- helpers


def test_code_span_and_cell_helpers() -> None:
    assert code("a`b") == "`` a`b ``"
    assert code("x\ny") == "`x y`"
    assert cell("a | b\nc") == "a \\| b<br>c"
    assert code("a\x00b") == "`a\\x00b`"


COMMONMARK = MarkdownIt("commonmark").enable("table").enable("strikethrough")
MARKDOWN_SIGNS = st.sampled_from([*"\\`*_~$#[]()<>!&;|:-+=.)0123456789 \t\n", "```", "<!--"])
SOME_TEXT = st.lists(
    st.one_of(MARKDOWN_SIGNS, st.characters(blacklist_categories=("Cs", "Cc")))
).map("".join)


def shown_paragraphs(markdown: str) -> list[str]:
    """The text of each paragraph a Markdown document renders; fails on anything else."""
    paragraphs = []
    for token in COMMONMARK.parse(markdown):
        assert token.type in ("paragraph_open", "inline", "paragraph_close"), markdown
        if token.type == "inline":
            children = token.children or []
            assert {child.type for child in children} <= {"text", "softbreak"}, markdown
            paragraphs.append("".join(child.content or "\n" for child in children))
    return paragraphs


@settings(max_examples=500)
@given(SOME_TEXT)
def test_free_text_renders_as_exactly_that_text(value: str) -> None:
    """A description opens no list, heading, code block, HTML or link, whatever it holds."""
    lines = "\n".join(line.strip() for line in value.strip().split("\n"))
    expected = [re.sub(r"\n+", "\n", p) for p in re.split(r"\n\s*\n", lines) if p.strip()]
    assert shown_paragraphs(block(value)) == expected


@settings(max_examples=300)
@given(SOME_TEXT.map(lambda value: " ".join(value.split())))
def test_a_title_renders_as_exactly_that_text(value: str) -> None:
    assert shown_paragraphs(f"x {plain_text(value)}") == [f"x {value}".strip()]


# --------------------------------------------------------------------------- svg


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
def test_svg_only_when_asked_and_valid_xml() -> None:
    assert "core_docs/graph.svg" not in files(sample_ir(), svg=False)
    out = files(sample_ir(), svg=True)
    svg = out["core_docs/graph.svg"]
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "Generated by graphviz" not in svg
    assert "graphviz version" not in svg.lower()
    titles = {el.text for el in root.iter("{http://www.w3.org/2000/svg}title")}
    assert set(EXPECTED_IDS) <= titles
    assert svg.endswith("\n") and "\r" not in svg
    assert files(sample_ir(), svg=True)["core_docs/graph.svg"] == svg  # stable


def test_graphviz_missing_raises(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `dot` anywhere
    files(sample_ir(), svg=False)  # not asked for: fine without Graphviz
    with pytest.raises(GraphvizMissing):
        emit_docs(sample_ir(), docs_settings(svg=True))


def test_scrub_svg_drops_version_comment() -> None:
    raw = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\r\n'
        "<!-- Generated by graphviz version 2.43.0 (0)\r\n -->\r\n"
        "<!-- Title: jobhunter Pages: 1 -->\r\n<svg></svg>\r\n"
    )
    assert scrub_svg(raw) == (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        "<!-- Title: jobhunter Pages: 1 -->\n<svg></svg>\n"
    )
