"""`xmlcurl init-db`, `load-fixtures`, `generate` and `presentable-numbers`: the tables, the demo data,
a synthetic cluster, the check of the one derived table."""
from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, func, select

from .. import db


def _where(engine: Engine) -> str:
    """The database named for a person: the embedded file is the one `make serve` runs on."""
    url = engine.url.render_as_string(hide_password=True)
    if not current_app.config["XMLCURL"]["DATABASE_URL"]:
        return f"the embedded database {engine.url.database} (the one `make serve` / `xmlcurl serve --demo` runs on)"
    return url


def _contents(engine: Engine) -> str:
    """What a reset would destroy, counted (empty string: nothing)."""
    from ..models import AdminUser, Node, SipUser, Tenant

    if not db.has_schema(engine):
        return ""
    with engine.connect() as conn:
        counts = [(conn.scalar(select(func.count()).select_from(model)), label)
                  for model, label in ((Tenant, "tenants"), (Node, "nodes"), (SipUser, "SIP users"),
                                       (AdminUser, "admin users"))]
    return ", ".join(f"{count} {label}" for count, label in counts if count)


def _confirm_reset(engine: Engine, yes: bool) -> None:
    """--reset drops every table: say what goes, and ask unless --yes."""
    held = _contents(engine)
    if not held:
        return
    click.echo(f"--reset drops every xmlcurl table of {_where(engine)} with its data ({held}), "
               "admin logins included; a server running on it serves the new data at once.", err=True)
    if not yes:
        click.confirm("Wipe it?", abort=True, err=True)


@click.command("init-db")
@click.option("--reset", is_flag=True, help="Drop every xmlcurl table first (destroys data).")
@click.option("--yes", is_flag=True, help="with --reset: do not ask before wiping a database that holds data")
@with_appcontext
def init_db(reset: bool, yes: bool) -> None:
    """Create the tables: schema.sql on MySQL/MariaDB, the same tables and triggers on SQLite."""
    engine = db.database().engine
    if reset:
        _confirm_reset(engine, yes)
        db.drop_all(engine)
    elif db.has_schema(engine):
        raise click.ClickException("the database already has the xmlcurl tables (--reset recreates them, "
                                   "destroying their data)")
    db.create_schema(engine)
    click.echo(f"created the xmlcurl tables on {engine.url.render_as_string(hide_password=True)}")


@click.command("load-fixtures")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def load_fixtures(path: Path | None) -> None:
    """Load a SQL fixture script (default: fixtures/demo.sql) in one transaction."""
    from ..seed import DEMO_SQL, load_sql_file

    path = path or DEMO_SQL
    count = load_sql_file(db.database().engine, path)
    click.echo(f"loaded {path.name}: {count} statements")


@click.command("generate")
@click.option("--tenants", default=1000, show_default=True, type=click.IntRange(1))
@click.option("--users", default=100_000, show_default=True, type=click.IntRange(1), help="SIP users in all")
@click.option("--routes", default=20_000, show_default=True, type=click.IntRange(0))
@click.option("--dids", default=10_000, show_default=True, type=click.IntRange(0))
@click.option("--routers", default=4, show_default=True, type=click.IntRange(1))
@click.option("--media", default=40, show_default=True, type=click.IntRange(1))
@click.option("--gateways", default=50, show_default=True, type=click.IntRange(1))
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(100))
@click.option("--seed", default=1, show_default=True, help="random seed, for repeatable data sets")
@click.option("--admin", "admin_name", default="admin", show_default=True,
              help="superadmin created (random password, printed once) when the database has none")
@click.option("--reset", is_flag=True, help="drop and recreate the tables first: destroys ALL their data, admins included")
@click.option("--yes", is_flag=True, help="with --reset: do not ask before wiping a database that holds data")
@click.option("--quiet", is_flag=True, help="no progress bars")
@with_appcontext
def generate(**options: object) -> None:
    """Fill an empty database with a large synthetic cluster, in batches, for benchmarks.

    Use a database of its own (XMLCURL_DATABASE_URL): the demo's embedded database already holds
    data, and --reset would wipe it.
    """
    from ..generate import GenerateError, GeneratorOptions, NotEmpty, generate_dataset

    reset, yes, quiet = options.pop("reset"), options.pop("yes"), options.pop("quiet")
    admin_name = str(options.pop("admin_name"))
    engine = db.database().engine
    if reset:
        _confirm_reset(engine, bool(yes))
        db.drop_all(engine)
        db.create_schema(engine)
    elif not db.has_schema(engine):
        db.create_schema(engine)
    try:
        summary = generate_dataset(engine, GeneratorOptions(**options), progress=not quiet)  # type: ignore[arg-type]
    except NotEmpty as exc:
        raise click.ClickException(
            f"{exc.args[0].split(':')[0]}: generate writes into an empty database only, and {_where(engine)} "
            f"holds {_contents(engine)}. Point XMLCURL_DATABASE_URL at a database of its own, or add --reset to "
            "DROP EVERY TABLE first (all data and admin logins are lost)") from None
    except GenerateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(" ".join(f"{name}={count}" for name, count in summary.items()))
    _ensure_admin(admin_name)


@click.command("presentable-numbers")
@click.option("--repair", is_flag=True, help="put back its triggers, rebuild it from dids and approved_caller_ids")
@with_appcontext
def presentable_numbers(repair: bool) -> None:
    """Check that presentable_numbers (the caller numbers fetches approve against) matches its sources.

    Triggers keep it in step; a database restored without its triggers may not be. Exits 1 when it
    is out of step (or its triggers are missing) and --repair was not given.
    """
    from .. import presentable

    engine = db.database().engine
    if repair:
        found = presentable.rebuild(engine)
        click.echo(f"presentable_numbers rebuilt: {found.missing} rows were missing, {found.extra} were extra or wrong"
                   + (f"; triggers put back: {', '.join(found.triggers_missing)}" if found.triggers_missing else "")
                   + ("; every worker drops the answers made from it" if not found.in_step else ""))
        return
    with engine.connect() as conn:
        found = presentable.drift(conn)
    if found.in_step:
        click.echo("presentable_numbers matches dids and approved_caller_ids, and its triggers are in place")
        return
    click.echo(f"presentable_numbers is out of step: {found.missing} rows missing, {found.extra} extra or wrong"
               + (f"; triggers missing: {', '.join(found.triggers_missing)}" if found.triggers_missing else "")
               + "; run `xmlcurl presentable-numbers --repair`", err=True)
    raise SystemExit(1)


def _ensure_admin(username: str) -> None:
    """A generated database gets a superadmin when it has none; its password is printed this once."""
    from ..models import AdminUser
    from ..services import ServiceError, admin_users
    from .admin import cli_actor, describe

    session = db.session()
    if session.scalar(select(func.count()).select_from(AdminUser).where(AdminUser.role == "superadmin")):
        click.echo("the database already has a superadmin: no admin created")
        return
    password = secrets.token_urlsafe(18)
    try:
        admin_users.create(session, cli_actor(), {"username": username, "password": password, "role": "superadmin"})
        session.commit()
    except ServiceError as exc:
        session.rollback()
        raise click.ClickException(f"the data set was written, but the admin was not: {describe(exc)}") from None
    click.echo(f"created superadmin {username!r} with password {password} (shown only now; "
               "change it on the admin's Account page or with POST /api/v1/admin-users)")
