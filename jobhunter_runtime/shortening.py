"""JSON cut to a byte budget, for what the generated API answers: a list page within
`api.max_list_bytes`, and validation errors that never echo more than a few hundred bytes
of their input. The records' own errors (the CLI's too) are cut the same way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

ERROR_BYTES = 512
"""About the most JSON one validation error takes in an answer, echoed input included."""
MAX_ERRORS = 20
"""Validation errors one answer lists; a note says how many more there were."""
ELLIPSIS = "…"


def shortened_page(records: list[dict[str, Any]], max_bytes: int) -> tuple[list[Any], list[str]]:
    """A list page within `max_bytes` of JSON, and the ids of the records shortened to get
    there. Every record stays, with its id, so a client paging by `_start`/`_end` misses
    none; small records stay whole, and the large ones share what is left (see `fitted`).
    The whole record is one GET by id away."""
    sizes = [_size(record) for record in records]
    if sum(sizes) + len(records) + 1 <= max_bytes:
        return records, []
    cap = _water_level(sizes, max_bytes - len(records) - 1)
    page: list[Any] = []
    shortened: list[str] = []
    for record, size in zip(records, sizes, strict=True):
        if size > cap:
            rest = dict(record)
            record_id = rest.pop("id")
            record = {"id": record_id, **fitted(rest, cap - _size({"id": record_id}) + 1)}
            shortened.append(str(record_id))
        page.append(record)
    return page, shortened


def shown_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validation errors as an answer shows them: each within about ERROR_BYTES (a long
    input is cut, never echoed whole), at most MAX_ERRORS of them and a note of the rest."""
    shown = [fitted(error, ERROR_BYTES) for error in errors[:MAX_ERRORS]]
    if len(errors) > MAX_ERRORS:
        more = len(errors) - MAX_ERRORS
        shown.append(
            {"type": "too_many_errors", "loc": [], "msg": f"and {more} more", "input": None}
        )
    return shown


def fitted(value: Any, max_bytes: int) -> Any:
    """JSON-able `value` cut to `max_bytes` of JSON (or the smallest it can be: a number
    stays a number). Strings keep a head and end in `…`, lists keep their first items; an
    object keeps its keys and shares the budget among its values (small ones stay
    whole), and drops its last keys only when even that is too much."""
    if _size(value) <= max_bytes:
        return value
    if isinstance(value, str):
        return _cut_string(value, max_bytes)
    if isinstance(value, list):
        return _cut_list(value, max_bytes)
    if isinstance(value, dict):
        return _cut_object(value, max_bytes)
    return value


def _cut_string(text: str, max_bytes: int) -> str:
    keep = max(max_bytes - 5, 0)  # the quotes and the ellipsis, in UTF-8
    cut = text[:keep] + ELLIPSIS
    while keep and _size(cut) > max_bytes:  # escapes and multi-byte characters
        keep = keep * max_bytes // _size(cut)
        cut = text[:keep] + ELLIPSIS
    return cut


def _cut_list(items: list[Any], max_bytes: int) -> list[Any]:
    kept: list[Any] = []
    used = 2
    for item in items:
        size = _size(item) + 1
        if used + size > max_bytes:
            room = max_bytes - used - 1
            last = fitted(item, room)
            if _size(last) <= room:
                kept.append(last)
            break
        kept.append(item)
        used += size
    return kept


def _cut_object(data: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    # Only the keys that could fit with one-byte values are considered at all: a body
    # with 100,000 keys costs what its first few do.
    entries: list[tuple[str, Any, int]] = []
    least = 2
    for key, value in data.items():
        key_size = _size(key) + 2  # with its colon and comma
        least += key_size + 1
        if entries and least > max_bytes:
            break
        entries.append((key, value, key_size))
    sizes = [_size(value) for _, value, _ in entries]
    cap = _water_level(sizes, max_bytes - sum(entry[2] for entry in entries) - 2)
    cut: dict[str, Any] = {}
    used = 2
    for (key, value, key_size), size in zip(entries, sizes, strict=True):
        if size > cap:
            value = fitted(value, cap)
            size = _size(value)
        used += key_size + size
        if used > max_bytes:
            break
        cut[key] = value
    return cut


def _water_level(sizes: list[int], budget: int) -> int:
    """The largest cap such that sizes, each capped, sum to at most `budget` (never
    below zero): what items may keep when the small ones stay whole."""
    remaining = max(budget, 0)
    ordered = sorted(sizes)
    for index, size in enumerate(ordered):
        share = remaining // (len(ordered) - index)
        if size > share:
            return share
        remaining -= size
    return ordered[-1] if ordered else 0


def _size(value: Any) -> int:
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:  # integers past 64 bits, lone surrogates: inputs can be
        return len(json.dumps(value, ensure_ascii=True).encode())
