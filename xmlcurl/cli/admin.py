"""`xmlcurl create-admin`: create an admin user from the command line (audited with source cli)."""
from __future__ import annotations

import getpass
import sys

import click
from flask.cli import with_appcontext

from .. import db
from ..models import ADMIN_ROLES
from ..services import Actor, ServiceError, admin_users, tenants


def cli_actor() -> Actor:
    """The operator running the command, named after the OS user for the audit log."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "unknown"
    return Actor.cli(f"cli:{name}")


def describe(exc: ServiceError) -> str:
    details = "; ".join(f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
                        for field, messages in exc.errors.items() if field != "constraint")
    return f"{exc.message} ({details})" if details else exc.message


@click.command("create-admin")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(ADMIN_ROLES), help="superadmin, or tenant_admin of --tenant")
@click.option("--tenant", "tenant_code", help="the tenant's code (tenant_admin only)")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@with_appcontext
def create_admin(username: str, role: str, tenant_code: str | None, password_stdin: bool) -> None:
    """Create an admin user USERNAME; the password is prompted for (twice) or read from stdin."""
    session = db.session()
    tenant_id = None
    if tenant_code:
        tenant = tenants.by_code(session, tenant_code)
        if tenant is None:
            raise click.ClickException(f"no tenant with code {tenant_code!r}")
        tenant_id = tenant.id
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = admin_users.create(session, cli_actor(), {
            "username": username, "password": password, "role": role, "tenant_id": tenant_id})
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise click.ClickException(describe(exc)) from None
    except Exception:
        session.rollback()
        raise
    where = f" of tenant {tenant_code}" if tenant_code else ""
    click.echo(f"created {role} {user.username}{where} (id {user.id})")
