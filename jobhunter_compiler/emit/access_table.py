"""Who may do what under `api.auth: users`: each model's roles per action and each
operation's roles, from the declarations and `api.default_permissions`. The API enforces
this table; one place computes it so every surface agrees.
"""

from __future__ import annotations

from ..config import ApiConfig
from ..ir import PERMISSION_ACTIONS, ModelIR, OperationIR, ProjectIR


def model_permissions(model: ModelIR, api: ApiConfig) -> dict[str, list[str]]:
    """Action -> sorted roles: the model's own declaration, else the default."""
    defaults = api.default_permissions
    return {
        action: sorted(set(model.permissions.get(action, getattr(defaults, action))))
        for action in PERMISSION_ACTIONS
    }


def operation_roles(operation: OperationIR, api: ApiConfig) -> list[str]:
    declared = operation.roles
    return sorted(set(api.default_permissions.run if declared is None else declared))


def access_table(
    ir: ProjectIR, api: ApiConfig
) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]]]:
    """(model name -> action -> roles, operation name -> roles), sorted by name."""
    models = {m.name: model_permissions(m, api) for m in sorted(ir.models, key=lambda m: m.name)}
    operations = {
        o.name: operation_roles(o, api) for o in sorted(ir.operations, key=lambda o: o.name)
    }
    return models, operations
