"""The source tree reads as the architecture: every module's name says its role, once."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("jobhunter_compiler", "jobhunter_runtime")
# Not modules of ours: what projects are given (the demo, `init`'s files) and templates.
NOT_SOURCE = {"templates", "demo_project", "__pycache__"}
SHARED_NAMES = {"__init__.py", "__main__.py"}


def test_module_names_are_unique_across_the_packages() -> None:
    found: dict[str, list[str]] = defaultdict(list)
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            relative = path.relative_to(REPO)
            if NOT_SOURCE.isdisjoint(relative.parts) and path.name not in SHARED_NAMES:
                found[path.name].append(relative.as_posix())
    repeated = {name: sorted(paths) for name, paths in found.items() if len(paths) > 1}
    assert not repeated, f"module names used more than once: {repeated}"
