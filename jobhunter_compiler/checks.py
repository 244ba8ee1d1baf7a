"""Stage 3: checks across declarations, on the IR alone.

Problems local to one declaration (a bad argument, an unknown type) are found while the IR
is built, where their exact position is known; what needs the whole project is here. One
check also asks the environment the compiler runs in: `missing_packages`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from importlib.util import find_spec

from .config import ANY_SIGNED_IN
from .diagnostics import Diagnostic, diagnostic, did_you_mean
from .ir import OPTIONAL_PACKAGES, ModelIR, OperationIR, ProjectIR, SourceRef

Node = ModelIR | OperationIR


def unknown_roles(ir: ProjectIR, roles: Sequence[str]) -> list[Diagnostic]:
    """Roles a decorator names that `api.roles` does not list (a typo would otherwise
    lock everyone but admins out, silently)."""
    known = {*roles, ANY_SIGNED_IN}
    found = []
    declared: list[tuple[Node, str, list[str]]] = [
        (model, f"permissions.{action}", names)
        for model in ir.models
        for action, names in sorted(model.permissions.items())
    ]
    declared += [(op, "roles", op.roles) for op in ir.operations if op.roles is not None]
    for node, where, names in declared:
        for role in names:
            if role not in known:
                found.append(
                    diagnostic(
                        "JH107",
                        f"{where} of {node.name} names the unknown role '{role}'",
                        node.source.path,
                        node.source.line,
                        node.source.col,
                        did_you_mean(role, roles),
                    )
                )
    return found


def run_checks(ir: ProjectIR) -> list[Diagnostic]:
    return [
        *_duplicates(
            "JH201",
            ir.models,
            lambda m: m.name,
            lambda name, at: f"model name '{name}' is already used at {at}",
        ),
        *_duplicates(
            "JH301",
            ir.operations,
            lambda o: o.name,
            lambda name, at: f"operation name '{name}' is already used at {at}",
        ),
        *_duplicates(
            "JH207",
            # Models with a class id share their collection by design.
            [m for m in ir.models if m.class_id is None],
            lambda m: m.collection,
            lambda name, at: f"collection '{name}' is also used by the model at {at}",
        ),
    ]


ENVIRONMENT_CODES = frozenset({"JH210"})
"""Diagnostics about the environment the compiler runs in, not about the project: the
no-op fast path does not repeat them from the last compile, which may be out of date."""


def missing_packages(ir: ProjectIR) -> list[Diagnostic]:
    """A warning at the first field whose type needs a package that this environment
    lacks (EmailStr: email-validator): the generated requirements.txt installs it in the
    API image, but `jobhunter run` and `jobhunter ops` import the models here."""
    missing = {kind for kind, (_, module) in OPTIONAL_PACKAGES.items() if not find_spec(module)}
    if not missing:  # as it mostly is: no need to look at every field
        return []
    found = []
    for kind, item in sorted(ir.optional_package_fields().items()):
        if kind in missing:
            distribution = OPTIONAL_PACKAGES[kind][0]
            message = (
                f"field '{item.name}' is `{item.type}`, which needs {distribution}: "
                "it is not installed in this environment"
            )
            hint = f"pip install {distribution} (the generated requirements.txt lists it)"
            source = item.source
            found.append(diagnostic("JH210", message, source.path, source.line, source.col, hint))
    return found


def _duplicates(
    code: str, nodes: Sequence[Node], key: Callable[[Node], str], message: Callable[[str, str], str]
) -> list[Diagnostic]:
    """Each declaration after the first (in path, line order) that reuses a key."""
    groups: dict[str, list[Node]] = defaultdict(list)
    for node in nodes:
        groups[key(node)].append(node)
    found = []
    for name, group in sorted(groups.items()):
        group.sort(key=lambda n: _order(n.source))
        first = group[0].source
        for node in group[1:]:
            source = node.source
            text = message(name, f"{first.path}:{first.line}")
            found.append(diagnostic(code, text, source.path, source.line, source.col))
    return found


def _order(source: SourceRef) -> tuple[str, int, int]:
    return (source.path, source.line, source.col)
