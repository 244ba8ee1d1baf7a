"""The runtime API under its older path, `from jobhunter_compiler.runtime import operation`:
the same objects as `jobhunter_runtime`'s."""

from jobhunter_runtime import *  # noqa: F403
from jobhunter_runtime import __all__  # noqa: F401
