"""Where a run sits in Prefect, without making Prefect a dependency.

Prefect is optional. Code can only be inside a Prefect run if something imported
Prefect first, so when `prefect` is not in `sys.modules` there is nothing to look up and this
module never imports it.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any


def prefect_run_ids() -> tuple[str | None, str | None] | None:
    """(flow run id, task run id) of the Prefect run the caller is in, or None outside one."""
    if "prefect" not in sys.modules:
        return None
    try:
        context = importlib.import_module("prefect.context")
    except ImportError:
        return None
    flow_run_id = _run_id(getattr(context, "FlowRunContext", None), "flow_run")
    task_run_id = _run_id(getattr(context, "TaskRunContext", None), "task_run")
    if flow_run_id is None and task_run_id is None:
        return None
    return flow_run_id, task_run_id


def _run_id(context_cls: Any, run_attribute: str) -> str | None:
    """`context_cls.get().<run_attribute>.id` as a string; None wherever the chain breaks, since
    Prefect's context API is not ours and a lookup must never fail an operation."""
    get = getattr(context_cls, "get", None)
    if get is None:
        return None
    try:
        context = get()
    except Exception:
        return None
    run_id = getattr(getattr(context, run_attribute, None), "id", None)
    return None if run_id is None else str(run_id)
