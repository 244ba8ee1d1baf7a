"""The emission cache: per model and per operation, each emitter's rendered output (a
module, a docs section, the node's part of metadata.json) is kept across compiles, keyed
by a digest of everything the rendering reads, so a compile after one edited model renders
that model's outputs (and the shared files) only.

Why a key is complete: a cached renderer is a function that gets nothing but its inputs,
and the key is a digest of exactly those inputs (plus the renderer's name and the
compiler's fingerprint):
- `per_node(cache, scopes, node, render, *args)` calls `render(scope, node, *args)`, where
  `scope` is the part of the IR `NodeScopes` hands a node's renderer: the node, the models
  it names (link/backlink/embedded targets, `models_in`/`models_out`), the models any
  schema names, every schema and enum and the project's name. A model outside the scope
  is not there to be read, so a key cannot miss it.
- `per_project(cache, render, *args)` calls `render(*args)`: whole-project files, whose
  inputs are built explicitly from the IR by the emitter.
- `per_json(cache, renderer, node, produce)`: a value computed from one node's JSON alone.
`args` are digested by value (JSON; a `TemplateSet` by its override files' digest), so
whatever a renderer reads besides its scope has to be an argument, and is in the key.
Nodes are digested once per compile, by the resolver's digest when it has one.

Storage: 256 pickled shards in `.jobhunter_cache/emit-6/`, a node's values in one shard,
holding only the entries the last compile used. Any problem reading one means rendering
again, never a failure.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec, TypeVar

import orjson
from pydantic import BaseModel

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
from .template_set import TemplateSet

T = TypeVar("T")
P = ParamSpec("P")
N = TypeVar("N", ModelIR, OperationIR)
NodeKind = Literal["model", "operation"]
IRNode = ModelIR | OperationIR | SchemaIR | EnumIR
# Bump when what a cached value is (not how it is rendered: the fingerprint covers that)
# changes shape.
EMIT_CACHE = "emit-6"
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


def _key(home: str, scope: str, inputs: str) -> str:
    """A value's key: its shard, the digest of the IR it reads (once per node and emitter,
    not once per value) and that of its renderer and arguments. Joined, not hashed again:
    a compile makes ~15,000 keys. Both digests have a fixed length (or `scope` is empty
    for all values of a kind), so the joining is unambiguous."""
    return f"{home}{scope}{inputs}"


def _json_of(node: BaseModel) -> bytes:
    """`node.model_dump_json()` as bytes, without its decoding to str and our encoding back."""
    return node.__pydantic_serializer__.to_json(node)


def _json(data: Any) -> bytes:
    """A renderer's inputs as JSON, dicts in their own order: a renderer may iterate one."""
    return orjson.dumps(data, default=_input_default)


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
        if item.links_to is not None:
            found.add(item.links_to)
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


@dataclass(frozen=True)
class Rendered:
    """A cached value this compile rendered instead of finding it: its renderer and what
    it is of (a node's label, or the renderer's name for a whole-project value)."""

    renderer: str
    subject: str


class NodeScopes:
    """The part of the IR each node's renderer is handed (see the module's docstring).
    Get one with `for_compile`: a compile's emitters share the cache's."""

    def __init__(self, ir: ProjectIR) -> None:
        self.ir = ir
        self._shared: list[ModelIR] | None = None
        self._own: dict[int, tuple[ModelIR | OperationIR, list[ModelIR]]] = {}

    @staticmethod
    def for_compile(ir: ProjectIR, cache: EmitCache | None) -> NodeScopes:
        return cache.scopes if cache is not None and cache.scopes.ir is ir else NodeScopes(ir)

    @property
    def shared(self) -> list[ModelIR]:
        """The models schemas name, which are read wherever the schema is: in every scope."""
        if self._shared is None:
            self._shared = schema_models(self.ir)
        return self._shared

    def own(self, node: ModelIR | OperationIR) -> list[ModelIR]:
        """The scope's models besides `shared`: a model itself first, then the models the
        node names; once per node (the node is kept, so its id is not reused)."""
        known = self._own.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        shared = {m.name for m in self.shared}
        if isinstance(node, ModelIR):
            named = _model_refs(node) - shared
            named.discard(node.name)
            models = [node]
        else:
            named = _operation_refs(node) - shared
            models = []
        models += [m for m in map(self.ir.model, sorted(named)) if m is not None]
        self._own[id(node)] = (node, models)
        return models

    def of(self, node: ModelIR | OperationIR) -> ProjectIR:
        operations = [node] if isinstance(node, OperationIR) else []
        return self.ir.part([*self.own(node), *self.shared], operations)


def schema_models(ir: ProjectIR) -> list[ModelIR]:
    """The models the fields of the project's schemas name, by name."""
    found: set[str] = set()
    for schema in ir.schemas:
        _field_refs(schema.fields, found)
    return [m for m in map(ir.model, sorted(found)) if m is not None]


class NodeKeys:
    """Digests of one IR's nodes and of the inputs renderers get, for cache keys.

    A node is known by a digest: the resolver's (`given`, see `NodeDigests`), else that
    of its JSON, serialised once by pydantic's serialiser (half the cost of dumping the
    IR to dicts)."""

    def __init__(self, ir: ProjectIR, given: NodeDigests | None = None) -> None:
        self.compiler = compiler_fingerprint()
        self._digests: dict[int, tuple[BaseModel, str]] = {}
        self.unique = len({m.name for m in ir.models}) == len(ir.models) and len(
            {o.name for o in ir.operations}
        ) == len(ir.operations)
        """False when two nodes share a name: shards by name would mix them up, so nothing
        is cached (such a project fails its checks before emitting anyway)."""
        self._given = given if given is not None and self.unique else {}
        self.scopes = NodeScopes(ir)
        self._scope_digests: dict[int, tuple[ModelIR | OperationIR, str]] = {}
        self.shared = _digest(
            ir.project,
            f"{len(ir.schemas)} schemas, {len(ir.enums)} enums",
            *(self.digest(node) for node in [*ir.schemas, *ir.enums]),
            *(f"model:{self.digest(m)}" for m in self.scopes.shared),
        )
        """Of what every scope holds alike: the project's name, its schemas and enums and
        the models they name."""

    def digest(self, node: IRNode) -> str:
        """What identifies the node, once per compile whoever asks (the node is kept, so
        its id is not reused by another object meanwhile)."""
        known = self._digests.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        digest = self._given.get(node_label(node)) or hashlib.sha256(_json_of(node)).hexdigest()
        self._digests[id(node)] = (node, digest)
        return digest

    def scope_digest(self, node: ModelIR | OperationIR) -> str:
        """Of the node's scope (see `NodeScopes`), once per node."""
        known = self._scope_digests.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        own = self.scopes.own(node)
        digest = _digest(
            self.shared,
            *(f"model:{self.digest(m)}" for m in own),
            *([f"operation:{self.digest(node)}"] if isinstance(node, OperationIR) else []),
        )
        self._scope_digests[id(node)] = (node, digest)
        return digest

    def inputs_digest(
        self, render: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        name = _renderer_name(render)
        if "<" in name:  # a lambda or a nested function: it could read what is not an input
            raise TypeError(f"a cached renderer must be a module-level function: {name}")
        # A template set is its digest: looked up here, not by orjson's slower fallback.
        values = [{"templates": a.digest} if isinstance(a, TemplateSet) else a for a in args]
        inputs = [self.compiler, name, values, kwargs] if kwargs else [self.compiler, name, values]
        return hashlib.sha256(_json(inputs)).hexdigest()


def _renderer_name(render: Callable[..., Any]) -> str:
    return f"{render.__module__}.{render.__qualname__}"


def _input_default(value: Any) -> Any:
    """JSON for what orjson does not know: a template set is its digest, a pydantic value
    its JSON data, a set sorted."""
    if isinstance(value, TemplateSet):
        return {"templates": value.digest}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):  # a NamedTuple
        return list(value)
    if callable(value):  # a function an argument of the renderer's
        return _renderer_name(value)
    raise TypeError(f"a cached renderer's input cannot be digested: {type(value).__name__}")


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
        self.scopes = keys.scopes
        self.rendered: list[Rendered] = []
        """What this compile rendered, in order: tests compare it with what changed."""

    def get(self, key: str, produce: Callable[[], T], renderer: str, subject: str) -> T:
        """The value stored under `key`, else `produce()`'s (kept for the next compile)."""
        stored = self.entries.get(key)
        if stored is not None:
            try:
                value: T = pickle.loads(stored[1]) if isinstance(stored, tuple) else stored
            except Exception:  # a damaged entry is a miss
                stored = None
        if stored is None:
            self.rendered.append(Rendered(renderer, subject))
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


def emission_cache(ir: ProjectIR, cache_dir: Path, digests: NodeDigests | None = None) -> EmitCache:
    """The cache of a compile of `ir`, stored under `cache_dir`; `digests` are the
    resolver's, for exactly this `ir`. The caller saves it once the emitters are done."""
    return EmitCache(cache_dir, NodeKeys(ir, digests))


def per_node(
    cache: EmitCache | None,
    scopes: NodeScopes,
    node: N,
    render: Callable[Concatenate[ProjectIR, N, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`render(scope, node, *args)`, or its value from `cache`; `scope` is the part of
    the IR the node's renderer may read (from `scopes`, see `NodeScopes.for_compile`).
    The value must be picklable."""
    if cache is None or not cache.keys.unique:
        return render(scopes.of(node), node, *args, **kwargs)
    keys = cache.keys
    inputs = keys.inputs_digest(render, args, kwargs)
    key = _key(_home(node.name), keys.scope_digest(node), inputs)
    return cache.get(
        key,
        lambda: render(scopes.of(node), node, *args, **kwargs),
        _renderer_name(render),
        node_label(node),
    )


def per_json(
    cache: EmitCache | None, renderer: str, node: IRNode, produce: Callable[[bytes], T]
) -> T:
    """`produce(JSON of node)` for a value computed from that JSON alone (no templates, no
    config, no other node), kept under the node's digest: say a node's part of
    `metadata.json`, which survives any edit of another node."""
    if cache is None:
        return produce(_json_of(node))
    key = _key(_home(node.name), cache.keys.digest(node), f"{renderer}\0{cache.keys.compiler}")
    return cache.get(key, lambda: produce(_json_of(node)), renderer, node_label(node))


def per_project(
    cache: EmitCache | None,
    render: Callable[P, T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`render(*args)` for a value of the whole project, or its value from `cache`:
    `args` are all it reads, built from the IR by the caller."""
    if cache is None:
        return render(*args, **kwargs)
    name = _renderer_name(render)
    key = _key(_home(name), "", cache.keys.inputs_digest(render, args, kwargs))
    return cache.get(key, lambda: render(*args, **kwargs), name, name)
