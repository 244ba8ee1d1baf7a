"""jobhunter: a compiler from decorated Beanie documents and operations to a full stack.

Importing this package gives user code the runtime API only; the compiler lives in
submodules that user code never imports.
"""

from ._version import __version__
from .runtime import datamodel, operation

__all__ = ["__version__", "datamodel", "operation"]
