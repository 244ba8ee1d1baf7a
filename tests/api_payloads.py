"""Request bodies for the generated API, derived from a compiled project's IR
(`.run_cache/core_docs/metadata.json`): one valid value per TypeRef kind (respecting the
field's constraints), plus the invalid variants the API must reject with a 422.

Values are plain JSON. Link fields take the id of a record the caller creates first
(`make_payload(..., link_id=...)`); a link to any document (`Link[Document]`) takes one of
`IR.any_document_target`'s, with its collection; back-links are computed by Beanie and
never sent.
"""

from __future__ import annotations

import importlib
import ipaddress
import itertools
import math
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import TypeAdapter

_tokens = itertools.count(1)

# Patterns no generic generator satisfies: a known-good value per pattern, as a function of a
# unique token (some of these fields are unique indexes).
PATTERN_VALUES: dict[str, Callable[[str], str]] = {
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": lambda token: f"user{token}@example.org",
    r"^[A-Z]{3}$": lambda token: "USD",
    r"^[A-Z0-9-]{3,20}$": lambda token: f"SKU-{token.upper()}"[:20],
    r"^\S": lambda token: f"summary {token}",
}
# Strings that break each pattern above.
PATTERN_MISFITS: dict[str, str] = {
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "not an e-mail",
    r"^[A-Z]{3}$": "usd!",
    r"^[A-Z0-9-]{3,20}$": "lower case sku",
    r"^\S": " leading space",
}

WRITABLE_SKIP_KINDS = frozenset({"backlink"})

SECRET_MASK = "**********"
"""How pydantic serialises a SecretStr or SecretBytes: the API never answers one in clear."""

# Kinds whose JSON spelling the API may normalise (`3600` comes back as `"PT1H"`): sent and
# returned values are compared as the Python values they spell.
SAME_VALUE_AS: dict[str, TypeAdapter[Any]] = {
    "timedelta": TypeAdapter(timedelta),
    "decimal": TypeAdapter(Decimal),
    "uuid": TypeAdapter(uuid.UUID),
    "ipv6_address": TypeAdapter(ipaddress.IPv6Address),
}


# Refined types (`TypeRef.type_name`): a value each accepts, by variant.
REFINED_VALUES: dict[str, Callable[[int], Any]] = {
    "pydantic.UUID1": lambda _v: str(uuid.uuid1()),
    "pydantic.UUID3": lambda _v: str(uuid.uuid3(uuid.NAMESPACE_URL, token())),
    "pydantic.UUID5": lambda _v: str(uuid.uuid5(uuid.NAMESPACE_URL, token())),
    "pydantic.FutureDate": lambda v: f"2999-0{1 + v % 9}-1{v % 10}",
    "pydantic.FutureDatetime": lambda v: f"2999-0{1 + v % 9}-1{v % 10}T07:08:09Z",
    "pydantic.NameEmail": lambda v: f"User {v} <user{token()}@example.org>",
}


def token() -> str:
    """A short string no other call returns (within this process), for unique fields."""
    return f"{next(_tokens)}{uuid.uuid4().hex[:6]}"


class IR:
    """The compiled project's metadata, indexed by model name and schema id."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata
        self.models: dict[str, dict[str, Any]] = {m["name"]: m for m in metadata["models"]}
        self.schemas: dict[str, dict[str, Any]] = {s["id"]: s for s in metadata["schemas"]}
        self.operations: dict[str, dict[str, Any]] = {o["name"]: o for o in metadata["operations"]}

    def writable_fields(self, model: str) -> list[dict[str, Any]]:
        """The fields a create body carries: not the id, not back-links, not the read-only
        fields with a default (the server sets those; a required one is written once), not
        the `deleted_at` of a soft-delete model (only a delete sets it)."""
        read_only = set(self.models[model]["ui"]["readonly_fields"])
        if self.models[model].get("soft_delete"):
            read_only.add("deleted_at")
        return [
            f
            for f in self.models[model]["fields"]
            if is_writable(f) and (f["name"] not in read_only or f["required"])
        ]

    def link_targets(self, model: str) -> list[str]:
        """Models `model` links to (directly or through a list), in field order."""
        targets = []
        for field in self.writable_fields(model):
            target = link_target(field["type_info"])
            if _mentions(field["type_info"], "document_link"):
                target = self.any_document_target()
            if target is not None and target not in targets:
                targets.append(target)
        return targets

    def any_document_target(self) -> str:
        """The model whose records `Link[Document]` fields point at in payloads: the first
        by name that links to nothing (so no creation order can loop through it)."""
        for name in sorted(self.models):
            types = [f["type_info"] for f in self.writable_fields(name)]
            if not any(_mentions(t, k) for t in types for k in ("link", "document_link")):
                return name
        raise ValueError("every model links somewhere: no target for a Link[Document]")

    def creation_order(self) -> list[str]:
        """Every model after the models it links to (a topological order)."""
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise ValueError(f"link cycle through {name}")
            visiting.add(name)
            for target in self.link_targets(name):
                if target != name:
                    visit(target)
            visiting.discard(name)
            order.append(name)

        for name in sorted(self.models):
            visit(name)
        return order

    def id_kind(self, model: str) -> str:
        for field in self.models[model]["fields"]:
            if field["name"] == "id":
                return field["type_info"]["kind"]
        return "object_id"


def is_writable(field: dict[str, Any]) -> bool:
    if field["name"] == "id":
        return False
    return not _mentions(field["type_info"], "backlink")


def json_key(field: dict[str, Any]) -> str:
    """The key a request body gives the field by: the one the model validates (the first
    plain key of its AliasChoices, else its name, which such a model takes by name)."""
    paths = field.get("validation_paths") or []
    if paths:
        return next((path[0] for path in paths if len(path) == 1), field["name"])
    return field.get("validation_alias") or field["alias"] or field["name"]


def read_key(field: dict[str, Any]) -> str:
    """The key the API returns the field under: the one the model dumps by alias."""
    return field.get("serialization_alias") or field["alias"] or field["name"]


def filter_key(field: dict[str, Any]) -> str:
    """The key a list filters the field by: the one it is stored under."""
    return field["alias"] or field["name"]


def link_target(type_info: dict[str, Any]) -> str | None:
    if type_info["kind"] == "link":
        return type_info["ref"]
    if type_info["kind"] in ("list", "set") and type_info["args"]:
        item = type_info["args"][0]
        if item["kind"] == "link":
            return item["ref"]
    return None


def is_link(field: dict[str, Any]) -> bool:
    return link_target(field["type_info"]) is not None


def _mentions(type_info: dict[str, Any], kind: str) -> bool:
    return type_info["kind"] == kind or any(_mentions(a, kind) for a in type_info["args"])


# --------------------------------------------------------------------------- valid values


def default_value(field: dict[str, Any]) -> Any:
    default = field.get("default")
    if default and default["kind"] in ("literal", "enum"):
        return default["value"]
    return None


def make_payload(
    ir: IR,
    model: str,
    link_id: Callable[[str], str],
    variant: int = 0,
) -> dict[str, Any]:
    """A full create body for `model`: every writable field, with a value other than its
    default where the type allows (so a round trip proves the value was stored).
    `variant` picks other values for the same fields (for a PUT after a POST)."""
    payload = {}
    for field in ir.writable_fields(model):
        payload[json_key(field)] = field_value(ir, field, link_id, variant)
    return payload


def field_value(
    ir: IR, field: dict[str, Any], link_id: Callable[[str], str], variant: int = 0
) -> Any:
    return value_for(
        ir, field["type_info"], field["constraints"], link_id, variant, default_value(field)
    )


def value_for(
    ir: IR,
    type_info: dict[str, Any],
    constraints: dict[str, Any],
    link_id: Callable[[str], str],
    variant: int = 0,
    default: Any = None,
) -> Any:
    kind = type_info["kind"]
    if type_info.get("type_name") in REFINED_VALUES:
        return REFINED_VALUES[type_info["type_name"]](variant)
    if kind == "str":
        return string_value(constraints, variant)
    if kind in ("int", "float"):
        return number_value(kind, constraints, variant, default)
    if kind == "bool":
        return variant % 2 == 0 if default is False else variant % 2 == 1
    if kind == "datetime":
        return f"2024-0{1 + variant % 9}-1{variant % 10}T07:08:09Z"
    if kind == "date":
        return f"2024-0{1 + variant % 9}-1{variant % 10}"
    if kind == "time":
        return f"1{variant % 10}:34:56"
    if kind == "timedelta":
        return 3600.0 + variant
    if kind == "decimal":
        return f"{12 + variant}.34"
    if kind == "uuid":
        return str(uuid.uuid4())
    if kind in ("bytes", "secret_str", "secret_bytes"):
        return f"{kind[0]}{variant}-{token()}"
    if kind == "path":
        return f"/srv/files/{token()}.bin"
    if kind in ("ipv4_address", "ip_address"):
        return f"10.{variant % 256}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    if kind == "ipv6_address":
        return f"fd00::{variant % 65536:x}:{secrets.randbelow(65536):x}"
    if kind == "object_id":
        return f"{variant % 16:x}" * 24
    if kind == "email":
        return f"user{token()}@example.org"
    if kind == "url":
        return f"https://example.org/{token()}"
    if kind in ("literal", "enum"):
        return choice_value(type_info["values"], variant, default)
    if kind in ("list", "set"):
        count = max(1, int(constraints.get("min_length") or 0))
        item = type_info["args"][0] if type_info["args"] else {"kind": "str", "args": []}
        return [value_for(ir, item, _limits(item), link_id, variant + i) for i in range(count)]
    if kind == "tuple":
        return [
            value_for(ir, arg, _limits(arg), link_id, variant + i)
            for i, arg in enumerate(type_info["args"])
        ]
    if kind == "dict":
        key_type, value_type = type_info["args"] or [{"kind": "str", "args": []}] * 2
        key = value_for(ir, key_type, _limits(key_type), link_id, variant)
        return {str(key): value_for(ir, value_type, _limits(value_type), link_id, variant)}
    if kind == "schema":
        schema = ir.schemas[type_info["ref"]]
        return {
            json_key(f): field_value(ir, f, link_id, variant)
            for f in schema["fields"]
            if is_writable(f)
        }
    if kind == "model":
        return {
            json_key(f): field_value(ir, f, link_id, variant)
            for f in ir.writable_fields(type_info["ref"])
        }
    if kind == "link":
        return link_id(type_info["ref"])
    if kind == "document_link":
        target = ir.any_document_target()
        return {"id": link_id(target), "collection": ir.models[target]["collection"]}
    if kind == "union":
        return value_for(ir, type_info["args"][0], constraints, link_id, variant)
    if kind in ("any", "unknown"):
        return f"any-{variant}"
    if kind == "none":
        return None
    raise NotImplementedError(f"no generated value for a {kind} field")


def _limits(item_type: dict[str, Any]) -> dict[str, Any]:
    """The limits an item type puts on each item (`list[constr(max_length=5)]`)."""
    return item_type.get("constraints") or {}


def string_value(constraints: dict[str, Any], variant: int = 0) -> str:
    pattern = constraints.get("pattern")
    unique = token()
    if pattern is not None:
        if pattern in PATTERN_VALUES:
            value = PATTERN_VALUES[pattern](unique)
        else:
            raise NotImplementedError(f"add a value for the pattern {pattern!r} to PATTERN_VALUES")
        assert re.search(pattern, value), (pattern, value)
        return value
    value = f"v{variant}-{unique}"
    min_length = int(constraints.get("min_length") or 0)
    max_length = constraints.get("max_length")
    if len(value) < min_length:
        value = value.ljust(min_length, "x")
    if max_length is not None:
        value = value[-int(max_length) :] if len(value) > max_length else value
    return value


def number_value(kind: str, constraints: dict[str, Any], variant: int, default: Any) -> Any:
    low = constraints.get("ge", constraints.get("gt"))
    high = constraints.get("le", constraints.get("lt"))
    if kind == "int":
        low = 0 if low is None else math.floor(low) + (1 if "gt" in constraints else 0)
        high = low + 1000 if high is None else math.ceil(high) - (1 if "lt" in constraints else 0)
        candidates = [v for v in range(low + 1 + variant, high + 1) if v != default] or [low]
        return candidates[0]
    low = 0.0 if low is None else float(low)
    high = low + 1000.0 if high is None else float(high)
    value = low + (high - low) * (0.25 + 0.125 * (variant % 4))
    return round(value, 3)


def choice_value(values: list[Any], variant: int, default: Any) -> Any:
    others = [v for v in values if v != default] or values
    return others[variant % len(others)]


# --------------------------------------------------------------------------- invalid values


def wrong_type_value(type_info: dict[str, Any]) -> Any:
    """A JSON value of the wrong type for `type_info` (pydantic's lax mode rejects it)."""
    kind = type_info["kind"]
    if kind in ("int", "float", "decimal", "timedelta"):
        return "not a number"
    if kind == "bool":
        return "not a bool"
    if kind in ("datetime", "date", "time"):
        return "not a date"
    if kind in ("list", "set", "tuple"):
        return 12345
    if kind in ("dict", "schema", "model"):
        return ["not", "an", "object"]
    if kind in ("link", "document_link", "uuid", "object_id"):
        return "not-an-id"
    if kind in ("literal", "enum"):
        return "__not_a_choice__"
    return {"not": "a string"}


def constraint_violation(ir: IR, model: str) -> tuple[str, Any] | None:
    """(json key, value) breaking one declared constraint of a top-level field."""
    for field in ir.writable_fields(model):
        if field["type_info"]["kind"] != "str":
            continue
        max_length = field["constraints"].get("max_length")
        if max_length is not None:
            return json_key(field), "x" * (int(max_length) + 1)
    for field in ir.writable_fields(model):
        constraints = field["constraints"]
        kind = field["type_info"]["kind"]
        if kind in ("int", "float"):
            if "le" in constraints:
                return json_key(field), constraints["le"] + 1
            if "lt" in constraints:
                return json_key(field), constraints["lt"]
            if "ge" in constraints:
                return json_key(field), constraints["ge"] - 1
            if "gt" in constraints:
                return json_key(field), constraints["gt"]
        if kind == "str" and constraints.get("pattern") in PATTERN_MISFITS:
            return json_key(field), PATTERN_MISFITS[constraints["pattern"]]
        if kind in ("list", "set") and constraints.get("min_length"):
            return json_key(field), []
    return None


# --------------------------------------------------------------------------- comparison


def assert_echo(ir: IR, model: str, payload: dict[str, Any], record: dict[str, Any]) -> None:
    """Every value sent comes back the same (as the API's JSON shows it)."""
    fields = {json_key(f): f for f in ir.writable_fields(model)}
    for sent_key, sent in payload.items():
        key = read_key(fields[sent_key])
        assert key in record, f"{model}.{key} missing from {record}"
        mismatch = _mismatch(ir, fields[sent_key]["type_info"], sent, record[key])
        assert mismatch is None, f"{model}.{key}: sent {sent!r}, got {record[key]!r} ({mismatch})"


def _mismatch(ir: IR, type_info: dict[str, Any], sent: Any, got: Any) -> str | None:
    if sent is None or got is None:
        return None if sent is got else "null on one side"
    kind = type_info["kind"]
    if kind == "datetime":
        return None if _instant(sent) == _instant(got) else "another instant"
    if kind == "date":
        return None if date.fromisoformat(str(got)[:10]) == date.fromisoformat(sent) else "day"
    if kind == "float":
        return None if math.isclose(float(sent), float(got), rel_tol=1e-9) else "number"
    if kind == "set":
        return None if sorted(map(repr, sent)) == sorted(map(repr, got)) else "set members"
    if kind in ("list", "tuple"):
        if not isinstance(got, list) or len(got) != len(sent):
            return "length"
        items = type_info["args"] or [{"kind": "any", "args": []}]
        for index, (one, other) in enumerate(zip(sent, got, strict=True)):
            item = items[index] if kind == "tuple" and index < len(items) else items[0]
            problem = _mismatch(ir, item, one, other)
            if problem:
                return f"item {index}: {problem}"
        return None
    if kind in ("schema", "model"):
        fields = (
            ir.schemas[type_info["ref"]]["fields"]
            if kind == "schema"
            else ir.writable_fields(type_info["ref"])
        )
        by_key = {json_key(f): f for f in fields}
        for key, value in sent.items():
            if key not in got:
                return f"{key} missing"
            problem = _mismatch(ir, by_key[key]["type_info"], value, got[key])
            if problem:
                return f"{key}: {problem}"
        return None
    if kind == "dict":
        return None if sent == got else "mapping"
    if kind in ("secret_str", "secret_bytes"):
        return None if got == SECRET_MASK else "a secret shown in clear"
    if kind in SAME_VALUE_AS or type_info.get("type_name"):
        adapter = (
            _refined_adapter(type_info["type_name"])
            if type_info.get("type_name")
            else SAME_VALUE_AS[kind]
        )
        return None if adapter.validate_python(sent) == adapter.validate_python(got) else kind
    return None if sent == got else "value"


@cache
def _refined_adapter(type_name: str) -> TypeAdapter[Any]:
    """The refined type itself (`pydantic.NameEmail`), which may normalise what was sent
    (`a@b.org` comes back as `a <a@b.org>`)."""
    module, _, name = type_name.rpartition(".")
    return TypeAdapter(getattr(importlib.import_module(module), name))


def _instant(text: str) -> datetime:
    parsed = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def changeable_field(ir: IR, model: str) -> Iterator[dict[str, Any]]:
    """Fields a PATCH can change to a visibly different value: plain scalars first."""
    order = ("str", "int", "float", "bool", "literal", "enum", "datetime")
    fields = [
        f
        for f in ir.writable_fields(model)
        if f["type_info"]["kind"] in order and not f["unique"] and not is_link(f)
    ]
    yield from sorted(fields, key=lambda f: order.index(f["type_info"]["kind"]))
