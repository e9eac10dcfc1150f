"""``reviews users``: the people who sign in to the board's workspace."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from case_reviews.cli_common import attempt, fail, ready
from models.orm import WorkspaceRole
from models.workspace_store import UserExists, UserNotFound
from services.accounts import AccountRefused, add_user, disable_user, reset_password, set_role

users_app = typer.Typer(help="Workspace users and their roles.", no_args_is_help=True)

ROLES = ", ".join(r.value for r in WorkspaceRole)


def _read_password() -> str:
    """Prompted (twice, hidden) at a terminal; otherwise the first line of standard input."""
    if sys.stdin.isatty():
        return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))
    return sys.stdin.readline().rstrip("\r\n")


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[str, typer.Option(help=f"One of: {ROLES}.")],
) -> None:
    """Add a user; the password is prompted for (or read from standard input)."""
    try:
        chosen = WorkspaceRole(role)
    except ValueError:
        fail(f"--role: {role!r} is not a role (one of: {ROLES})")
    rt = ready()
    attempt(lambda: add_user(rt, username, chosen, _read_password()), AccountRefused, UserExists)
    typer.echo(f"added {username.strip()} ({chosen.value})")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: they can no longer sign in, and any session they hold ends."""
    rt = ready()
    attempt(lambda: disable_user(rt, username), UserNotFound)
    typer.echo(f"disabled {username}")


@users_app.command("reset-password")
def users_reset_password(username: str) -> None:
    """Give a user a new password (prompted for, or read from standard input) and lift a
    lock-out; every session they hold ends. Audited."""
    rt = ready()
    attempt(
        lambda: reset_password(rt, username, _read_password(), rt.settings.operator),
        AccountRefused,
        UserNotFound,
    )
    typer.echo(f"new password set for {username}; their sessions have ended")


@users_app.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role; every session they hold ends (they sign in again). Audited."""
    try:
        chosen = WorkspaceRole(role)
    except ValueError:
        fail(f"role: {role!r} is not a role (one of: {ROLES})")
    rt = ready()
    attempt(lambda: set_role(rt, username, chosen, rt.settings.operator), UserNotFound)
    typer.echo(f"{username} is now {chosen.value}; their sessions have ended")
