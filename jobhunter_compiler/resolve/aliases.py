"""Field aliases as pydantic computes them, from `Field(alias=..., validation_alias=...,
serialization_alias=...)` and the class's `model_config` (its `alias_generator` and
`populate_by_name`), following pydantic's own precedence: an alias the field sets itself
wins over a generated one, and a class inherits its bases' config, later bases winning.

The generators pydantic ships are run for real (they are pure string functions), so the
aliases are exactly pydantic's; any other generator cannot be run without importing user
code, and is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic.alias_generators import to_camel, to_pascal, to_snake

from ..ir import FieldIR
from ..scan.summary import Expr
from .symbols import ClassTarget

if TYPE_CHECKING:
    from .context import Context

# Canonical names (see `symbols.canonical`): `pydantic.alias_generators.to_camel` is
# `pydantic.to_camel`.
CONFIG_DICT = "pydantic.ConfigDict"
ALIAS_GENERATOR = "pydantic.AliasGenerator"
GENERATOR_FUNCTIONS: dict[str, Callable[[str], str]] = {
    f"pydantic.{function.__name__}": function for function in (to_camel, to_pascal, to_snake)
}
ALIAS_KINDS = ("alias", "validation_alias", "serialization_alias")
MAX_BASE_DEPTH = 32

Generate = Callable[[str], str] | None


@dataclass(frozen=True)
class AliasGenerator:
    """One function (or none) per kind of alias, as pydantic's `AliasGenerator` holds them;
    a plain generator function is an `alias` one."""

    alias: Generate = None
    validation_alias: Generate = None
    serialization_alias: Generate = None


@dataclass(frozen=True)
class ClassConfig:
    """What the compiler reads of a class's `model_config`, with its bases' merged in."""

    alias_generator: AliasGenerator | None = None
    populate_by_name: bool | None = None
    """None when no class sets it: Beanie's Document sets it, pydantic's BaseModel does not."""


def class_config(ctx: Context, cls: ClassTarget) -> ClassConfig:
    entries = _config_entries(ctx, cls, 0)
    generator = None
    if "alias_generator" in entries:
        module, expr = entries["alias_generator"]
        generator = _generator(ctx, module, expr)
    by_name = None
    for key in ("populate_by_name", "validate_by_name"):
        if key in entries:
            module, expr = entries[key]
            by_name = by_name or ctx.literal_or_none(module, expr) is True
    return ClassConfig(alias_generator=generator, populate_by_name=by_name)


def with_aliases(fields: list[FieldIR], config: ClassConfig) -> list[FieldIR]:
    """`fields` (as `class_fields` reads them: only the aliases each field sets itself)
    with the class's alias generator applied where pydantic applies it."""
    generator = config.alias_generator
    if generator is None:
        return fields
    return [_generated(item, generator) for item in fields]


def _generated(item: FieldIR, generator: AliasGenerator) -> FieldIR:
    # What the field set itself: pydantic lets a generator fill only what is missing.
    alias = item.alias
    # AliasChoices/AliasPath: the field set its validation alias, which stays as it is.
    validation = item.validation_alias or ("" if item.validation_paths else alias)
    serialization = item.serialization_alias or alias
    if alias is not None and validation is not None and serialization is not None:
        return item
    generated = {kind: getattr(generator, kind) for kind in ALIAS_KINDS}
    new_alias = generated["alias"](item.name) if generated["alias"] else None
    new_validation = generated["validation_alias"]
    new_serialization = generated["serialization_alias"]
    alias = alias or new_alias
    if validation is None:
        validation = new_validation(item.name) if new_validation else new_alias
    if serialization is None:
        serialization = new_serialization(item.name) if new_serialization else new_alias
    return item.model_copy(
        update={
            "alias": alias,
            "validation_alias": validation if validation not in (alias, "") else None,
            "serialization_alias": serialization if serialization != alias else None,
        }
    )


def _config_entries(ctx: Context, cls: ClassTarget, depth: int) -> dict[str, tuple[str, Expr]]:
    """The `model_config` keys of `cls` and its bases (each with the module its value is
    written in), merged as pydantic merges them."""
    entries: dict[str, tuple[str, Expr]] = {}
    if depth > MAX_BASE_DEPTH:
        return entries
    for base in ctx.base_targets(cls):
        if isinstance(base, ClassTarget):
            entries.update(_config_entries(ctx, base, depth + 1))
    for attribute in cls.summary.attributes:
        if attribute.name == "model_config" and attribute.value is not None:
            entries.update(_own_entries(ctx, cls.module, attribute.value))
    return entries


def _own_entries(ctx: Context, module: str, value: Expr) -> dict[str, tuple[str, Expr]]:
    if (
        value.kind == "call"
        and value.name
        and ctx.symbols.qualname(module, value.name) == CONFIG_DICT
    ):
        return {k.name: (module, k.value) for k in value.keywords}
    if value.kind == "dict":
        return {
            key.value: (module, item)
            for key, item in zip(value.items, value.values, strict=True)
            if key.kind == "const" and isinstance(key.value, str)
        }
    return {}


def _generator(ctx: Context, module: str, expr: Expr) -> AliasGenerator | None:
    if _is_none(expr):
        return None
    function = _function(ctx, module, expr)
    if function is not None:
        return AliasGenerator(alias=function)
    if (
        expr.kind == "call"
        and expr.name
        and ctx.symbols.qualname(module, expr.name) == ALIAS_GENERATOR
    ):
        given: dict[str, Expr] = dict(zip(ALIAS_KINDS, expr.items, strict=False))
        given.update((k.name, k.value) for k in expr.keywords if k.name in ALIAS_KINDS)
        given = {kind: item for kind, item in given.items() if not _is_none(item)}
        functions = {kind: _function(ctx, module, item) for kind, item in given.items()}
        unknown = [item for kind, item in given.items() if functions[kind] is None]
        if not unknown:
            return AliasGenerator(**functions)
        expr = unknown[0]
    ctx.report(
        "JH213",
        f"cannot compute the aliases `{expr.to_source()}` generates without running it",
        module,
        expr,
    )
    return None


def _function(ctx: Context, module: str, expr: Expr) -> Generate:
    if expr.kind != "name" or not expr.name:
        return None
    return GENERATOR_FUNCTIONS.get(ctx.symbols.qualname(module, expr.name) or "")


def _is_none(expr: Expr) -> bool:
    return expr.kind == "const" and expr.value is None
