"""Every field kind is taught to every stage: each `TypeKind` member has an entry in each
stage's table of kinds, and what one table names exists in the table that defines it (the
runtime's filter types, the frontend's widgets and list filters).

A kind a stage does not handle has an explicit entry saying so; a missing one fails here,
naming the stage (in the test id) and the kind. CONTRIBUTING.md ("Adding a field kind")
lists the tables; tests/test_kind_recipe.py follows that recipe once.
"""

from __future__ import annotations

from typing import Any

import pytest

from jobhunter_compiler.emit.api_filters import FILTER_KINDS
from jobhunter_compiler.emit.frontend import FRONTEND_KINDS, LIST_FILTERS, WIDGETS
from jobhunter_compiler.emit.python import PYTHON_KINDS
from jobhunter_compiler.emit.typer_cli import OPTION_KINDS
from jobhunter_compiler.ir import TypeKind
from jobhunter_compiler.resolve.types import SPELLINGS
from jobhunter_runtime import listing

STAGE_TABLES: dict[str, tuple[str, dict[Any, Any]]] = {
    "resolve": ("jobhunter_compiler/resolve/types.py: SPELLINGS", SPELLINGS),
    "python": ("jobhunter_compiler/emit/python.py: PYTHON_KINDS", PYTHON_KINDS),
    "cli": ("jobhunter_compiler/emit/typer_cli.py: OPTION_KINDS", OPTION_KINDS),
    "api_filters": ("jobhunter_compiler/emit/api_filters.py: FILTER_KINDS", FILTER_KINDS),
    "frontend": ("jobhunter_compiler/emit/frontend.py: FRONTEND_KINDS", FRONTEND_KINDS),
}


@pytest.mark.parametrize("stage", list(STAGE_TABLES))
def test_every_kind_has_an_entry_in_the_stage_table(stage: str) -> None:
    where, table = STAGE_TABLES[stage]
    missing = [kind.value for kind in TypeKind if kind not in table]
    assert not missing, f"stage {stage}: no entry for kind {', '.join(missing)} in {where}"
    strays = [key for key in table if not isinstance(key, TypeKind)]
    assert not strays, f"stage {stage}: {where} has keys that are not TypeKind members: {strays}"


def test_each_name_spells_one_kind_and_each_syntax_kind_says_how() -> None:
    seen: dict[str, TypeKind] = {}
    for kind, spelling in SPELLINGS.items():
        if spelling.form == "syntax":
            assert spelling.how and not spelling.names, kind
        else:
            assert spelling.names and not spelling.how, kind
        for name in spelling.names:
            assert name not in seen, f"{name} spells both {seen[name]} and {kind}"
            seen[name] = kind


def test_the_runtime_has_every_filter_type_the_compiler_names_and_no_other() -> None:
    named = {entry.filter_type for entry in FILTER_KINDS.values() if entry.filter_type}
    assert named == set(listing.FILTER_TYPES), (
        f"named by the compiler only: {sorted(named - set(listing.FILTER_TYPES))}; "
        f"in the runtime only: {sorted(set(listing.FILTER_TYPES) - named)}"
    )
    for kind, entry in FILTER_KINDS.items():
        if entry.filter_type is None:
            assert entry.why_not, f"{kind}: not filterable, and no reason given"
            continue
        runtime = listing.FILTER_TYPES[entry.filter_type]
        # A generated row imports the name from the module and calls it when it is a factory.
        assert getattr(listing, entry.filter_type) is runtime
        factory = entry.argument is not None or entry.wraps_items
        assert isinstance(runtime, listing.FilterType) is not factory, (kind, entry.filter_type)


def test_the_frontend_kinds_name_its_widgets_and_list_filters() -> None:
    for kind, entry in FRONTEND_KINDS.items():
        assert entry.widget in WIDGETS, (kind, entry.widget)
        assert entry.item_widget in WIDGETS, (kind, entry.item_widget)
        for filter_kind in (entry.filter, entry.item_filter):
            assert filter_kind is None or filter_kind in LIST_FILTERS, (kind, filter_kind)
    for name, widget in WIDGETS.items():
        assert widget.replaces <= set(WIDGETS), name
