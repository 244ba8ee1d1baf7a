"""Stage 1: find the project's source files and summarise each one, statically.

Nothing here imports or executes user code. Files are parsed in parallel when there are
many, and each summary is cached by content hash, so an unchanged file is never parsed
twice. Modules imported by the discovered files are followed when they live in the
project (a shared `schemas.py`, a legacy `core/decorators.py`), so classes resolve
wherever they are defined.

The package itself imports nothing: the `jobhunter` command starts `parser_process`
before the compiler is imported, and must not pay for the rest of the stage to do so.
"""
