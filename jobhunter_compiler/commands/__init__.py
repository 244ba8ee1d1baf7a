"""The `jobhunter` command: its entry point, the compile and watch commands, `init` and
`demo`, and the commands that run a project's generated CLI. Commands call the pipeline;
nothing below them imports a command."""
