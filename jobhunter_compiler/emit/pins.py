"""The exact versions a generated stack installs: the ones its code was tested with.

The compiler never looks at what happens to be installed on the machine it runs on (the
output must not depend on it), so the pins are this table, shipped with the compiler.
tests/test_docker_emitter.py fails when it drifts from the test environment; update it
together with the dependencies in pyproject.toml.
"""

from __future__ import annotations

from .._version import __version__

JOBHUNTER_DISTRIBUTION = "jobhunter-compiler"

RUNTIME_PINS: dict[str, str] = {
    "beanie": "2.2.0",
    "fastapi": "0.150.0",
    "orjson": "3.13.0",
    "pydantic": "2.14.4",
    "pymongo": "4.20.1",
    "starlette": "1.10.0",
    "uvicorn": "0.54.0",
}
"""Distributions the generated API and the runtime import, pinned."""

EXTRAS: dict[str, str] = {"uvicorn": "standard"}
"""Extras a pinned distribution is installed with."""

PREFECT_PINS: dict[str, str] = {"prefect": "3.9.1"}
"""Added when `orchestration` is `prefect`: the API submits runs, the worker runs them."""

PREFECT_IMAGE = "prefecthq/prefect:3.9.1-python3.11"
"""The Prefect server's image: the pinned Prefect on the Python the tests use."""

MONGO_IMAGE = "mongo:7"


def requirement_lines(orchestrated: bool) -> list[str]:
    """`name[extra]==version` lines, sorted, jobhunter-compiler itself included."""
    pins = {**RUNTIME_PINS, **(PREFECT_PINS if orchestrated else {})}
    lines = [
        f"{name}[{EXTRAS[name]}]=={version}" if name in EXTRAS else f"{name}=={version}"
        for name, version in pins.items()
    ]
    lines.append(f"{JOBHUNTER_DISTRIBUTION}=={__version__}")
    return sorted(lines)
