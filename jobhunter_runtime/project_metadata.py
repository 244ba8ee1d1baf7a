"""What the generated API's metadata endpoints answer, derived from the compiled IR
(`core_docs/metadata.json` in the output folder), the one copy of the project's metadata
that the output holds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNSERVED_KEYS = ("source", "docstring")
"""Where a declaration sits in the project and its whole docstring: for the docs, not for
clients of a deployed API."""


@dataclass(frozen=True)
class ProjectMetadata:
    models: list[dict[str, Any]]
    operations: list[dict[str, Any]]
    graph: dict[str, list[dict[str, Any]]]
    """Models and operations as `nodes`, the IR's `edges` between them."""


def read_project_metadata(ir_file: Path) -> ProjectMetadata:
    ir = json.loads(ir_file.read_text(encoding="utf-8"))
    models = [
        _served(model) | {"endpoint": f"/api/models/{model['name']}/", "id_type": _id_type(model)}
        for model in ir["models"]
    ]
    operations = [
        _served(operation) | {"endpoint": f"/api/operations/{operation['name']}/"}
        for operation in ir["operations"]
    ]
    nodes = [
        {"id": f"{kind}:{node['name']}", "kind": kind, "name": node["name"]}
        for kind, nodes in (("model", ir["models"]), ("operation", ir["operations"]))
        for node in nodes
    ]
    return ProjectMetadata(models, operations, {"nodes": nodes, "edges": ir["edges"]})


def _served(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key not in UNSERVED_KEYS}


def _id_type(model: dict[str, Any]) -> str:
    """The kind of the model's id: a declared `id` field's type, else an ObjectId."""
    declared = next((f for f in model["fields"] if f["name"] == "id"), None)
    return declared["type_info"]["kind"] if declared else "object_id"
