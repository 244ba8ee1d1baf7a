"""`users create / list / set-roles / disable / enable`: the app's users from the command
line (`jobhunter users ...` in the project, `python -m cli users ...` where the API is
deployed), on the database at $MONGODB_URL / $MONGODB_DB like every generated command.

The password never goes on the command line (where `ps` and the shell's history would
keep it): it comes from $JOBHUNTER_PASSWORD, else a hidden prompt.
"""

# No `from __future__ import annotations`: Typer reads the options' annotations at run time,
# and `Roles` is local to `users_group`.
import asyncio
import dataclasses
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from .cli import CommandGroup, Database, connected, fail, print_json, stdout

PASSWORD_ENV = "JOBHUNTER_PASSWORD"
USER_DOCUMENTS = "jobhunter_runtime.users:USER_DOCUMENT_MODELS"
T = TypeVar("T")

Email = Annotated[
    str, typer.Argument(metavar="EMAIL", help="The user's email.", show_default=False)
]


def users_group(database: Database, roles: Sequence[str]) -> Any:
    """The `users` command group of a generated CLI whose app knows `roles`."""
    on_users = dataclasses.replace(database, documents=USER_DOCUMENTS)
    known = list(roles)
    role_help = f"A role ({', '.join(known)}); repeat it for several."
    Roles = Annotated[
        list[str], typer.Option("--role", "-r", metavar="ROLE", help=role_help, show_default=False)
    ]
    app = typer.Typer(
        cls=CommandGroup, help="Create and manage the people who may sign in.", add_completion=False
    )

    @app.command("create")
    def create(email: Email, role: Roles) -> None:
        """Create a user. The password comes from $JOBHUNTER_PASSWORD, else a prompt."""
        from .users import create_user

        password = _password()
        user = _run(on_users, lambda: create_user(email, password, role, known))
        stdout.print(f"created {user.email} ({', '.join(user.roles) or 'no role'})")

    @app.command("list")
    def list_users(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON, not a table.")] = False,
    ) -> None:
        """List the users, their roles and whether they may sign in."""
        from .users import list_users as stored_users

        users = _run(on_users, stored_users)
        rows = [
            {
                "email": user.email,
                "roles": user.roles,
                "active": user.active,
                "created_at": user.created_at.isoformat(),
            }
            for user in users
        ]
        if as_json:
            print_json(rows)
            return
        table = Table("email", "roles", "active", "created_at")
        for row in rows:
            table.add_row(
                row["email"], ", ".join(row["roles"]), str(row["active"]), row["created_at"]
            )
        stdout.print(table)

    @app.command("set-roles")
    def set_roles(email: Email, role: Roles) -> None:
        """Replace a user's roles; their open sessions end."""
        from .users import set_roles as stored_roles

        user = _run(on_users, lambda: stored_roles(email, role, known))
        stdout.print(f"{user.email}: {', '.join(user.roles) or 'no role'}")

    @app.command("disable")
    def disable(email: Email) -> None:
        """Stop a user from signing in; their open sessions end."""
        from .users import set_active

        user = _run(on_users, lambda: set_active(email, False))
        stdout.print(f"{user.email} is disabled")

    @app.command("enable")
    def enable(email: Email) -> None:
        """Let a disabled user sign in again."""
        from .users import set_active

        user = _run(on_users, lambda: set_active(email, True))
        stdout.print(f"{user.email} may sign in")

    group = typer.main.get_command(app)
    group.name = "users"
    return group


def _password() -> str:
    from .users import UserError, check_password

    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
    except UserError as exc:
        fail(str(exc))
    return password


def _run(database: Database, work: Callable[[], Awaitable[T]]) -> T:
    from .users import UserError

    async def run() -> T:
        async with connected(database):
            return await work()

    try:
        return asyncio.run(run())
    except UserError as exc:
        fail(str(exc))
