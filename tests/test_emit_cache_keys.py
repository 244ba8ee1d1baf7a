"""The emission cache (emit/emit_cache.py) beyond tests/test_emit_cache.py's edits of sources:
node facts those edits leave alone, and what an edit rewrites on disk."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jobhunter_compiler.emit.emit_cache import NodeKeys
from jobhunter_compiler.emit.emit_cache import _home as shard_of
from jobhunter_compiler.ir import FieldIR, ProjectIR, TypeRef
from jobhunter_compiler.pipeline import Analysis, analyse, emit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "bench"))

from synth import generate  # noqa: E402


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Analysis:
    root = tmp_path_factory.mktemp("synth") / "project"
    generate(root, 30)
    analysis = analyse(root)
    assert analysis.ir is not None
    return analysis


def describe(ir: ProjectIR) -> None:
    ir.operations[0].description = "A summary of the probe."


def categorise(ir: ProjectIR) -> None:
    ir.operations[1].category = "probe"


def tag(ir: ProjectIR) -> None:
    ir.models[2].tags = ["probe", *ir.models[2].tags]


@pytest.mark.parametrize("edit", [describe, categorise, tag], ids=lambda e: e.__name__)
def test_whole_project_files_follow_the_node_facts_they_read(
    synthetic: Analysis, tmp_path: Path, edit: Callable[[ProjectIR], None]
) -> None:
    """`cli/app.py` lists every operation's summary and category and every model's first
    tag: from the cache, it follows an edit of any one of them."""
    ir, config = synthetic.ir, synthetic.config
    assert ir is not None
    emit(ir, config, tmp_path)
    edited = ir.model_copy(deep=True)
    edit(edited)
    assert emit(edited, config, tmp_path) == emit(edited, config, None)


def shard_bytes(cache_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in cache_dir.glob("emit-*/*")}


def scope_digests(ir: ProjectIR) -> dict[str, str]:
    """Node name -> the digest of the part of the IR its renderers read."""
    keys = NodeKeys(ir)
    return {node.name: keys.scope_digest(node) for node in [*ir.models, *ir.operations]}


def test_an_edit_rewrites_only_the_shards_of_the_nodes_it_touched(
    synthetic: Analysis, tmp_path: Path
) -> None:
    """All values of one node live in one shard: after editing a model, the shards written
    are those of the nodes whose keys changed (the model and the nodes naming it), not
    one per changed value (six per model, four per operation)."""
    before, config, cache_dir = synthetic.ir, synthetic.config, tmp_path
    assert before is not None
    emit(before, config, cache_dir)
    shards = shard_bytes(cache_dir)

    after = before.model_copy(deep=True)
    probe = TypeRef(kind="str", nullable=True)
    source = after.models[3].source
    after.models[3].fields.append(
        FieldIR(name="probe", type="str | None", type_info=probe, required=False, source=source)
    )
    emit(after, config, cache_dir)
    rewritten = {name for name, data in shard_bytes(cache_dir).items() if shards.get(name) != data}

    old, new = scope_digests(before), scope_digests(after)
    homes = {shard_of(name) for name, digest in new.items() if old.get(name) != digest}
    assert homes and rewritten == homes
