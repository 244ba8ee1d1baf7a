"""The emission cache's keys are derived from what each renderer reads: change one kind of
input (a model, an operation, a config key, a template override, the compiler) and the
values rendered again are those of the renderers that read it, the output is that of a
compile from scratch, and every changed file made from cached values holds one rendered
again. Emitters run here without the formatting post-step, so a cached value is found
verbatim in its file."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobhunter_compiler.config import Config
from jobhunter_compiler.emit import EmitSettings
from jobhunter_compiler.emit.emit_cache import NodeScopes, Rendered, emission_cache
from jobhunter_compiler.emit.template_set import TemplateSet
from jobhunter_compiler.ir import FieldIR, ProjectIR, TypeRef, node_label
from jobhunter_compiler.pipeline import EMITTERS, Analysis, analyse

REPO = Path(__file__).resolve().parents[1]
BUILTIN_TEMPLATES = REPO / "jobhunter_compiler" / "templates"
sys.path.insert(0, str(REPO / "tests" / "bench"))

from synth import generate  # noqa: E402


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    root = tmp_path_factory.mktemp("synth") / "project"
    generate(root, 12)
    analysis = analyse(root)
    assert analysis.ok and analysis.ir is not None
    return analysis


@dataclass
class Emitted:
    files: dict[str, bytes]
    rendered: list[Rendered]
    """The cache entries rendered (not found) by this compile."""
    fresh: list[bytes]
    """Their values."""
    cached: list[bytes]
    """Every value of the cache this compile used, found or rendered."""


def _bytes(value: object) -> bytes | None:
    return value.encode() if isinstance(value, str) else value if isinstance(value, bytes) else None


def emit_cached(ir: ProjectIR, config: Config, templates: TemplateSet, cache_dir: Path) -> Emitted:
    cache = emission_cache(ir, cache_dir)
    settings = EmitSettings(config=config, templates=templates, cache=cache)
    files = {f.path: f.content for emitter in EMITTERS for f in emitter(ir, settings)}
    cache.save()
    values = {key: _bytes(value) for key, value in cache.used.items()}
    fresh = [v for key, v in values.items() if v and key not in cache.entries]
    cached = [v for v in values.values() if v]
    return Emitted(files, cache.rendered, fresh, cached)


def emit_uncached(ir: ProjectIR, config: Config, templates: TemplateSet) -> dict[str, bytes]:
    settings = EmitSettings(config=config, templates=templates)
    return {f.path: f.content for emitter in EMITTERS for f in emitter(ir, settings)}


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


def holding(files: dict[str, bytes], values: list[bytes]) -> set[str]:
    """The files holding any of `values`."""
    return {path for path, content in files.items() if any(v in content for v in values)}


def check(before: Emitted, after: Emitted, scratch: dict[str, bytes]) -> set[str]:
    """The incremental output is the one from scratch, and each changed file that cached
    values make up holds a value rendered again; returns the changed files."""
    assert after.files == scratch
    changed = changed_files(before.files, after.files)
    from_cache = holding(after.files, after.cached)
    stale = (changed & from_cache) - holding(after.files, after.fresh)
    assert not stale, f"changed but made of values found in the cache: {sorted(stale)}"
    return changed


def subjects(rendered: list[Rendered]) -> set[str]:
    """The nodes whose per-node values were rendered."""
    return {r.subject for r in rendered if r.subject.startswith(("model:", "operation:"))}


def renderers(rendered: list[Rendered]) -> set[str]:
    return {r.renderer.rpartition(".")[2] for r in rendered}


@pytest.fixture
def baseline(synthetic: Analysis, tmp_path: Path) -> Iterator[tuple[Emitted, Path]]:
    assert synthetic.ir is not None
    cache_dir = tmp_path / "cache"
    first = emit_cached(synthetic.ir, synthetic.config, TemplateSet(), cache_dir)
    assert first.rendered, "a first compile renders everything"
    again = emit_cached(synthetic.ir, synthetic.config, TemplateSet(), cache_dir)
    assert again.rendered == [] and again.files == first.files
    yield first, cache_dir
    shutil.rmtree(cache_dir, ignore_errors=True)


def test_a_model_edit_renders_that_model_and_the_nodes_naming_it(
    synthetic: Analysis, baseline: tuple[Emitted, Path]
) -> None:
    before, cache_dir = baseline
    assert synthetic.ir is not None
    after_ir = synthetic.ir.model_copy(deep=True)
    edited = after_ir.models[5]
    probe = TypeRef(kind="str", nullable=True)
    edited.fields.append(
        FieldIR(
            name="probe", type="str | None", type_info=probe, required=False, source=edited.source
        )
    )
    after = emit_cached(after_ir, synthetic.config, TemplateSet(), cache_dir)
    changed = check(before, after, emit_uncached(after_ir, synthetic.config, TemplateSet()))

    scopes = NodeScopes(after_ir)
    naming = {
        node_label(node)
        for node in [*after_ir.models, *after_ir.operations]
        if any(m.name == edited.name for m in scopes.of(node).models)
    }
    assert subjects(after.rendered) == naming
    assert len(naming) < len(after_ir.models) + len(after_ir.operations)
    assert any(p.startswith("generated_routes/models/") for p in changed)


def test_an_operation_edit_renders_that_operation_and_the_files_listing_it(
    synthetic: Analysis, baseline: tuple[Emitted, Path]
) -> None:
    before, cache_dir = baseline
    assert synthetic.ir is not None
    after_ir = synthetic.ir.model_copy(deep=True)
    edited = after_ir.operations[3]
    edited.description = "A summary of the probe."
    after = emit_cached(after_ir, synthetic.config, TemplateSet(), cache_dir)
    changed = check(before, after, emit_uncached(after_ir, synthetic.config, TemplateSet()))

    assert subjects(after.rendered) == {node_label(edited)}
    # The CLI's command table lists every operation's summary: it is an input of its own.
    assert "_app_module" in renderers(after.rendered)
    assert "cli/app.py" in changed
    assert holding(after.files, after.fresh) >= changed & holding(after.files, after.cached)


def test_a_config_key_renders_what_reads_it(
    synthetic: Analysis, baseline: tuple[Emitted, Path]
) -> None:
    before, cache_dir = baseline
    assert synthetic.ir is not None
    config = synthetic.config.model_copy(deep=True)
    config.api.default_page_size += 7
    after = emit_cached(synthetic.ir, config, TemplateSet(), cache_dir)
    changed = check(before, after, emit_uncached(synthetic.ir, config, TemplateSet()))

    # The CLI's model commands take the page size; the API's app module takes the whole
    # `api` section, so it is rendered again too, the same as before.
    assert renderers(after.rendered) == {"_model_module", "_app_module"}
    assert {r.renderer for r in after.rendered if r.subject.startswith("model:")} == {
        "jobhunter_compiler.emit.typer_cli._model_module"
    }
    assert subjects(after.rendered) == {node_label(m) for m in synthetic.ir.models}
    cli_models = {
        p for p in after.files if p.startswith("cli/models/") and p != "cli/models/__init__.py"
    }
    assert changed & holding(after.files, after.cached) == cli_models
    assert holding(after.files, after.fresh) == {*cli_models, "generated_api.py"}


def test_a_template_override_renders_again_and_changes_what_uses_it(
    synthetic: Analysis, baseline: tuple[Emitted, Path], tmp_path: Path
) -> None:
    before, cache_dir = baseline
    assert synthetic.ir is not None
    overrides = tmp_path / "templates"
    template = "api/operation_router.py.j2"
    (overrides / "api").mkdir(parents=True)
    builtin = (BUILTIN_TEMPLATES / template).read_text(encoding="utf-8")
    (overrides / template).write_text(builtin + "# overridden\n", encoding="utf-8")
    templates = TemplateSet(overrides)
    after = emit_cached(synthetic.ir, synthetic.config, templates, cache_dir)
    changed = check(before, after, emit_uncached(synthetic.ir, synthetic.config, templates))

    routers = {
        p
        for p in after.files
        if p.startswith("generated_routes/operations/") and "__init__" not in p
    }
    assert changed == routers
    # Which templates a renderer uses is not known before it runs: every value rendered
    # with templates is rendered again, and only the routers came out different.
    assert {node_label(o) for o in synthetic.ir.operations} <= subjects(after.rendered)
    again = emit_cached(synthetic.ir, synthetic.config, TemplateSet(overrides), cache_dir)
    assert again.rendered == [] and again.files == after.files


def test_another_compiler_renders_everything_again_and_changes_nothing(
    synthetic: Analysis, baseline: tuple[Emitted, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    before, cache_dir = baseline
    assert synthetic.ir is not None
    monkeypatch.setattr(
        "jobhunter_compiler.emit.emit_cache.compiler_fingerprint", lambda: "another compiler"
    )
    after = emit_cached(synthetic.ir, synthetic.config, TemplateSet(), cache_dir)
    assert (
        check(before, after, emit_uncached(synthetic.ir, synthetic.config, TemplateSet())) == set()
    )
    assert len(after.rendered) == len(before.rendered)
    assert subjects(after.rendered) == subjects(before.rendered)
