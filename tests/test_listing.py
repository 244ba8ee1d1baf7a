"""The Refine simple-rest list dialect: every rule, and that no client input becomes an operator."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum, IntEnum, StrEnum
from typing import Any

import pytest
from beanie.odm.utils.encoder import Encoder
from bson import Binary, Decimal128, ObjectId
from fastapi import FastAPI
from fastapi.openapi.models import Parameter
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from jobhunter_runtime.listing import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    EQUALITY_OPS,
    INTEGER,
    NUMBER,
    OBJECT_ID,
    ORDERED_OPS,
    STRING_OPS,
    TEXT,
    TIMEDELTA,
    UUID,
    FilterField,
    FilterType,
    ListQuery,
    ListSpec,
    QueryError,
    choice_of,
    coerce_bool,
    coerce_date,
    coerce_datetime,
    coerce_decimal,
    coerce_enum,
    coerce_float,
    coerce_int,
    coerce_ip_address,
    coerce_literal,
    coerce_object_id,
    coerce_str,
    coerce_timedelta,
    coerce_uuid,
    enum_of,
    items_of,
    link_to,
    parse_list_query,
)


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Priority(IntEnum):
    LOW = 1
    HIGH = 2


KINDS = ("full", "part")
OID_A, OID_B = "65a1b2c3d4e5f60718293a4b", "65a1b2c3d4e5f60718293a4c"
UUID_A = "12345678-1234-5678-1234-567812345678"

UNSORTED_TEXT = replace(TEXT, sortable=False)

SPEC = ListSpec(
    (
        FilterField("id", OBJECT_ID, "_id"),
        FilterField("title", TEXT, searchable=True),
        FilterField("notes", UNSORTED_TEXT, searchable=True),
        FilterField("salary_max", INTEGER),
        FilterField("score", NUMBER),
        FilterField("budget", DECIMAL),
        FilterField("remote", BOOLEAN),
        FilterField("postedAt", DATETIME),
        FilterField("deadline", DATE),
        FilterField("wait", TIMEDELTA),
        FilterField("status", enum_of(Status)),
        FilterField("priority", enum_of(Priority)),
        FilterField("kind", choice_of(KINDS)),
        FilterField("skills", items_of(TEXT)),
        FilterField("company", link_to()),
        FilterField("tags", items_of(link_to(UUID))),
        FilterField("ref", UUID),
    )
)
MONGO_KEYS = frozenset(f.key for f in SPEC.fields)
FILTER_KEYS = frozenset(f.key if f.type.subkey is None else f"{f.key}.$id" for f in SPEC.fields)
OUR_OPERATORS = frozenset({"$in", "$nin", "$gte", "$lte", "$regex", "$options", "$or", "$and"})


def parse(*params: tuple[str, str], spec: ListSpec = SPEC) -> ListQuery:
    return parse_list_query(params, spec, max_page_size=100, default_page_size=25)


def parse_filter(*params: tuple[str, str]) -> dict[str, Any]:
    return parse(*params).filter


def rejected(*params: tuple[str, str]) -> QueryError:
    with pytest.raises(QueryError) as caught:
        parse(*params)
    return caught.value


def test_no_parameters_is_the_first_default_page_sorted_by_id() -> None:
    assert parse() == ListQuery(filter={}, sort=[("_id", 1)], skip=0, limit=25)


# Filters


def test_each_operator_suffix() -> None:
    assert parse_filter(("salary_max", "5")) == {"salary_max": {"$in": [5]}}
    assert parse_filter(("salary_max_ne", "5")) == {"salary_max": {"$nin": [5]}}
    assert parse_filter(("salary_max_gte", "5")) == {"salary_max": {"$gte": 5}}
    assert parse_filter(("salary_max_lte", "-5")) == {"salary_max": {"$lte": -5}}
    assert parse_filter(("title_like", "Dev")) == {"title": {"$regex": "Dev", "$options": "i"}}


def test_conditions_on_different_fields_are_all_top_level() -> None:
    assert parse_filter(("remote", "true"), ("title", "Dev"), ("score_gte", "1.5")) == {
        "remote": {"$in": [True]},
        "title": {"$in": ["Dev"]},
        "score": {"$gte": 1.5},
    }


def test_a_repeated_value_means_any_of_and_a_repeated_ne_none_of() -> None:
    assert parse_filter(("status", "open"), ("status", "closed")) == {
        "status": {"$in": ["open", "closed"]}
    }
    assert parse_filter(("kind_ne", "full"), ("kind_ne", "part")) == {
        "kind": {"$nin": ["full", "part"]}
    }


def test_several_conditions_on_one_field_are_anded_not_overwritten() -> None:
    assert parse_filter(("salary_max_gte", "10"), ("salary_max_lte", "20")) == {
        "$and": [{"salary_max": {"$gte": 10}}, {"salary_max": {"$lte": 20}}]
    }
    assert parse_filter(
        ("title", "a"), ("title", "b"), ("title_ne", "c"), ("title_like", "x"), ("remote", "0")
    ) == {
        "remote": {"$in": [False]},
        "$and": [
            {"title": {"$in": ["a", "b"]}},
            {"title": {"$nin": ["c"]}},
            {"title": {"$regex": "x", "$options": "i"}},
        ],
    }
    assert parse_filter(("score_gte", "1"), ("score_gte", "2")) == {
        "$and": [{"score": {"$gte": 1.0}}, {"score": {"$gte": 2.0}}]
    }


def test_like_is_a_case_insensitive_literal_substring() -> None:
    condition = parse_filter(("title_like", "C++ (senior).*"))["title"]
    assert condition["$options"] == "i"
    assert re.search(condition["$regex"], "Lead C++ (Senior).* dev", re.IGNORECASE)
    assert not re.search(condition["$regex"], "C++ (senior)xx")


def test_a_nul_never_reaches_a_mongodb_pattern() -> None:
    pattern = parse_filter(("title_like", "a\x00b"))["title"]["$regex"]
    assert "\x00" not in pattern
    assert re.fullmatch(pattern, "a\x00b")


def test_id_get_many_compares_object_ids() -> None:
    assert parse_filter(("id", OID_A), ("id", OID_B)) == {
        "_id": {"$in": [ObjectId(OID_A), ObjectId(OID_B)]}
    }
    assert parse_filter(("id", OID_A)) == {"_id": {"$in": [ObjectId(OID_A)]}}


def test_uuid_ids_compare_as_beanie_stores_them() -> None:
    spec = ListSpec((FilterField("id", UUID, "_id"),))
    stored = Encoder(to_db=True).encode(uuid.UUID(UUID_A))
    assert parse(("id", UUID_A), spec=spec).filter == {"_id": {"$in": [stored]}}


def test_one_value_is_still_in_or_nin() -> None:
    assert parse_filter(("title", "Dev"), ("kind_ne", "full")) == {
        "title": {"$in": ["Dev"]},
        "kind": {"$nin": ["full"]},
    }


def test_link_fields_compare_the_stored_dbref_id() -> None:
    assert parse_filter(("company", OID_A)) == {"company.$id": {"$in": [ObjectId(OID_A)]}}
    assert parse_filter(("company_ne", OID_A), ("company_ne", OID_B)) == {
        "company.$id": {"$nin": [ObjectId(OID_A), ObjectId(OID_B)]}
    }
    spec = ListSpec((FilterField("owner", link_to(UUID)),))
    stored = Encoder(to_db=True).encode(uuid.UUID(UUID_A))
    query_filter = parse(("owner", UUID_A), spec=spec).filter
    assert query_filter == {"owner.$id": {"$in": [Binary.from_uuid(uuid.UUID(UUID_A))]}}
    (value,) = query_filter["owner.$id"]["$in"]
    assert (type(value), value.subtype, value) == (Binary, 4, stored)


def test_a_link_filter_coexists_with_other_conditions_on_its_id() -> None:
    assert parse_filter(("company", OID_A), ("company_ne", OID_B)) == {
        "$and": [
            {"company.$id": {"$in": [ObjectId(OID_A)]}},
            {"company.$id": {"$nin": [ObjectId(OID_B)]}},
        ]
    }


def test_list_fields_filter_by_element() -> None:
    assert parse_filter(("skills", "python"), ("skills", "go")) == {
        "skills": {"$in": ["python", "go"]}
    }


def test_null_is_an_ordinary_value() -> None:
    assert parse_filter(("title", "null")) == {"title": {"$in": ["null"]}}
    assert rejected(("salary_max", "null")).parameter == "salary_max"


# Search


def test_q_searches_every_searchable_field_literally() -> None:
    pattern = re.escape("a.b$")
    assert parse_filter(("q", "a.b$"), ("remote", "1")) == {
        "remote": {"$in": [True]},
        "$or": [
            {"title": {"$regex": pattern, "$options": "i"}},
            {"notes": {"$regex": pattern, "$options": "i"}},
        ],
    }


def test_an_empty_q_searches_nothing() -> None:
    assert parse_filter(("q", "")) == {}


def test_q_without_searchable_fields_is_rejected() -> None:
    spec = ListSpec((FilterField("id", OBJECT_ID, "_id"),))
    with pytest.raises(QueryError, match="no searchable fields"):
        parse(("q", "x"), spec=spec)


# Unknown and unsupported parameters


@pytest.mark.parametrize(
    "key",
    ["nope", "title[$ne]", "$where", "__proto__", "title.$ne", "salary_max__gte", "", "_page"],
)
def test_unknown_parameters_are_rejected(key: str) -> None:
    error = rejected((key, "1"))
    assert error.parameter == key
    assert "unknown query parameter" in str(error)


def test_an_unknown_operator_suffix_names_the_field() -> None:
    error = rejected(("salary_max_gt", "1"))
    assert (error.parameter, str(error)) == (
        "salary_max_gt",
        "unknown operator 'gt' for field 'salary_max'",
    )


@pytest.mark.parametrize("key", ["remote_gte", "status_like", "salary_max_like", "company_lte"])
def test_operators_a_field_does_not_support_are_rejected(key: str) -> None:
    error = rejected((key, "1"))
    assert error.parameter == key
    assert "does not support" in str(error)


def test_an_exact_field_name_wins_over_an_operator_suffix() -> None:
    spec = ListSpec(
        (
            FilterField("a", INTEGER),
            FilterField("a_ne", INTEGER),
        )
    )
    assert parse(("a_ne", "1"), spec=spec).filter == {"a_ne": {"$in": [1]}}
    assert parse(("a_ne_ne", "2"), spec=spec).filter == {"a_ne": {"$nin": [2]}}
    assert parse(("a_gte", "3"), spec=spec).filter == {"a": {"$gte": 3}}


# Coercion


@pytest.mark.parametrize(
    ("key", "value", "label"),
    [
        ("salary_max", "1.5", "an integer"),
        ("salary_max", "1_000", "an integer"),
        ("salary_max", str(2**63), "an integer"),
        ("score", "nan", "a number"),
        ("score", "abc", "a number"),
        ("budget", "ten", "a decimal number"),
        ("budget", "1" * 40, "a decimal number"),
        ("remote", "yes", "true or false"),
        ("postedAt", "yesterday", "an ISO 8601 date-time"),
        ("postedAt", "0001-01-01T00:00:00+01:00", "an ISO 8601 date-time"),
        ("deadline", "2024-01-02T10:00:00", "an ISO 8601 date"),
        ("wait", "soon", "seconds or an ISO 8601 duration"),
        ("status", "OPEN", "one of open, closed"),
        ("priority", "3", "one of 1, 2"),
        ("kind", "temp", "one of full, part"),
        ("id", "not-an-id", "an ObjectId"),
        ("id", "abcdefghijkl", "an ObjectId"),
        ("company", "123", "an ObjectId"),
        ("tags", OID_A, "a UUID"),
        ("ref", "xyz", "a UUID"),
    ],
)
def test_values_that_do_not_coerce_name_parameter_value_and_type(
    key: str, value: str, label: str
) -> None:
    error = rejected((key, value))
    assert error.parameter == key
    assert str(error) == f"invalid value {value!r} for {key}: expected {label}"


def test_error_messages_do_not_echo_huge_values() -> None:
    message = str(rejected(("salary_max", "x" * 10_000)))
    assert len(message) < 150
    assert message.endswith("expected an integer")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("false", False), ("False", False), ("0", False)],
)
def test_bool_coercion(value: str, expected: bool) -> None:
    assert coerce_bool(value) is expected


def test_datetime_coercion_is_aware_utc() -> None:
    assert coerce_datetime("2024-01-02T10:00:00") == datetime(2024, 1, 2, 10, tzinfo=UTC)
    assert coerce_datetime("2024-01-02") == datetime(2024, 1, 2, tzinfo=UTC)
    converted = coerce_datetime("2024-01-02T10:00:00+02:00")
    assert (converted, converted.tzinfo) == (datetime(2024, 1, 2, 8, tzinfo=UTC), UTC)
    assert coerce_datetime("2024-01-02T10:00:00Z").tzinfo == UTC


def test_enum_and_literal_coercion_returns_the_stored_value() -> None:
    assert parse_filter(("status", "open"), ("priority", "2"), ("kind", "part")) == {
        "status": {"$in": ["open"]},
        "priority": {"$in": [2]},
        "kind": {"$in": ["part"]},
    }
    assert coerce_literal((1, 2))("2") == 2


def test_timedelta_accepts_seconds_and_iso_durations() -> None:
    assert coerce_timedelta("90") == 90.0
    assert coerce_timedelta("PT1H") == 3600.0


def test_int_and_float_coercion() -> None:
    assert coerce_int("+7") == 7
    assert coerce_int(str(-(2**63))) == -(2**63)
    assert coerce_float("1e3") == 1000.0


@pytest.mark.parametrize(
    ("coerce", "raw", "value"),
    [
        (coerce_date, "2024-01-02", date(2024, 1, 2)),
        (coerce_uuid, UUID_A, uuid.UUID(UUID_A)),
        (coerce_decimal, "12.50", Decimal("12.50")),
        (coerce_enum(Status), "open", Status.OPEN),
        (coerce_enum(Priority), "2", Priority.HIGH),
        (coerce_timedelta, "PT1M", timedelta(minutes=1)),
        (coerce_datetime, "2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (coerce_object_id, OID_A, ObjectId(OID_A)),
        (coerce_ip_address, "10.0.0.1", ipaddress.IPv4Address("10.0.0.1")),
        (coerce_ip_address, "fd00:0::0:1", ipaddress.IPv6Address("fd00::1")),
    ],
)
def test_coercers_produce_what_beanie_stores(coerce: Any, raw: str, value: Any) -> None:
    stored = Encoder(to_db=True).encode(value)
    coerced = coerce(raw)
    if isinstance(stored, datetime) and stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)  # pymongo writes naive datetimes as UTC
    assert coerced == stored
    assert type(coerced) is type(stored) or isinstance(stored, Enum)


def test_decimal_and_date_coerce_to_bson_types() -> None:
    assert parse_filter(("budget_gte", "1.5"), ("deadline_lte", "2024-02-29")) == {
        "budget": {"$gte": Decimal128("1.5")},
        "deadline": {"$lte": datetime(2024, 2, 29, tzinfo=UTC)},
    }


# Pagination


def test_start_and_end_give_skip_and_limit() -> None:
    query = parse(("_start", "20"), ("_end", "30"))
    assert (query.skip, query.limit) == (20, 10)


def test_page_size_is_capped() -> None:
    query = parse(("_start", "0"), ("_end", "5000"))
    assert (query.skip, query.limit) == (0, 100)
    assert parse_list_query([], SPEC, max_page_size=10, default_page_size=50).limit == 10


def test_missing_end_is_the_default_page_size_and_missing_start_is_zero() -> None:
    assert (parse(("_start", "40")).skip, parse(("_start", "40")).limit) == (40, 25)
    assert (parse(("_end", "10")).skip, parse(("_end", "10")).limit) == (0, 10)


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ((("_start", "-1"),), "_start"),
        ((("_end", "-5"),), "_end"),
        ((("_start", "x"),), "_start"),
        ((("_start", "1.0"),), "_start"),
        ((("_start", "1" * 19),), "_start"),
        ((("_start", "10"), ("_end", "5")), "_end"),
        ((("_start", "10"), ("_end", "10")), "_end"),
        ((("_start", "0"), ("_start", "10")), "_start"),
        ((("q", "a"), ("q", "b")), "q"),
    ],
)
def test_bad_pagination_is_rejected(params: tuple[tuple[str, str], ...], parameter: str) -> None:
    assert rejected(*params).parameter == parameter


def test_page_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        parse_list_query([], SPEC, max_page_size=0, default_page_size=10)


# Sorting


def test_sort_lists_pair_by_position_and_end_with_the_id_tie_breaker() -> None:
    assert parse(("_sort", "title,salary_max"), ("_order", "asc,DESC")).sort == [
        ("title", 1),
        ("salary_max", -1),
        ("_id", 1),
    ]


def test_sort_parameters_may_be_repeated() -> None:
    params = (("_sort", "title"), ("_order", "desc"), ("_sort", "score"), ("_order", "asc"))
    assert parse(*params).sort == [("title", -1), ("score", 1), ("_id", 1)]


def test_a_missing_order_is_ascending() -> None:
    assert parse(("_sort", "title,score"), ("_order", "desc")).sort == [
        ("title", -1),
        ("score", 1),
        ("_id", 1),
    ]


def test_sorting_by_id_maps_to_underscore_id_without_a_second_tie_breaker() -> None:
    assert parse(("_sort", "id"), ("_order", "desc")).sort == [("_id", -1)]


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ((("_sort", "nope"),), "_sort", "cannot sort by 'nope'"),
        ((("_sort", "notes"),), "_sort", "cannot sort by 'notes'"),
        ((("_sort", "title,"),), "_sort", "cannot sort by ''"),
        ((("_sort", "_id"),), "_sort", "cannot sort by '_id'"),
        ((("_sort", "title"), ("_order", "up")), "_order", "expected asc or desc"),
        ((("_sort", "title"), ("_order", "asc,desc")), "_order", "more entries"),
        ((("_order", "asc"),), "_order", "more entries"),
        ((("_sort", "title,title"),), "_sort", "more than once"),
    ],
)
def test_bad_sorts_are_rejected(
    params: tuple[tuple[str, str], ...], parameter: str, message: str
) -> None:
    error = rejected(*params)
    assert error.parameter == parameter
    assert message in str(error)


# The spec itself


def test_a_spec_rejects_duplicate_names_and_unknown_operators() -> None:
    field = FilterField("a", TEXT)
    with pytest.raises(ValueError, match="unique"):
        ListSpec((field, field))
    regex = FilterType(coerce_str, "text", frozenset({"regex"}), {"type": "string"})
    with pytest.raises(ValueError, match="unknown operators"):
        ListSpec((FilterField("a", regex),))


def test_a_stored_key_other_than_the_name_is_used_to_filter_search_and_sort() -> None:
    spec = ListSpec(
        (FilterField("postedAt", DATETIME, "posted_at"), FilterField("id", UUID, "_id"))
    )
    assert (spec.fields[0].key, spec.fields[1].key) == ("posted_at", "_id")
    query = parse(("postedAt_gte", "2024-01-02"), ("_sort", "postedAt"), spec=spec)
    assert query.filter == {"posted_at": {"$gte": datetime(2024, 1, 2, tzinfo=UTC)}}
    assert query.sort == [("posted_at", 1), ("_id", 1)]
    assert FilterField("title", TEXT).key == "title"


# Filter types


def test_the_scalar_types_sort_and_compare_as_their_values_do() -> None:
    assert TEXT.operators == STRING_OPS
    ordered = (INTEGER, NUMBER, DECIMAL, DATETIME, DATE, TIMEDELTA)
    assert all(kind.operators == ORDERED_OPS for kind in ordered)
    assert all(kind.operators == EQUALITY_OPS for kind in (BOOLEAN, UUID, OBJECT_ID))
    assert all(kind.sortable for kind in (TEXT, *ordered, BOOLEAN, UUID, OBJECT_ID))


def test_items_of_matches_an_element_and_neither_orders_nor_sorts() -> None:
    numbers = items_of(INTEGER)
    assert (numbers.operators, numbers.sortable) == (EQUALITY_OPS, False)
    assert (numbers.label, numbers.schema) == (INTEGER.label, INTEGER.schema)
    spec = ListSpec((FilterField("id", OBJECT_ID, "_id"), FilterField("sizes", numbers)))
    assert parse(("sizes", "1"), ("sizes", "2"), spec=spec).filter == {"sizes": {"$in": [1, 2]}}
    assert parse(("sizes_ne", "3"), spec=spec).filter == {"sizes": {"$nin": [3]}}
    with pytest.raises(QueryError, match="does not support the gte filter"):
        parse(("sizes_gte", "1"), spec=spec)
    with pytest.raises(QueryError, match="cannot sort by 'sizes'"):
        parse(("_sort", "sizes"), spec=spec)
    with pytest.raises(QueryError, match="expected an integer"):
        parse(("sizes", "x"), spec=spec)


def test_items_of_links_match_any_element_by_its_dbref_id() -> None:
    tags = items_of(link_to())
    assert tags.coerce(OID_A) == ObjectId(OID_A)
    assert (tags.operators, tags.sortable, tags.subkey) == (EQUALITY_OPS, False, "$id")
    assert items_of(TEXT).subkey is None
    assert parse_filter(("tags", UUID_A), ("tags_ne", UUID_A)) == {
        "$and": [
            {"tags.$id": {"$in": [coerce_uuid(UUID_A)]}},
            {"tags.$id": {"$nin": [coerce_uuid(UUID_A)]}},
        ]
    }


def test_link_to_takes_the_target_id_type() -> None:
    company = link_to()
    assert company.coerce(OID_A) == ObjectId(OID_A)
    assert (company.operators, company.sortable, company.subkey) == (EQUALITY_OPS, False, "$id")
    assert (company.label, company.schema) == (OBJECT_ID.label, OBJECT_ID.schema)
    assert OBJECT_ID.subkey is None
    tag = link_to(UUID)
    assert tag.coerce(UUID_A) == coerce_uuid(UUID_A)
    assert tag.subkey == "$id"
    assert (tag.label, tag.schema) == ("a UUID", {"type": "string", "format": "uuid"})
    with pytest.raises(ValueError):
        tag.coerce(OID_A)


def test_choice_of_matches_a_choice_by_its_text() -> None:
    sizes = choice_of(size for size in (1, 2, 3))  # any iterable, read once
    assert (sizes.coerce("2"), sizes.label, sizes.schema) == (
        2,
        "one of 1, 2, 3",
        {"enum": [1, 2, 3]},
    )
    assert (sizes.operators, sizes.sortable) == (EQUALITY_OPS, True)
    with pytest.raises(ValueError):
        sizes.coerce("4")


def test_enum_of_matches_and_documents_member_values() -> None:
    status, priority = enum_of(Status), enum_of(Priority)
    assert (status.coerce("closed"), status.label) == ("closed", "one of open, closed")
    assert (priority.coerce("1"), priority.schema) == (1, {"enum": [1, 2]})
    assert status.schema == {"enum": ["open", "closed"]}
    assert priority.operators == EQUALITY_OPS
    with pytest.raises(ValueError):
        status.coerce("OPEN")


def test_filter_types_compare_by_identity_so_rows_stay_hashable() -> None:
    assert enum_of(Status) != enum_of(Status)
    assert len({FilterField("a", TEXT), FilterField("a", TEXT)}) == 1


@pytest.mark.parametrize(
    ("kind", "valid", "invalid"),
    [
        (TEXT, "anything", None),
        (INTEGER, 2**63 - 1, 2**63),
        (NUMBER, 1.5, "1.5"),
        (DECIMAL, "-12.50e3", "twelve"),
        (BOOLEAN, True, "true"),
        (DATETIME, "2024-01-02T03:04:05Z", 20240102),  # checking date-time needs extras
        (DATE, "2024-01-02", "2024-13-01"),
        (TIMEDELTA, "PT1H", True),  # as does checking a duration
        (TIMEDELTA, 90, None),
        (UUID, UUID_A, "xyz"),
        (OBJECT_ID, OID_A.upper(), "abcdefghijkl"),
        (choice_of(KINDS), "full", "temp"),
    ],
)
def test_type_schemas_describe_the_values_their_coercers_accept(
    kind: FilterType, valid: Any, invalid: Any
) -> None:
    Draft202012Validator.check_schema(kind.schema)
    validator = Draft202012Validator(kind.schema, format_checker=FormatChecker())
    assert validator.is_valid(valid)
    kind.coerce(str(valid).lower() if isinstance(valid, bool) else str(valid))
    if invalid is not None:
        assert not validator.is_valid(invalid)


# OpenAPI

SMALL_SPEC = ListSpec(
    (
        FilterField("id", OBJECT_ID, "_id"),
        FilterField("title", TEXT, searchable=True),
        FilterField("salary", INTEGER),
        FilterField("tags", items_of(TEXT)),
    )
)


def by_name(parameters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {parameter["name"]: parameter for parameter in parameters}


def test_openapi_parameters_list_paging_sorting_search_then_each_supported_filter() -> None:
    assert [p["name"] for p in SMALL_SPEC.openapi_parameters()] == [
        "_start",
        "_end",
        "_sort",
        "_order",
        "q",
        "id",
        "id_ne",
        "title",
        "title_ne",
        "title_gte",
        "title_lte",
        "title_like",
        "salary",
        "salary_ne",
        "salary_gte",
        "salary_lte",
        "tags",
        "tags_ne",
    ]


def test_openapi_parameter_schemas() -> None:
    parameters = by_name(SMALL_SPEC.openapi_parameters())
    assert parameters["_start"]["schema"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 10**18 - 1,
    }
    assert parameters["_end"]["schema"]["minimum"] == 1
    assert parameters["_sort"]["schema"] == {"type": "string"}
    assert "id, title, salary." in parameters["_sort"]["description"]
    assert parameters["q"]["description"] == "title contains this text, case-insensitive."
    assert parameters["salary"] == {
        "name": "salary",
        "in": "query",
        "required": False,
        "schema": {"type": "array", "items": dict(INTEGER.schema)},
        "style": "form",
        "explode": True,
        "description": "salary is this value; repeat for any of several.",
    }
    assert parameters["id_ne"]["schema"] == {"type": "array", "items": dict(OBJECT_ID.schema)}
    assert parameters["salary_gte"]["schema"] == INTEGER.schema
    assert "style" not in parameters["salary_gte"]
    assert parameters["title_like"]["schema"] == {"type": "string"}
    assert parameters["tags"]["schema"] == {"type": "array", "items": {"type": "string"}}


def test_openapi_parameters_are_valid_parameter_objects_with_unique_names() -> None:
    parameters = SPEC.openapi_parameters()
    assert len(by_name(parameters)) == len(parameters)
    for parameter in parameters:
        assert {"name", "in", "schema", "description"} <= parameter.keys()
        assert (parameter["in"], parameter["required"]) == ("query", False)
        Parameter.model_validate(parameter)
        Draft202012Validator.check_schema(parameter["schema"])


def test_openapi_parameters_feed_fastapi_openapi_extra() -> None:
    app = FastAPI()

    @app.get("/jobs", openapi_extra={"parameters": SMALL_SPEC.openapi_parameters()})
    def jobs() -> list[str]:
        return []

    documented = app.openapi()["paths"]["/jobs"]["get"]["parameters"]
    assert [p["name"] for p in documented] == [p["name"] for p in SMALL_SPEC.openapi_parameters()]


def test_openapi_parameters_are_computed_once_and_copied_out() -> None:
    spec = ListSpec((FilterField("id", OBJECT_ID, "_id"),))
    first = spec.openapi_parameters()
    first[0]["schema"]["minimum"] = 99
    first.clear()
    assert spec.openapi_parameters()[0]["schema"]["minimum"] == 0
    assert OBJECT_ID.schema == {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"}


def test_openapi_leaves_out_what_a_spec_cannot_do() -> None:
    spec = ListSpec((FilterField("tags", items_of(TEXT)),))
    assert [p["name"] for p in spec.openapi_parameters()] == ["_start", "_end", "tags", "tags_ne"]


def test_openapi_documents_a_parameter_name_for_what_the_parser_reads_it_as() -> None:
    spec = ListSpec(
        (FilterField("a", INTEGER), FilterField("a_ne", INTEGER), FilterField("q", TEXT))
    )
    parameters = by_name(spec.openapi_parameters())
    assert parameters["a_ne"]["description"].startswith("a_ne is this value")
    assert "q" not in parameters  # q is the search parameter, and nothing here is searchable
    assert "q_like" in parameters


# No client input ever becomes an operator or a sub-document

_TEXT = st.text(max_size=12)
_WELL_TYPED_VALUES: dict[str, st.SearchStrategy[str]] = {
    "id": st.sampled_from([OID_A, OID_B]),
    "title": _TEXT,
    "notes": _TEXT,
    "skills": _TEXT,
    "salary_max": st.integers(-(10**6), 10**6).map(str),
    "score": st.floats(allow_nan=False, allow_infinity=False).map(str),
    "budget": st.decimals(-(10**6), 10**6, allow_nan=False, places=2).map(str),
    "remote": st.sampled_from(["true", "false", "1", "0"]),
    "postedAt": st.datetimes().map(datetime.isoformat),
    "deadline": st.dates().map(date.isoformat),
    "wait": st.sampled_from(["PT1H", "90"]),
    "status": st.sampled_from(["open", "closed"]),
    "priority": st.sampled_from(["1", "2"]),
    "kind": st.sampled_from(KINDS),
    "company": st.sampled_from([OID_A, OID_B]),
    "tags": st.just(UUID_A),
    "ref": st.just(UUID_A),
}
_SUFFIXES = {"eq": "", "ne": "_ne", "gte": "_gte", "lte": "_lte", "like": "_like"}
_SORTABLE = [f.name for f in SPEC.fields if f.type.sortable]


def _well_typed_filter(spec_field: FilterField) -> st.SearchStrategy[tuple[str, str]]:
    suffixes = st.sampled_from(sorted(_SUFFIXES[op] for op in spec_field.type.operators))
    return st.tuples(suffixes.map(spec_field.name.__add__), _WELL_TYPED_VALUES[spec_field.name])


_FILTERS = st.lists(st.sampled_from(SPEC.fields).flatmap(_well_typed_filter), max_size=6)
_PAGE_AND_SORT = st.fixed_dictionaries(
    {},
    optional={
        "q": _TEXT,
        "_start": st.integers(0, 300).map(str),
        "_end": st.integers(0, 300).map(str),
        "_sort": st.lists(st.sampled_from(_SORTABLE), min_size=1, max_size=3, unique=True).map(
            ",".join
        ),
        "_order": st.sampled_from(["asc", "desc", "DESC"]),
    },
).map(lambda params: list(params.items()))
_KEYS = st.one_of(
    _TEXT,
    st.builds(str.__add__, st.sampled_from([f.name for f in SPEC.fields]), _TEXT),
    st.sampled_from(["$where", "$ne", "title[$ne]", "title.$gt", "__proto__", "$or", "$and"]),
)
_HOSTILE = st.tuples(_KEYS, st.one_of(_TEXT, st.sampled_from(['{"$gt": ""}', "$ne", ".*"])))
_PARAMS = st.builds(
    lambda *parts: [pair for part in parts for pair in part],
    _FILTERS,
    _PAGE_AND_SORT,
    st.one_of(st.just([]), st.lists(_HOSTILE, min_size=1, max_size=2)),
).flatmap(st.permutations)
_BSON_SCALARS = (str, int, float, bool, datetime, ObjectId, Decimal128, Binary)


def _assert_only_our_keys(node: Any, client_strings: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            assert key in FILTER_KEYS | OUR_OPERATORS, key
            assert key not in client_strings - FILTER_KEYS, key
            _assert_only_our_keys(value, client_strings)
    elif isinstance(node, list):
        for item in node:
            _assert_only_our_keys(item, client_strings)
    else:
        assert isinstance(node, _BSON_SCALARS), node


@settings(derandomize=True, max_examples=300, deadline=None)
@given(_PARAMS)
def test_arbitrary_queries_are_rejected_or_safe(params: list[tuple[str, str]]) -> None:
    try:
        query = parse(*params)
    except QueryError as error:
        assert isinstance(error.parameter, str)
        return
    _assert_only_our_keys(query.filter, {text for pair in params for text in pair})
    assert 1 <= query.limit <= 100
    assert query.skip >= 0
    assert all(direction in (1, -1) and key in MONGO_KEYS for key, direction in query.sort)
