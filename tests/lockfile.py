"""The constraints file's groups, derived from the distributions installed here.

`jobhunter_compiler/constraints.txt` pins every distribution of the development environment
(the Makefile installs with it) in groups: what the generated API imports (`api`), what
optional field types and orchestration add (`email`, `prefect`), and the rest (`dev`). The
compiler writes the groups a project needs into its `requirements.txt`, so the versions the
tests run with are the versions a generated stack installs.

Each group is the closure of its roots in the installed metadata, less the groups before it.
`tests/test_pins.py` checks the file against this; `make relock` rewrites it:

    python tests/lockfile.py > jobhunter_compiler/constraints.txt

Tools whose pins cannot live beside the development environment's (checkov pins versions
of packaging and others that the project's own dependencies exclude) run from a virtual
environment of their own, `.venv-tools`, pinned by `tests/tools-constraints.txt` in the
same way: every distribution of that environment, read from its site-packages.

    python tests/lockfile.py --tools .venv-tools > tests/tools-constraints.txt
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from jobhunter_compiler.emit.pins import GROUPS

PROJECT = "jobhunter-compiler"
VENV_TOOLS = {"setuptools", "wheel"}
"""What `python -m venv` brings along, by Python release; the project needs neither."""


def closure(roots: tuple[str, ...]) -> set[str]:
    """Canonical names of `roots` and everything they require here, extras included."""
    extras_of: dict[str, frozenset[str]] = {}
    todo = [Requirement(root) for root in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        known = extras_of.get(name)
        extras = frozenset(requirement.extras)
        if known is not None and extras <= known:
            continue
        extras_of[name] = (known or frozenset()) | extras
        for text in importlib.metadata.distribution(name).requires or []:
            needed = Requirement(text)
            environments = [{"extra": extra} for extra in ("", *extras_of[name])]
            if needed.marker is None or any(needed.marker.evaluate(e) for e in environments):
                todo.append(needed)
    return set(extras_of)


def installed(site_packages: Path | None = None) -> dict[str, str]:
    """Canonical name -> version of every distribution here (or in the `site_packages`
    folder of another environment) but the project itself and what the virtual environment
    brought along (pip stays: the Makefile installs a pinned one)."""
    where = {"path": [str(site_packages)]} if site_packages else {}
    versions = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions(**where)
    }
    return {name: v for name, v in versions.items() if name not in {PROJECT, *VENV_TOOLS}}


def groups() -> dict[str, set[str]]:
    """Group name -> the names it pins, every installed distribution in exactly one."""
    versions = installed()
    taken: set[str] = set()
    result: dict[str, set[str]] = {}
    for group in GROUPS:
        names = (closure(group.roots) if group.roots else set(versions)) - taken
        result[group.name] = names
        taken |= names
    return result


def render() -> str:
    versions = installed()
    pinned = groups()
    lines = [
        "# Every distribution of jobhunter's development environment, pinned. The Makefile",
        "# installs with it (pip -c); the compiler writes the groups a generated project needs",
        "# into its requirements.txt. Rewritten by `make relock` (tests/lockfile.py).",
    ]
    for group in GROUPS:
        lines += ["", f"# [{group.name}] {group.description}"]
        lines += [f"{name}=={versions[name]}" for name in sorted(pinned[group.name])]
    return "\n".join(lines) + "\n"


def render_tools(venv: Path) -> str:
    """The tools environment at `venv`, pinned whole."""
    site_packages = next((venv / "lib").glob("python*/site-packages"))
    versions = installed(site_packages)
    lines = [
        "# Every distribution of the tools environment (.venv-tools: checkov), pinned. The",
        "# Makefile installs it with this file (pip -c); rewritten by `make relock`",
        "# (tests/lockfile.py --tools).",
        "",
        *(f"{name}=={versions[name]}" for name in sorted(versions)),
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tools"]:
        sys.stdout.write(render_tools(Path(sys.argv[2])))
    else:
        sys.stdout.write(render())
