"""The emission cache: per model and per operation, each emitter's rendered module is kept
across compiles, keyed by a digest of everything the rendering reads, so a compile after
one edited model renders that model's modules (and the shared files) only.

Why a key is complete: a per-node renderer reads (1) the node itself, (2) the models the
node names (link/backlink/embedded targets, `models_in`/`models_out`: their module, class,
id type, fields), (3) project-wide facts: the project name (headers), the ordered model and
operation names (unique module names), every node's module (first-party import groups),
all schemas and enums (imports, choices), the config and (4) the compiler and templates.
`NodeKeys` below is the one place these slices are taken; a slice missing from it means
stale output, which `tests/test_emit_cache.py` (incremental == from scratch after random
edits) exists to catch. When in doubt a slice belongs to the project-wide part: that only
costs re-rendering.

Storage: 256 pickled shards in `.jobhunter_cache/emit-3/`, holding only the entries
the last compile used. Any problem reading one means rendering again, never a failure.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from ..config import Config
from ..ir import ProjectIR

T = TypeVar("T")
NodeKind = Literal["model", "operation"]
# Bump when what a cached value is (not how it is rendered: the fingerprint covers that)
# changes shape.
_FORMAT = "emit-3"
_REF_KINDS = frozenset({"model", "link", "backlink"})

_active: ContextVar[EmitCache | None] = ContextVar("jobhunter_emit_cache", default=None)


def _digest(*parts: bytes | str) -> str:
    hasher = hashlib.blake2b(digest_size=20)
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


def _json(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _templates_digest() -> str:
    """The user's template overrides active for this compile ("" without any)."""
    from . import _templates_dir, templates_digest  # the pipeline sets the folder

    return templates_digest(_templates_dir.get())


class NodeKeys:
    """Cache keys of one IR's nodes: the dependency sets of every per-node renderer."""

    def __init__(self, ir: ProjectIR, config: Config) -> None:
        from ..freshness import compiler_fingerprint

        data = ir.json_data()
        self._models = {m["name"]: m for m in data["models"]}
        self._operations = {o["name"]: o for o in data["operations"]}
        self._model_digests: dict[str, str] = {}
        self._node_digests: dict[tuple[str, str], str] = {}
        self.unique = len(self._models) == len(data["models"]) and len(self._operations) == len(
            data["operations"]
        )
        """False when two nodes share a name: keys by name would be ambiguous, so nothing
        is cached (such a project fails its checks before emitting anyway)."""
        schemas_enums = _json({"schemas": data["schemas"], "enums": data["enums"]})
        layout = _json(
            {
                "project": ir.project,
                "models": [(m["name"], m["module"], m["class_name"]) for m in data["models"]],
                "operations": [(o["name"], o["module"]) for o in data["operations"]],
                "schema_models": sorted(self._refs(data["schemas"])),
            }
        )
        self._project = _digest(
            compiler_fingerprint(),
            _templates_digest(),
            config.model_dump_json(),
            layout,
            schemas_enums,
        )
        # Models a schema names are read wherever the schema is: part of every key.
        self._project = _digest(
            self._project, *(self._model_digest(n) for n in sorted(self._refs(data["schemas"])))
        )

    def key(self, renderer: str, kind: NodeKind, name: str) -> str:
        return _digest(self._project, renderer, self._node_digest(kind, name))

    def _node_digest(self, kind: NodeKind, name: str) -> str:
        """The node's own JSON plus the JSON of every model it names; once per node."""
        digest = self._node_digests.get((kind, name))
        if digest is None:
            node = (self._models if kind == "model" else self._operations)[name]
            named = sorted(self._refs(node) - ({name} if kind == "model" else set()))
            digest = _digest(kind, _json(node), *(f"{n}:{self._model_digest(n)}" for n in named))
            self._node_digests[(kind, name)] = digest
        return digest

    def _model_digest(self, name: str) -> str:
        digest = self._model_digests.get(name)
        if digest is None:
            node = self._models.get(name)
            digest = self._model_digests[name] = _digest(_json(node)) if node else "absent"
        return digest

    @staticmethod
    def _refs(data: Any) -> set[str]:
        """Model names a JSON slice of the IR mentions: type refs of model kinds (walking
        `type_info`/`args`, the only places a TypeRef lives), `models_in`/`models_out`,
        and anything in a model's free-form `relations`."""
        found: set[str] = set()
        stack: list[Any] = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
                continue
            if not isinstance(item, dict):
                if isinstance(item, str):
                    found.add(item)  # a name in `relations` or `models_in`/`models_out`
                continue
            if item.get("kind") in _REF_KINDS and isinstance(item.get("ref"), str):
                found.add(item["ref"])
            for key in ("fields", "args", "inputs", "outputs", "relations"):
                value = item.get(key)
                if isinstance(value, dict | list):
                    stack.append(value)
            for key in ("models_in", "models_out"):
                value = item.get(key)
                if isinstance(value, list):
                    stack.extend(value)
            type_info = item.get("type_info")
            if isinstance(type_info, dict):
                stack.append(type_info)
        return found


class EmitCache:
    """Rendered per-node values by key. Strings and bytes are kept as they are; anything
    else pickled on its own, so loading a shard unpickles only flat strings. Entries are
    spread over 256 shard files by key prefix: after one edit, saving rewrites the few
    shards that gained or lost an entry instead of the whole cache."""

    def __init__(self, cache_dir: Path | None, keys: NodeKeys) -> None:
        self.folder = cache_dir / _FORMAT if cache_dir is not None else None
        self.keys = keys
        self.entries: dict[str, Any] = self._load()
        self.used: dict[str, Any] = {}

    def node(self, renderer: str, kind: NodeKind, name: str, produce: Callable[[], T]) -> T:
        if not self.keys.unique:
            return produce()
        key = self.keys.key(renderer, kind, name)
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
                with shard.open("rb") as handle:
                    data = pickle.load(handle)
            except Exception:  # truncated or foreign: those entries are rendered again
                continue
            if isinstance(data, dict):
                entries.update(
                    (k, v) for k, v in data.items() if isinstance(k, str) and k[:2] == shard.name
                )
        return entries

    def save(self) -> None:
        """Keep exactly the entries this compile used: rewrite (or delete) each shard whose
        key set changed."""
        if self.folder is None:
            return
        shards: dict[str, dict[str, Any]] = {}
        for key, value in self.used.items():
            shards.setdefault(key[:2], {})[key] = value
        before: dict[str, set[str]] = {}
        for key in self.entries:
            before.setdefault(key[:2], set()).add(key)
        for name in sorted(set(shards) | set(before)):
            entries = shards.get(name, {})
            if set(entries) == before.get(name, set()):
                continue
            self.folder.mkdir(parents=True, exist_ok=True)
            target = self.folder / name
            if not entries:
                target.unlink(missing_ok=True)
                continue
            temporary = self.folder / f".{name}.{os.getpid()}.tmp"
            with temporary.open("wb") as handle:
                pickle.dump(entries, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)


@contextmanager
def emission_cache(ir: ProjectIR, config: Config, cache_dir: Path | None) -> Iterator[None]:
    """Let the emitters' per-node renders inside the block use (and refill) the cache;
    without a `cache_dir` everything is rendered (and no key computed)."""
    if cache_dir is None:
        yield
        return
    cache = EmitCache(cache_dir, NodeKeys(ir, config))
    token = _active.set(cache)
    try:
        yield
    finally:
        _active.reset(token)
    cache.save()


def per_node(renderer: str, kind: NodeKind, name: str, produce: Callable[[], T]) -> T:
    """`produce()`, or its value from the cache when a compile is using one. `renderer`
    names the output (say "api.model"); the value must be picklable."""
    cache = _active.get()
    if cache is None:
        return produce()
    return cache.node(renderer, kind, name, produce)
