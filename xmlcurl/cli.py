"""The `xmlcurl` command: database set-up, demo data, synthetic data, development server, render."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from . import db


def register_commands(app: Flask) -> None:
    for command in (init_db, load_fixtures, generate, serve, render):
        app.cli.add_command(command)
    from .routing_cli import route_test
    app.cli.add_command(route_test)
    from .admin_cli import create_admin
    app.cli.add_command(create_admin)
    from .push_cli import register as register_push
    register_push(app)
    from .monitor_cli import register as register_monitor
    register_monitor(app)


@click.command("init-db")
@click.option("--reset", is_flag=True, help="Drop every xmlcurl table first (destroys data).")
@with_appcontext
def init_db(reset: bool) -> None:
    """Create the tables: schema.sql on MySQL/MariaDB, the same tables and triggers on SQLite."""
    engine = db.database().engine
    if reset:
        db.drop_all(engine)
    elif db.has_schema(engine):
        raise click.ClickException("the database already has the xmlcurl tables (use --reset to recreate them)")
    db.create_schema(engine)
    click.echo(f"created the xmlcurl tables on {engine.url.render_as_string(hide_password=True)}")


@click.command("load-fixtures")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def load_fixtures(path: Path | None) -> None:
    """Load a SQL fixture script (default: fixtures/demo.sql) in one transaction."""
    from .seed import DEMO_SQL, load_sql_file

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
@click.option("--reset", is_flag=True, help="drop and recreate the tables first")
@click.option("--quiet", is_flag=True, help="no progress bars")
@with_appcontext
def generate(**options: object) -> None:
    """Fill the database with a large synthetic cluster, in batches, for benchmarks."""
    from .generate import GenerateError, GeneratorOptions, generate_dataset

    reset = options.pop("reset")
    quiet = options.pop("quiet")
    engine = db.database().engine
    if reset:
        db.drop_all(engine)
        db.create_schema(engine)
    elif not db.has_schema(engine):
        db.create_schema(engine)
    try:
        summary = generate_dataset(engine, GeneratorOptions(**options), progress=not quiet)  # type: ignore[arg-type]
    except GenerateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(" ".join(f"{name}={count}" for name, count in summary.items()))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="load the demo data (public credentials) if the database is empty")
@with_appcontext
def serve(host: str, port: int, demo: bool) -> None:
    """Run the development server (production: gunicorn wsgi:app); creates the tables of an empty database."""
    from werkzeug.serving import run_simple

    from .bootstrap import prepare_app

    prepare_app(current_app._get_current_object(), demo=demo)

    # Flask's app.run() refuses to start inside its own CLI, so serve through werkzeug directly.
    run_simple(host, port, current_app._get_current_object(), use_reloader=False, threaded=True)


@click.command("render")
@click.option("--node", "node_name", required=True, help="name of the node the answer is for")
@click.argument("source", type=click.File("rb"), default="-")
@with_appcontext
def render(node_name: str, source) -> None:
    """Print the exact answer NODE would receive for a fetch body (a file, a captured .http, or stdin)."""
    from .render import RenderError, render_for_node

    try:
        result = render_for_node(db.read_session(), node_name, source.read(), current_app.config["XMLCURL"])
    except RenderError as exc:
        raise click.ClickException(str(exc)) from None
    for note in result.notes:
        click.echo(f"# {note}", err=True)
    sys.stdout.buffer.write(result.body)
    sys.stdout.buffer.flush()


def _create_app():
    from . import create_app

    return create_app()


def main() -> None:
    """Entry point of the `xmlcurl` console script."""
    # The CLI manages data and runs the development server: no session secret is needed, so the
    # production secret check applies to the WSGI app (gunicorn wsgi:app) only.
    os.environ.setdefault("XMLCURL_ENV", "development")
    cli = FlaskGroup(create_app=_create_app, add_default_commands=False, add_version_option=False,
                     load_dotenv=False, help="xmlcurl: configuration server for FreeSWITCH clusters.")
    cli.main(prog_name="xmlcurl")


if __name__ == "__main__":
    main()
