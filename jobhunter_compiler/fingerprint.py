"""What every cache of a compile keys on besides the project: the compiler itself.

The scan cache, the resolve memo, the emission cache and the recorded build state all
hold results that a different compiler would compute differently; each keys on this.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ._version import __version__


def _runtime_folder() -> Path:
    """Where the runtime is installed, found without importing it (Beanie and PyMongo
    would cost every start ~70 ms)."""
    spec = importlib.util.find_spec("jobhunter_runtime")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("jobhunter_runtime, part of the jobhunter install, is missing")
    return Path(spec.origin).resolve().parent


_PACKAGES = (Path(__file__).resolve().parent, _runtime_folder())
"""The compiler (code and templates) and the runtime, which output copies verbatim."""


def compiler_fingerprint() -> str:
    """The compiler version plus the size and mtime of every file of the installed packages:
    an editable install or a reinstall of the same version that changes what is generated
    must not be mistaken for "nothing to do". ~1 ms."""
    stamps = [__version__]
    for package in _PACKAGES:
        for folder, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", "demo_project"))
            for name in sorted(files):
                stat = os.stat(os.path.join(folder, name))
                stamps.append(f"{folder}/{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(stamps).encode()).hexdigest()
