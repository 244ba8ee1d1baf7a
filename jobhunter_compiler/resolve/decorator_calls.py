"""Recognise `@datamodel` / `@operation` and read their arguments statically.

A decorator is ours when its name resolves, through the file's imports, to
`jobhunter_compiler.datamodel`/`operation` or `jobhunter_runtime`'s (any re-export of
them), or to a function of
that name in a module listed in `decorator_modules` (a legacy `core.decorators`).
Arguments must be literals or names bound to module-level literals; `inputs`/`outputs`
name classes. Problems become diagnostics pointing at the argument.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..diagnostics import did_you_mean
from ..ir import PERMISSION_ACTIONS, UiHints
from ..scan.summary import Expr
from .context import Context, NotLiteral
from .symbols import External, FunctionTarget

DecoratorKind = Literal["datamodel", "operation"]
RUNTIME_MODULES = ("jobhunter_compiler", "jobhunter_runtime")
MAX_NAME_LENGTH = 100
"""Names become file names (`generated_routes/models/<name>.py`, growing by an underscore
per word), and file systems refuse names longer than 255 bytes."""

# Identifiers must survive as Python names, TypeScript names and URL segments.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TS_RESERVED = frozenset(
    (
        "break case catch class const continue debugger default delete do else enum export "
        "extends false finally for function if import in instanceof new null return super "
        "switch this throw true try typeof var void while with implements interface let "
        "package private protected public static yield"
    ).split()
)


class DatamodelArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    description: str | None = None
    tags: list[str] = []
    ui: dict[str, Any] = {}
    relations: list[Any] = []
    permissions: dict[str, list[str]] = {}


class OperationArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str | None = None
    description: str | None = None
    category: str | None = None
    tags: list[str] = []
    models_in: list[str] = []
    models_out: list[str] = []
    async_enabled: bool = True
    retries: int = 0
    timeout_s: float | int | None = None
    roles: list[str] | None = None


_CLASS_ARGUMENTS = ("inputs", "outputs")
_ARGUMENTS: dict[DecoratorKind, tuple[str, ...]] = {
    "datamodel": tuple(DatamodelArgs.model_fields),
    "operation": (*OperationArgs.model_fields, *_CLASS_ARGUMENTS),
}


@dataclass
class DecoratorUse:
    """One recognised decorator: its arguments, the literal values and their locations."""

    kind: DecoratorKind
    expr: Expr
    values: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Expr] = field(default_factory=dict)


def find_decorator(
    ctx: Context, module: str, decorators: list[Expr], legacy: list[str]
) -> DecoratorUse | None:
    for expr in decorators:
        if expr.kind not in ("name", "call") or not expr.name:
            continue
        target = ctx.symbols.resolve(module, expr.name)
        if isinstance(target, External):
            qualname = target.qualname
        elif isinstance(target, FunctionTarget):
            qualname = f"{target.module}.{target.summary.name}"
        else:
            continue
        for kind in ("datamodel", "operation"):
            if qualname in {f"{m}.{kind}" for m in (*RUNTIME_MODULES, *legacy)}:
                return DecoratorUse(kind=kind, expr=expr)
    return None


def read_arguments(ctx: Context, module: str, use: DecoratorUse) -> None:
    """Fill `use.values` with validated literal values and `use.arguments` with every
    argument expression (for locations, and for the class-valued `inputs`/`outputs`)."""
    call = use.expr
    name = f"@{use.kind}"
    if call.kind == "call":
        if len(call.items) > 1:
            ctx.report(
                "JH104",
                f"{name} takes at most one positional argument (the name)",
                module,
                call.items[1],
            )
        if call.items:
            use.arguments["name"] = call.items[0]
        for kw in call.keywords:
            if kw.name in _ARGUMENTS[use.kind]:
                use.arguments[kw.name] = kw.value
            else:
                ctx.report(
                    "JH102",
                    f"{name} has no argument '{kw.name}'; it is ignored",
                    module,
                    kw.value,
                    did_you_mean(kw.name, _ARGUMENTS[use.kind]),
                )
    raw: dict[str, Any] = {}
    for key, expr in use.arguments.items():
        if key in _CLASS_ARGUMENTS:
            continue
        try:
            raw[key] = ctx.literal(module, expr)
        except NotLiteral as exc:
            message = f"argument '{key}' of {name} is not a literal: `{exc.expr.to_source()}`"
            where = exc.expr
            if not _contains(expr, exc.expr):  # found behind a name, maybe in another file
                message = f"argument '{key}' of {name} is not a literal: `{expr.to_source()}` "
                message += f"is bound to `{exc.expr.to_source()}`"
                where = expr
            ctx.report("JH101", message, module, where)
    if use.kind == "datamodel" and isinstance(raw.get("ui"), dict):
        raw["ui"] = _check_ui_keys(ctx, module, use.arguments["ui"], raw["ui"])
    if use.kind == "datamodel" and isinstance(raw.get("permissions"), dict):
        raw["permissions"] = _check_permission_keys(
            ctx, module, use.arguments["permissions"], raw["permissions"]
        )
    schema = DatamodelArgs if use.kind == "datamodel" else OperationArgs
    try:
        use.values = schema.model_validate(_lists_from_tuples(raw)).model_dump(exclude_unset=True)
    except ValidationError as exc:
        bad = set()
        for error in exc.errors():
            key = str(error["loc"][0])
            bad.add(key)
            ctx.report(
                "JH104",
                f"argument '{'.'.join(map(str, error['loc']))}' of {name}: {error['msg'].lower()}",
                module,
                use.arguments.get(key, call),
            )
        use.values = {k: v for k, v in raw.items() if k not in bad}
    if "ui" in use.values:
        use.values["ui"] = _ui_hints(ctx, module, use.arguments["ui"], use.values["ui"])
    name_value = use.values.get("name")
    if isinstance(name_value, str):
        check_name(ctx, module, use.kind, name_value, use.arguments["name"])


def check_name(
    ctx: Context, module: str, kind: DecoratorKind, value: str, where: Expr | tuple[int, int]
) -> None:
    """Model names become class, route, file and TS names; operation names may be dotted
    (`jobs.archive`), each segment an identifier."""
    what = "model" if kind == "datamodel" else "operation"
    if len(value) > MAX_NAME_LENGTH:
        message = f"{what} name '{value[:20]}...' is {len(value)} characters long"
        ctx.report("JH203", message, module, where)
        return
    segments = value.split(".") if kind == "operation" else [value]
    for segment in segments:
        if not _IDENTIFIER.match(segment) or keyword.iskeyword(segment) or segment in _TS_RESERVED:
            ctx.report("JH203", f"{what} name '{value}' cannot become an identifier", module, where)
            return


def _check_ui_keys(ctx: Context, module: str, expr: Expr, ui: dict[str, Any]) -> dict[str, Any]:
    known = set(UiHints.model_fields)
    for key in ui:
        if key not in known:
            ctx.report(
                "JH103", f"unknown ui key '{key}'; it is ignored", module, dict_key(expr, key)
            )
    return {k: v for k, v in ui.items() if k in known}


def _check_permission_keys(
    ctx: Context, module: str, expr: Expr, permissions: dict[Any, Any]
) -> dict[Any, Any]:
    for key in permissions:
        if key not in PERMISSION_ACTIONS:
            ctx.report(
                "JH106",
                f"unknown permission '{key}'; it is ignored",
                module,
                dict_key(expr, key),
                did_you_mean(str(key), PERMISSION_ACTIONS),
            )
    return {k: v for k, v in permissions.items() if k in PERMISSION_ACTIONS}


def dict_key(expr: Expr, key: str) -> Expr:
    """The key's own expression in a dict literal, else the whole expression."""
    if expr.kind == "dict":
        return next((k for k in expr.items if k.kind == "const" and k.value == key), expr)
    return expr


def dict_value(expr: Expr, key: str) -> Expr:
    if expr.kind == "dict":
        for k, v in zip(expr.items, expr.values, strict=True):
            if k.kind == "const" and k.value == key:
                return v
    return expr


def _ui_hints(ctx: Context, module: str, expr: Expr, ui: dict[str, Any]) -> UiHints:
    try:
        return UiHints.model_validate(ui)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(map(str, error["loc"]))
            ctx.report("JH104", f"ui.{where}: {error['msg'].lower()}", module, expr)
        valid = {k: v for k, v in ui.items() if k not in {str(e["loc"][0]) for e in exc.errors()}}
        return UiHints.model_validate(valid)


def _contains(tree: Expr, node: Expr) -> bool:
    if tree is node:
        return True
    children = (*tree.items, *tree.values, *(k.value for k in tree.keywords))
    return any(_contains(child, node) for child in children)


def _lists_from_tuples(value: Any) -> Any:
    """Tuples are fine where lists are expected (`tags=("a", "b")`)."""
    if isinstance(value, tuple | list):
        return [_lists_from_tuples(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists_from_tuples(v) for k, v in value.items()}
    return value
