"""The emission cache: per model and per operation, each emitter's rendered output (a
module, a docs section, the node's part of metadata.json) is kept across compiles, keyed
by a digest of everything the rendering reads, so a compile after one edited model renders
that model's outputs (and the shared files) only.

Why a key is complete: a per-node renderer reads (1) the node itself, (2) the models the
node names (link/backlink/embedded targets, `models_in`/`models_out`: their module, class,
id type, fields), (3) project-wide facts: the project name (headers), the ordered model and
operation names (unique module names), every node's module (first-party import groups),
all schemas and enums (imports, choices), the config and (4) the compiler and templates.
`NodeKeys` below is the one place these slices are taken; what else a value reads is its
`extra` (a docs section: its anchor and what the graph says of its node). A slice missing
means stale output, which `tests/test_emit_cache.py` (incremental == from scratch after
random edits) exists to catch. When in doubt a slice belongs to the project-wide part: that
only costs re-rendering. Two narrower kinds of value: `per_json`, computed from one node's
JSON alone and keyed by the node's digest; `per_project`, a whole-project file keyed by
the project-wide slice and an `extra`.

Storage: 256 pickled shards in `.jobhunter_cache/emit-5/`, a node's values in one shard,
holding only the entries the last compile used. Any problem reading one means rendering
again, never a failure.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel

from ..config import Config
from ..fingerprint import compiler_fingerprint
from ..ir import (
    EnumIR,
    FieldIR,
    ModelIR,
    NodeDigests,
    OperationIR,
    ProjectIR,
    SchemaIR,
    TypeRef,
    node_label,
)

T = TypeVar("T")
NodeKind = Literal["model", "operation"]
IRNode = ModelIR | OperationIR | SchemaIR | EnumIR
# Bump when what a cached value is (not how it is rendered: the fingerprint covers that)
# changes shape.
EMIT_CACHE = "emit-5"
_REF_KINDS = frozenset({"model", "link", "backlink"})


def _digest(*parts: bytes | str) -> str:
    """sha256 of the parts, each length-prefixed. sha256, not blake2b: over twice as fast
    where the CPU has SHA extensions, and a compile hashes ~10 MB of node JSON."""
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def _home(name: str) -> str:
    """Two hex characters from a node's name: its shard. One node's values share a shard,
    so after an edit only the shards of the nodes it touched are rewritten."""
    return f"{zlib.crc32(name.encode()) & 0xFF:02x}"


def _key(home: str, digest: str, renderer: str, extra: str = "") -> str:
    """A value's key: its shard, the digest of what the value reads besides `extra`, the
    renderer's name, and `extra` hashed. Joined, not hashed again: a compile makes ~15,000
    keys, and `digest` is computed once per node. It is a fixed-length hex digest, and no
    renderer's name holds a NUL, so the joining is unambiguous."""
    if extra:
        return f"{home}{digest}{renderer}\0{hashlib.sha256(extra.encode()).hexdigest()}"
    return f"{home}{digest}{renderer}"


def _json_of(node: BaseModel) -> bytes:
    """`node.model_dump_json()` as bytes, without its decoding to str and our encoding back."""
    return node.__pydantic_serializer__.to_json(node)


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _type_refs(type_ref: TypeRef, found: set[str]) -> None:
    """Add the models a TypeRef tree names (model, link and backlink kinds) to `found`."""
    stack = [type_ref]
    while stack:
        item = stack.pop()
        if item.kind in _REF_KINDS and item.ref is not None:
            found.add(item.ref)
        stack.extend(item.args)


def _field_refs(fields: list[FieldIR], found: set[str]) -> set[str]:
    for item in fields:
        if item.type_info.ref is not None or item.type_info.args:  # else a plain scalar
            _type_refs(item.type_info, found)
    return found


def _strings(data: Any, found: set[str]) -> set[str]:
    """Every string in free-form JSON (a model's `relations`): any may be a model name."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def _model_refs(model: ModelIR) -> set[str]:
    """Models a model names: its fields' link/backlink/embedded targets and `relations`."""
    return _strings(model.relations, _field_refs(model.fields, set()))


def _operation_refs(operation: OperationIR) -> set[str]:
    """Models an operation names: `models_in`/`models_out` and its inputs' and outputs'
    field types."""
    found = {*operation.models_in, *operation.models_out}
    return _field_refs(operation.outputs.fields, _field_refs(operation.inputs.fields, found))


class NodeKeys:
    """Cache keys of one IR's nodes: the dependency sets of every per-node renderer.

    A node is known by a digest: the resolver's (`given`, see `NodeDigests`), else that
    of its JSON, serialised once by pydantic's serialiser (half the cost of dumping the
    IR to dicts). The models a node names are found by walking its TypeRef trees."""

    def __init__(
        self,
        ir: ProjectIR,
        config: Config,
        templates_digest: str = "",
        given: NodeDigests | None = None,
    ) -> None:
        self.compiler = compiler_fingerprint()
        self._digests: dict[int, tuple[BaseModel, str]] = {}
        self._models = {m.name: m for m in ir.models}
        self._operations = {o.name: o for o in ir.operations}
        self._node_digests: dict[tuple[str, str], tuple[str, str]] = {}
        self.unique = len(self._models) == len(ir.models) and len(self._operations) == len(
            ir.operations
        )
        """False when two nodes share a name: keys by name would be ambiguous, so nothing
        is cached (such a project fails its checks before emitting anyway)."""
        self._given = given if given is not None and self.unique else {}
        schema_models: set[str] = set()
        for schema in ir.schemas:
            _field_refs(schema.fields, schema_models)
        layout = _json(
            {
                "project": ir.project,
                "models": [(m.name, m.module, m.class_name) for m in ir.models],
                "operations": [(o.name, o.module) for o in ir.operations],
                "schema_models": sorted(schema_models),
            }
        )
        # Models a schema names are read wherever the schema is: part of every key.
        self.project: str = _digest(
            self.compiler,
            templates_digest,
            config.model_dump_json(),
            layout,
            f"{len(ir.schemas)} schemas, {len(ir.enums)} enums",
            *(self.digest(node) for node in [*ir.schemas, *ir.enums]),
            *(f"{n}:{self._model_digest(n)}" for n in sorted(schema_models)),
        )
        """The project-wide slice of every key."""

    def key(self, renderer: str, kind: NodeKind, name: str, extra: str = "") -> str:
        return _key(*self._node_digest(kind, name), renderer, extra)

    def digest(self, node: IRNode) -> str:
        """What identifies the node, once per compile whoever asks (the node is kept, so
        its id is not reused by another object meanwhile)."""
        known = self._digests.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        digest = self._given.get(node_label(node)) or hashlib.sha256(_json_of(node)).hexdigest()
        self._digests[id(node)] = (node, digest)
        return digest

    def _node_digest(self, kind: NodeKind, name: str) -> tuple[str, str]:
        """The node's shard, and the digest of the project-wide slice, the node and every
        model it names; once per node."""
        known = self._node_digests.get((kind, name))
        if known is None:
            node = self._models[name] if kind == "model" else self._operations[name]
            named = (
                _model_refs(node) - {name} if isinstance(node, ModelIR) else _operation_refs(node)
            )
            own = self.digest(node)
            digest = _digest(
                self.project, kind, own, *(f"{n}:{self._model_digest(n)}" for n in sorted(named))
            )
            known = self._node_digests[(kind, name)] = (_home(name), digest)
        return known

    def _model_digest(self, name: str) -> str:
        node = self._models.get(name)
        return self.digest(node) if node else "absent"


class EmitCache:
    """Rendered per-node values by key. Strings and bytes are kept as they are; anything
    else pickled on its own, so loading a shard unpickles only flat strings. Entries are
    spread over 256 shard files by key prefix (see `_key`): after one edit, saving
    rewrites the few shards that gained or lost an entry instead of the whole cache."""

    def __init__(self, cache_dir: Path | None, keys: NodeKeys) -> None:
        self.folder = cache_dir / EMIT_CACHE if cache_dir is not None else None
        self.keys = keys
        self.entries: dict[str, Any] = self._load()
        self.used: dict[str, Any] = {}

    def node(
        self, renderer: str, kind: NodeKind, name: str, extra: str, produce: Callable[[], T]
    ) -> T:
        if not self.keys.unique:
            return produce()
        return self.get(self.keys.key(renderer, kind, name, extra), produce)

    def get(self, key: str, produce: Callable[[], T]) -> T:
        """The value stored under `key`, else `produce()`'s (kept for the next compile)."""
        stored = self.entries.get(key)
        if stored is not None:
            try:
                value: T = pickle.loads(stored[1]) if isinstance(stored, tuple) else stored
            except Exception:  # a damaged entry is a miss
                stored = None
        if stored is None:
            value = produce()
            stored = value if isinstance(value, str | bytes) else ("pickle", pickle.dumps(value))
        self.used[key] = stored
        return value

    def _load(self) -> dict[str, Any]:
        entries: dict[str, Any] = {}
        try:
            shards = sorted(self.folder.iterdir()) if self.folder is not None else []
        except OSError:
            return entries
        for shard in shards:
            try:
                data = pickle.loads(shard.read_bytes())  # one read: faster than pickle.load
            except Exception:  # truncated or foreign: those entries are rendered again
                continue
            if isinstance(data, dict):
                name = shard.name
                entries.update(
                    (k, v) for k, v in data.items() if isinstance(k, str) and k[:2] == name
                )
        return entries

    def save(self) -> None:
        """Keep exactly the entries this compile used: rewrite (or delete) each shard whose
        key set changed."""
        if self.folder is None:
            return
        changed = {key[:2] for key in self.used.keys() ^ self.entries.keys()}
        shards: dict[str, dict[str, Any]] = {name: {} for name in changed}
        for key, value in self.used.items():
            if key[:2] in shards:
                shards[key[:2]][key] = value
        for name, entries in sorted(shards.items()):
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / name
            if not entries:
                target.unlink(missing_ok=True)
                continue
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            with temporary.open("wb") as handle:
                pickle.dump(entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)


def emission_cache(
    ir: ProjectIR,
    config: Config,
    templates_digest: str,
    cache_dir: Path,
    digests: NodeDigests | None = None,
) -> EmitCache:
    """The cache of a compile of `ir` with `config` and templates of `templates_digest`,
    stored under `cache_dir`; `digests` are the resolver's, for exactly this `ir`. The
    caller saves it once the emitters are done."""
    return EmitCache(cache_dir, NodeKeys(ir, config, templates_digest, digests))


def per_node(
    cache: EmitCache | None,
    renderer: str,
    kind: NodeKind,
    name: str,
    produce: Callable[[], T],
    extra: str = "",
) -> T:
    """`produce()`, or its value from `cache`. `renderer` names the output (say
    "api.model"); the value must be picklable. `extra` is whatever else the value depends
    on beyond the key's slices (say the edges touching the node in docs): it is part of
    the key."""
    if cache is None:
        return produce()
    return cache.node(renderer, kind, name, extra, produce)


def per_json(
    cache: EmitCache | None, renderer: str, node: IRNode, produce: Callable[[bytes], T]
) -> T:
    """`produce(JSON of node)` for a value computed from that JSON alone (no templates, no
    config, no other node), kept under the node's digest: say a node's part of
    `metadata.json`, which survives any edit of another node."""
    if cache is None:
        return produce(_json_of(node))
    key = _key(_home(node.name), cache.keys.digest(node), f"{renderer}\0{cache.keys.compiler}")
    return cache.get(key, lambda: produce(_json_of(node)))


def per_project(cache: EmitCache | None, renderer: str, extra: str, produce: Callable[[], T]) -> T:
    """`produce()` for a value of the whole project that reads, besides the project-wide
    slice of every key (names, modules, schemas, enums, config, templates, compiler),
    only `extra`: say the graph's nodes and edges, for `graph.mmd`."""
    if cache is None:
        return produce()
    return cache.get(_key(_home(renderer), cache.keys.project, renderer, extra), produce)
