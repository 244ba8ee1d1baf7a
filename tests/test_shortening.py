"""`jobhunter_runtime.shortening`: JSON cut to a byte budget (list pages, echoed inputs),
as properties over arbitrary JSON; tests/test_api_limits.py sees it through the API."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from jobhunter_runtime.shortening import ELLIPSIS, fitted, shortened_page, shown_errors

KEYS = st.text(min_size=1, max_size=8)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=400),
    lambda inner: st.lists(inner, max_size=30) | st.dictionaries(KEYS, inner, max_size=12),
    max_leaves=200,
)


def size(value: Any) -> int:
    return len(orjson.dumps(value))


def is_cut_from(cut: Any, whole: Any) -> bool:
    """Whether `cut` is `whole` with string tails, list tails or object keys taken off."""
    if isinstance(whole, str) and isinstance(cut, str):
        return cut == whole or (cut.endswith(ELLIPSIS) and whole.startswith(cut[:-1]))
    if isinstance(whole, list) and isinstance(cut, list):
        return len(cut) <= len(whole) and all(map(is_cut_from, cut, whole))
    if isinstance(whole, dict) and isinstance(cut, dict):
        return all(key in whole and is_cut_from(cut[key], whole[key]) for key in cut)
    return cut == whole


@settings(max_examples=300, deadline=None)
@given(value=JSON, budget=st.integers(64, 4096))
def test_fitted_stays_within_the_budget_and_only_cuts(value: Any, budget: int) -> None:
    cut = fitted(value, budget)
    assert size(cut) <= budget or (cut == value and size(value) <= budget)
    assert is_cut_from(cut, value)
    if size(value) <= budget:
        assert cut == value


@settings(max_examples=100, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 20_000), min_size=1, max_size=30),
    budget=st.integers(16_384, 200_000),
)
def test_a_page_keeps_every_record_and_the_small_ones_whole(sizes: list[int], budget: int) -> None:
    records = [{"id": str(i), "text": "x" * n} for i, n in enumerate(sizes)]
    page, shortened = shortened_page(records, budget)
    assert [r["id"] for r in page] == [r["id"] for r in records]
    assert size(page) <= budget or (not shortened and size(records) <= budget)
    whole = [r for r in page if r in records]
    assert {r["id"] for r in page} - {r["id"] for r in whole} == set(shortened)
    if shortened:  # whatever was cut was larger than anything kept whole
        assert max(size(r) for r in records if r["id"] in shortened) >= max(
            (size(r) for r in whole), default=0
        )


def test_errors_are_cut_and_counted() -> None:
    errors = [
        {"type": "t", "loc": ["body", i], "msg": "m", "input": "x" * 10_000} for i in range(50)
    ]
    shown = shown_errors(errors)
    assert len(shown) == 21 and shown[-1]["msg"] == "and 30 more"
    assert all(size(error) <= 512 for error in shown)
    assert shown[0]["loc"] == ["body", 0] and shown[0]["input"].endswith(ELLIPSIS)
