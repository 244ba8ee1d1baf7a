"""The constraints file is the one source of versions: the development environment is
installed from it, and generated requirements pin from it."""

from __future__ import annotations

import lockfile
from conftest import REPO_ROOT, TOOLS_VENV

from jobhunter_compiler.emit import pins


def test_constraints_file_is_exactly_this_environment() -> None:
    """Every distribution the tests run with is pinned, in the group it belongs to, at the
    version installed; no pin is left over. On failure: `make relock` (or install with
    `make install` if the environment drifted)."""
    shipped = (REPO_ROOT / "jobhunter_compiler" / pins.CONSTRAINTS_FILE).read_text()
    assert shipped == lockfile.render()


def test_tools_constraints_are_exactly_the_tools_environment() -> None:
    """Likewise for the tools venv (checkov) and tests/tools-constraints.txt."""
    assert TOOLS_VENV.is_dir(), "run `make tools`"
    shipped = (REPO_ROOT / "tests" / "tools-constraints.txt").read_text()
    assert shipped == lockfile.render_tools(TOOLS_VENV)


def test_every_group_is_parsed_and_the_api_group_carries_no_toolchain() -> None:
    groups = pins.pinned()
    assert list(groups) == [group.name for group in pins.GROUPS]
    api = set(groups["api"])
    assert set(pins.API.roots) <= api
    assert not api & {"libcst", "jinja2", "ruff", "watchfiles", "nx-27017", "black", "pytest"}


def test_requirement_lines_add_groups_to_the_api() -> None:
    base = pins.requirement_lines()
    with_prefect = pins.requirement_lines(pins.PREFECT)
    assert base == sorted(base, key=lambda line: line.partition("==")[0])
    assert f"fastapi=={pins.version_of('fastapi')}" in base
    assert not any(line.startswith("prefect==") for line in base)
    assert f"prefect=={pins.version_of('prefect')}" in with_prefect
    assert set(base) < set(with_prefect)
