"""Turn a Refine simple-rest list query string into a MongoDB filter, sort and page.

Every generated list endpoint declares a `ListSpec` once at import time and calls
`parse_list_query` per request. Operator keys in the result are always ours and values are
coerced scalars (or `re.escape`d regex strings), so no query string can smuggle `$where`, `$ne`
or a sub-document into MongoDB.

A row names a `FilterType` (`TEXT`, `enum_of(Status)`, ...) so generated specs stay one
line per field. Coercers return the BSON value Beanie's encoder (`beanie.odm.utils.encoder`)
writes for the field's type, otherwise equality would never match what was stored. A `list[X]`
field is `items_of(X)`: MongoDB matches `{"skills": "python"}` against any element of the array.
The value `null` is not special: filtering on missing values is not part of the dialect.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Any

from bson import Binary, Decimal128, ObjectId
from pydantic import TypeAdapter

EQUALITY_OPS = frozenset({"eq", "ne"})
ORDERED_OPS = EQUALITY_OPS | {"gte", "lte"}
STRING_OPS = ORDERED_OPS | {"like"}

_SUFFIX_OPS = ("ne", "gte", "lte", "like")
_PAGING_KEYS = frozenset({"_start", "_end", "q"})
_SORT_KEYS = frozenset({"_sort", "_order"})
_CONTROL_KEYS = _PAGING_KEYS | _SORT_KEYS
_SORT_DIRECTIONS = {"asc": 1, "desc": -1}
_OFFSET_DIGITS = 18  # fits MongoDB's int64 skip/limit
_OFFSET = re.compile(f"[0-9]{{1,{_OFFSET_DIGITS}}}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_SHOWN_VALUE_CHARS = 60
_TIMEDELTA = TypeAdapter(timedelta)


class QueryError(ValueError):
    """A list query the API rejects with a 400; the message is safe to return as the body."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, eq=False)  # by identity: `schema` is a dict, and rows hash their type
class FilterType:
    """How one kind of value is filtered: coerced, described, compared, documented."""

    coerce: Callable[[str], Any]  # raises ValueError, TypeError or ArithmeticError
    label: str  # what a valid value looks like, for error messages
    operators: frozenset[str]  # subset of STRING_OPS
    schema: Mapping[str, Any]  # JSON Schema of one query-parameter value, for OpenAPI
    sortable: bool = True
    subkey: str | None = None  # filter on `<key>.<subkey>` (a link's `$id`)


@dataclass(frozen=True)
class FilterField:
    """One field a list endpoint can filter, sort or search on."""

    name: str  # as in the query string and the JSON (the alias if the field has one)
    type: FilterType
    mongo_key: str | None = None  # as stored, when that differs from `name` ("_id" for `id`)
    searchable: bool = False

    @property
    def key(self) -> str:
        """The stored key the MongoDB filter and sort use."""
        return self.name if self.mongo_key is None else self.mongo_key


DELETED_PARAMETER = "_deleted"
DELETED_CHOICES = ("exclude", "include", "only")
"""How a list treats soft-deleted records: leaves them out (the default), lists them
with the others, or lists only them."""


@dataclass(frozen=True)
class ListSpec:
    """The filterable fields of one list endpoint, `id` included."""

    fields: tuple[FilterField, ...]
    soft_delete: bool = False
    """The model is a `DocumentWithSoftDelete`: the list takes `_deleted`."""
    _by_name: dict[str, FilterField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {spec.name: spec for spec in self.fields}
        if len(by_name) != len(self.fields):
            raise ValueError("ListSpec field names must be unique")
        for spec in self.fields:
            if not spec.type.operators <= STRING_OPS:
                unknown = spec.type.operators - STRING_OPS
                raise ValueError(f"{spec.name}: unknown operators {unknown}")
        object.__setattr__(self, "_by_name", by_name)

    def openapi_parameters(self) -> list[dict[str, Any]]:
        """OpenAPI 3.1 query parameters of the list endpoint, for FastAPI's `openapi_extra`.

        A deep copy per call, since FastAPI puts `openapi_extra` into its document by reference.
        """
        return copy.deepcopy(self._openapi_parameters)

    @cached_property
    def _openapi_parameters(self) -> list[dict[str, Any]]:
        offset = {"type": "integer", "maximum": 10**_OFFSET_DIGITS - 1}
        parameters = [
            _parameter(
                "_start",
                {**offset, "minimum": 0},
                "Index of the first item to return; 0 when omitted.",
            ),
            _parameter(
                "_end",
                {**offset, "minimum": 1},
                "Index after the last item to return; must exceed _start. The server caps the"
                " page size.",
            ),
        ]
        sortable = [spec.name for spec in self.fields if spec.type.sortable]
        if sortable:
            parameters.append(
                _parameter(
                    "_sort",
                    {"type": "string"},
                    f"Comma-separated fields to sort by, first one first: {', '.join(sortable)}.",
                )
            )
            parameters.append(
                _parameter(
                    "_order",
                    {"type": "string"},
                    "Comma-separated asc or desc (any case), one per _sort field; asc when"
                    " missing.",
                )
            )
        if self.soft_delete:
            parameters.append(
                _parameter(
                    DELETED_PARAMETER,
                    {"type": "string", "enum": list(DELETED_CHOICES)},
                    "Deleted records: exclude (when omitted), include, or only them.",
                )
            )
        searchable = [spec.name for spec in self.fields if spec.searchable]
        if searchable:
            parameters.append(
                _parameter(
                    "q",
                    {"type": "string"},
                    f"{' or '.join(searchable)} contains this text, case-insensitive.",
                )
            )
        for spec in self.fields:
            for op in ("eq", *_SUFFIX_OPS):
                name = spec.name if op == "eq" else f"{spec.name}_{op}"
                if op in spec.type.operators and self._reads_as_filter_on(name, spec):
                    parameters.append(_filter_parameter(name, spec, op))
        return parameters

    def _reads_as_filter_on(self, name: str, spec: FilterField) -> bool:
        """Whether the parser reads `name` as a filter on `spec`: control keys and exact field
        names win over suffixes, and OpenAPI forbids two parameters with one name."""
        return name not in _CONTROL_KEYS and self._by_name.get(name, spec) is spec


_FILTER_DOCS = {
    "eq": "{} is this value; repeat for any of several.",
    "ne": "{} is none of these values; repeat for several.",
    "gte": "{} is at least this value.",
    "lte": "{} is at most this value.",
    "like": "{} contains this text, case-insensitive.",
}


def _filter_parameter(name: str, spec: FilterField, op: str) -> dict[str, Any]:
    """Repeating eq or ne widens the match, so those take an array; like takes any text."""
    description = _FILTER_DOCS[op].format(spec.name)
    value = dict(spec.type.schema)
    if op in EQUALITY_OPS:
        return _parameter(name, {"type": "array", "items": value}, description, repeated=True)
    return _parameter(name, {"type": "string"} if op == "like" else value, description)


def _parameter(
    name: str, schema: dict[str, Any], description: str, *, repeated: bool = False
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }
    if repeated:
        parameter.update(style="form", explode=True)
    return parameter


@dataclass(frozen=True)
class ListQuery:
    """What the router passes to Beanie's `find(filter).sort(sort).skip(skip).limit(limit)`."""

    filter: dict[str, Any]
    sort: list[tuple[str, int]]
    skip: int
    limit: int  # always >= 1: pymongo reads 0 as "no limit"


def parse_list_query(
    params: Sequence[tuple[str, str]],
    spec: ListSpec,
    *,
    max_page_size: int,
    default_page_size: int,
) -> ListQuery:
    """Parse `request.query_params.multi_items()`; raise QueryError on anything unknown."""
    if max_page_size < 1 or default_page_size < 1:
        raise ValueError("page sizes must be positive")
    paging: dict[str, str] = {}
    sort_names: list[str] = []
    orders: list[str] = []
    values: dict[tuple[FilterField, str], list[Any]] = {}
    for key, value in params:
        if key in _PAGING_KEYS:
            if key in paging:
                raise QueryError(key, f"{key} must be given at most once")
            paging[key] = value
        elif key in _SORT_KEYS:
            (sort_names if key == "_sort" else orders).extend(value.split(","))
        else:
            filter_field, op = _resolve(key, spec)
            values.setdefault((filter_field, op), []).append(_coerce(key, value, filter_field, op))
    query_filter = _build_filter(values)
    search = paging.get("q", "")
    if search:
        query_filter["$or"] = _search(search, spec)
    skip = _offset("_start", paging["_start"]) if "_start" in paging else 0
    if "_end" in paging:
        end = _offset("_end", paging["_end"])
        if end <= skip:
            raise QueryError("_end", "_end must be greater than _start")
        limit = min(end - skip, max_page_size)
    else:
        limit = min(default_page_size, max_page_size)
    return ListQuery(query_filter, _sort(sort_names, orders, spec), skip, limit)


def _resolve(key: str, spec: ListSpec) -> tuple[FilterField, str]:
    """Split `salary_gte` into its field and operator; an exact field name wins over a suffix."""
    exact = spec._by_name.get(key)
    name, _, suffix = key.rpartition("_")
    suffixed = spec._by_name.get(name)
    if exact is not None:
        filter_field, op = exact, "eq"
    elif suffixed is not None and suffix in _SUFFIX_OPS:
        filter_field, op = suffixed, suffix
    elif suffixed is not None:
        raise QueryError(key, f"unknown operator {_shown(suffix)} for field {name!r}")
    else:
        raise QueryError(key, f"unknown query parameter {_shown(key)}")
    if op not in filter_field.type.operators:
        raise QueryError(key, f"field {filter_field.name!r} does not support the {op} filter")
    return filter_field, op


def _coerce(key: str, value: str, filter_field: FilterField, op: str) -> Any:
    if op == "like":
        return _literal_pattern(value)
    try:
        return filter_field.type.coerce(value)
    except (ValueError, TypeError, ArithmeticError) as error:  # decimal, date overflow
        raise QueryError(
            key, f"invalid value {_shown(value)} for {key}: expected {filter_field.type.label}"
        ) from error


def _build_filter(values: dict[tuple[FilterField, str], list[Any]]) -> dict[str, Any]:
    """One condition per key stays top-level; several on one key are ANDed, never merged."""
    conditions: dict[str, list[Any]] = {}
    for (filter_field, op), items in values.items():
        subkey = filter_field.type.subkey
        key = f"{filter_field.key}.{subkey}" if subkey else filter_field.key
        key_conditions = conditions.setdefault(key, [])
        # Always `$in`/`$nin`, even for one value: the same as plain equality on MongoDB,
        # and the only form nx-27017 0.8.1 matches against nested ObjectIds (links).
        if op == "eq":
            key_conditions.append({"$in": items})
        elif op == "ne":
            key_conditions.append({"$nin": items})
        elif op == "like":
            key_conditions.extend({"$regex": item, "$options": "i"} for item in items)
        else:
            key_conditions.extend({f"${op}": item} for item in items)
    query_filter: dict[str, Any] = {}
    conjunction: list[dict[str, Any]] = []
    for key, key_conditions in conditions.items():
        if len(key_conditions) == 1:
            query_filter[key] = key_conditions[0]
        else:
            conjunction.extend({key: condition} for condition in key_conditions)
    if conjunction:
        query_filter["$and"] = conjunction
    return query_filter


def _search(text: str, spec: ListSpec) -> list[dict[str, Any]]:
    keys = [spec_field.key for spec_field in spec.fields if spec_field.searchable]
    if not keys:
        raise QueryError("q", "this list has no searchable fields")
    pattern = _literal_pattern(text)
    return [{key: {"$regex": pattern, "$options": "i"}} for key in keys]


def _literal_pattern(text: str) -> str:
    """A regex matching `text` literally; MongoDB rejects a raw NUL inside a pattern."""
    return re.escape(text).replace("\x00", "\\x00")


def _offset(parameter: str, value: str) -> int:
    if not _OFFSET.fullmatch(value):
        raise QueryError(
            parameter, f"invalid value {_shown(value)} for {parameter}: expected an integer >= 0"
        )
    return int(value)


def _sort(names: list[str], orders: list[str], spec: ListSpec) -> list[tuple[str, int]]:
    """Pair `_sort` with `_order` by position; `_id` last keeps pages stable."""
    if len(orders) > len(names):
        raise QueryError("_order", "_order has more entries than _sort")
    sort: list[tuple[str, int]] = []
    for index, name in enumerate(names):
        sort_field = spec._by_name.get(name)
        if sort_field is None or not sort_field.type.sortable:
            raise QueryError("_sort", f"cannot sort by {_shown(name)}")
        if any(key == sort_field.key for key, _ in sort):
            raise QueryError("_sort", f"{name!r} is sorted by more than once")
        order = orders[index].lower() if index < len(orders) else "asc"
        if order not in _SORT_DIRECTIONS:
            raise QueryError(
                "_order", f"invalid value {_shown(order)} for _order: expected asc or desc"
            )
        sort.append((sort_field.key, _SORT_DIRECTIONS[order]))
    if all(key != "_id" for key, _ in sort):
        sort.append(("_id", 1))
    return sort


def _shown(value: str) -> str:
    """Quote a client value for an error message without echoing a huge payload back."""
    if len(value) > _SHOWN_VALUE_CHARS:
        value = value[:_SHOWN_VALUE_CHARS] + "..."
    return repr(value)


# Coercers: raw query-string value -> the BSON value Beanie stores for the field type.


def coerce_str(value: str) -> str:
    return value


def coerce_int(value: str) -> int:
    """Digits only (no `1.0`, `1_000`); BSON cannot hold integers beyond int64."""
    if not _INTEGER.fullmatch(value) or not _INT64_MIN <= int(value) <= _INT64_MAX:
        raise ValueError(value)
    return int(value)


def coerce_float(value: str) -> float:
    """Finite numbers only: `nan` and `inf` make comparisons surprising."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def coerce_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise ValueError(value)
    return lowered in ("true", "1")


def coerce_decimal(value: str) -> Decimal128:
    """Beanie stores a Decimal as Decimal128."""
    return Decimal128(Decimal(value))


def coerce_datetime(value: str) -> datetime:
    """ISO 8601, date-only allowed; naive means UTC, as pymongo reads naive datetimes."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def coerce_date(value: str) -> datetime:
    """Beanie stores a `date` as the datetime at midnight (UTC)."""
    return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)


def coerce_timedelta(value: str) -> float:
    """Beanie stores a timedelta as its total seconds; accept seconds or ISO 8601 (`PT1H`)."""
    try:
        return coerce_float(value)
    except ValueError:
        return _TIMEDELTA.validate_strings(value).total_seconds()


def coerce_uuid(value: str) -> Binary:
    """Beanie stores a UUID as Binary subtype 4, whatever the client's uuidRepresentation."""
    return Binary.from_uuid(uuid.UUID(value))


def coerce_ip_address(value: str) -> str:
    """Beanie stores an IP address as its text, which `ip_address` normalises (`::0:1` is
    stored as `::1`)."""
    return str(ipaddress.ip_address(value))


def coerce_object_id(value: str) -> ObjectId:
    if not ObjectId.is_valid(value):  # ObjectId() raises InvalidId, not a ValueError
        raise ValueError(value)
    return ObjectId(value)


def coerce_literal(choices: Iterable[Any]) -> Callable[[str], Any]:
    """Match a choice by its text (`"2"` -> `2`) and return the choice as stored."""
    by_text = {str(choice): choice for choice in choices}

    def coerce(value: str) -> Any:
        if value not in by_text:
            raise ValueError(value)
        return by_text[value]

    return coerce


def coerce_enum(enum_cls: type[Enum]) -> Callable[[str], Any]:
    """Beanie stores an Enum member as its value."""
    return coerce_literal(member.value for member in enum_cls)


# Filter types: what a generated `FilterField` row names.

TEXT = FilterType(coerce_str, "text", STRING_OPS, {"type": "string"})
INTEGER = FilterType(
    coerce_int,
    "an integer",
    ORDERED_OPS,
    {"type": "integer", "minimum": _INT64_MIN, "maximum": _INT64_MAX},
)
NUMBER = FilterType(coerce_float, "a number", ORDERED_OPS, {"type": "number"})
DECIMAL = FilterType(
    coerce_decimal,
    "a decimal number",
    ORDERED_OPS,
    {"type": "string", "pattern": r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"},
)
BOOLEAN = FilterType(coerce_bool, "true or false", EQUALITY_OPS, {"type": "boolean"})
DATETIME = FilterType(
    coerce_datetime, "an ISO 8601 date-time", ORDERED_OPS, {"type": "string", "format": "date-time"}
)
DATE = FilterType(
    coerce_date, "an ISO 8601 date", ORDERED_OPS, {"type": "string", "format": "date"}
)
TIMEDELTA = FilterType(
    coerce_timedelta,
    "seconds or an ISO 8601 duration",
    ORDERED_OPS,
    {"anyOf": [{"type": "number"}, {"type": "string", "format": "duration"}]},
)
UUID = FilterType(coerce_uuid, "a UUID", EQUALITY_OPS, {"type": "string", "format": "uuid"})
IP_ADDRESS = FilterType(
    coerce_ip_address,
    "an IP address",
    EQUALITY_OPS,
    {"type": "string", "format": "ipvanyaddress"},
)
OBJECT_ID = FilterType(
    coerce_object_id,
    "an ObjectId",
    EQUALITY_OPS,
    {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
)


def choice_of(values: Iterable[str | int | float | bool]) -> FilterType:
    """A `Literal[...]` field: one of `values`, matched by its text."""
    choices = tuple(values)
    return _choices(coerce_literal(choices), choices)


def enum_of(enum_cls: type[Enum]) -> FilterType:
    """An Enum field, filtered by member value since that is what Beanie stores."""
    return _choices(coerce_enum(enum_cls), tuple(member.value for member in enum_cls))


def _choices(coerce: Callable[[str], Any], values: tuple[Any, ...]) -> FilterType:
    label = "one of " + ", ".join(str(value) for value in values)
    return FilterType(coerce, label, EQUALITY_OPS, {"enum": list(values)})


def link_to(id_type: FilterType = OBJECT_ID) -> FilterType:
    """A `Link[Target]` field, given the target's id type. Beanie stores a DBRef; filters
    compare its `$id` (comparing whole DBRefs is valid MongoDB, but nx-27017 0.8.1 cannot)."""
    return FilterType(
        id_type.coerce, id_type.label, EQUALITY_OPS, id_type.schema, sortable=False, subkey="$id"
    )


def items_of(item: FilterType) -> FilterType:
    """A list or set field: a value matches any element, and an array has no order to sort by."""
    return FilterType(
        item.coerce,
        item.label,
        item.operators & EQUALITY_OPS,
        item.schema,
        sortable=False,
        subkey=item.subkey,  # a list of links matches on any element's `$id`
    )


FILTER_TYPES: Mapping[str, FilterType | Callable[..., FilterType]] = {
    "TEXT": TEXT,
    "INTEGER": INTEGER,
    "NUMBER": NUMBER,
    "DECIMAL": DECIMAL,
    "BOOLEAN": BOOLEAN,
    "DATETIME": DATETIME,
    "DATE": DATE,
    "TIMEDELTA": TIMEDELTA,
    "UUID": UUID,
    "IP_ADDRESS": IP_ADDRESS,
    "OBJECT_ID": OBJECT_ID,
    "choice_of": choice_of,
    "enum_of": enum_of,
    "link_to": link_to,
    "items_of": items_of,
}
"""Every filter type a generated row may name, under the name it imports: a `FilterType`,
or a factory of one. The compiler's table of field kinds names these, and its tests check
that each name it uses is here and each entry here is used."""
