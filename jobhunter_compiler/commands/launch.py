"""The `jobhunter` command's entry point: before importing the CLI and the compiler
(~0.3 s), it starts the parser process a one-shot compile will hand the edited files to
(see parser_process.py), so that process imports libcst meanwhile on another core."""

from __future__ import annotations

import sys

# Options after which a compile does not parse once and exit.
_NOT_ONE_SHOT = frozenset({"--watch", "-w", "--help"})


def main() -> None:
    arguments = sys.argv[1:]
    if arguments[:1] == ["compile"] and _NOT_ONE_SHOT.isdisjoint(arguments):
        # only a one-shot compile starts the parser process
        from ..scan import parser_process

        parser_process.start()
    # after the parser process started: libcst loads there meanwhile
    from .main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
