"""``zhengwu staff``: accounts of the review console (/console). Passwords are prompted for (never an
argument: it would land in the shell history and the process list) and stored as salted scrypt hashes. Every
change is written to the audit log under the operator's name."""

from __future__ import annotations

import getpass
import sys

import click

from zhengwu.config import get_settings
from zhengwu.review import ROLES


def _stores(actor: str | None):
    from zhengwu.personal import open_people_store
    from zhengwu.review import ReviewStore

    try:
        people = open_people_store(get_settings())
    except (RuntimeError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    return people, ReviewStore.of(people), actor or f"cli:{getpass.getuser()}"


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


_actor = click.option("--actor", help="Your name for the audit log (default: cli:<login name>).")
_stdin = click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")


@click.group()
def staff() -> None:
    """Review console accounts: reviewers rate and correct answers; admins also publish curated answers and
    manage accounts. The console is at /console of `zhengwu serve` (needs ZHENGWU_CONSOLE_SECRET or
    ZHENGWU_ADMIN_TOKEN)."""


@staff.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="reviewer", show_default=True)
@_stdin
@_actor
def add(username: str, role: str, password_stdin: bool, actor: str | None) -> None:
    """Create USERNAME; prompts for the password (at least 10 characters)."""
    people, store, actor = _stores(actor)
    try:
        store.add_staff(username, _password(password_stdin), role)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    people.audit(actor, "staff_add", detail=f"{username} as {role}")
    click.echo(f"created {role} {username}")


@staff.command(name="list")
def list_command() -> None:
    """List accounts with role and status."""
    _, store, _ = _stores(None)
    for account in store.list_staff():
        state = "active" if account.active else "disabled"
        click.echo(f"{account.username:<24} {account.role:<9} {state:<9} created {account.created_at:%Y-%m-%d}")


@staff.command()
@click.argument("username")
@_stdin
@_actor
def passwd(username: str, password_stdin: bool, actor: str | None) -> None:
    """Set a new password for USERNAME (prompted)."""
    people, store, actor = _stores(actor)
    try:
        store.set_password(username, _password(password_stdin))
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    people.audit(actor, "staff_password", detail=username)
    click.echo(f"password of {username} changed")


@staff.command()
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
@_actor
def role(username: str, role: str, actor: str | None) -> None:
    """Make USERNAME a reviewer or an admin."""
    people, store, actor = _stores(actor)
    try:
        store.set_role(username, role)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    people.audit(actor, "staff_role", detail=f"{username} -> {role}")
    click.echo(f"{username} is now {role}")


@staff.command()
@click.argument("username")
@_actor
def disable(username: str, actor: str | None) -> None:
    """Stop USERNAME signing in (takes effect on their next request)."""
    _set_active(username, False, actor)


@staff.command()
@click.argument("username")
@_actor
def enable(username: str, actor: str | None) -> None:
    """Let a disabled USERNAME sign in again."""
    _set_active(username, True, actor)


def _set_active(username: str, active: bool, actor: str | None) -> None:
    people, store, actor = _stores(actor)
    try:
        store.set_active(username, active)
    except (LookupError, ValueError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    people.audit(actor, "staff_enable" if active else "staff_disable", detail=username)
    click.echo(f"{username} {'enabled' if active else 'disabled'}")
