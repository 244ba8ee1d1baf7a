"""`python -m jobhunter_compiler ...`: the `jobhunter` command, for environments without
its console script on the PATH."""

from jobhunter_compiler.commands.launch import main

main()
