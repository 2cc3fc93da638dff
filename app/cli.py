"""`flask ...` commands. Each command owns its transaction: it commits once, or not at all."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db
from app.services.errors import DomainError

seed_cli = AppGroup("seed", help="Load data (demo only).")
users_cli = AppGroup("users", help="Manage user accounts.")


def _now() -> datetime:
    return datetime.now(UTC)


@seed_cli.command("demo")
def seed_demo_command() -> None:
    """Create the demo 高新区管委会 organisation and one user per role (idempotent)."""
    from app.services.demo import DEMO_PASSWORD, seed_demo

    created = seed_demo(db.session, _now())
    db.session.commit()
    click.echo(f"demo data ready: {len(created)} new users; demo password: {DEMO_PASSWORD}")


@users_cli.command("create")
@click.option("--username", required=True)
@click.option("--display-name", default=None, help="shown name (default: the username)")
@click.option("--role", "roles", multiple=True, required=True, help="role code, e.g. approver")
@click.option("--department", default=None, help="department code for the roles, e.g. market")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(
    username: str, display_name: str | None, roles: tuple[str, ...], department: str | None, password: str
) -> None:
    """Create a user with one or more roles in a department."""
    from app.services.accounts import create_user, ensure_roles

    ensure_roles(db.session)
    try:
        create_user(
            db.session,
            username=username,
            display_name=display_name or username,
            password=password,
            now=_now(),
            roles=[(role, department) for role in roles],
        )
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"user {username} created")


def register_cli(app: Flask) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(seed_cli)
    app.cli.add_command(users_cli)
