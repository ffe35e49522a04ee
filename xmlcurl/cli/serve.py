"""`xmlcurl serve` (gunicorn with gunicorn.conf.py, as deployed) and `xmlcurl dev-server` (werkzeug, for development)."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .. import config

#: The checkout: gunicorn.conf.py and wsgi.py sit beside the xmlcurl package.
ROOT = Path(__file__).resolve().parents[2]
DEMO_LOGIN = ("admin", "demo-admin-password")
DEMO_NODE = ("media-1", "media-1-secret")


def _url(host: str, port: int) -> str:
    """The address to open: a wildcard bind is reached on loopback."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def demo_secret(instance: Path) -> str:
    """The demo's session key: random, made once and kept in the instance folder (mode 0600).

    Kept rather than drawn per run: admin sessions survive a restart, and event-socket passwords
    stored encrypted with a key derived from it (XMLCURL_ESL_KEY unset) stay readable.
    """
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if len(value) >= config.MIN_SECRET_LENGTH:
            return value
        raise click.ClickException(f"{path} holds no usable key (under {config.MIN_SECRET_LENGTH} characters): "
                                   "delete it to have a new one made") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def _has_admin(app: Flask, username: str) -> bool:
    from ..models import AdminUser

    with app.extensions["xmlcurl.db"].engine.connect() as conn:
        return conn.scalar(select(AdminUser.id).where(AdminUser.username == username, AdminUser.enabled)) is not None


def banner(app: Flask, url: str, demo: bool, outcome) -> list[str]:
    """Where everything is: the lines `serve` and `dev-server` print before they listen."""
    lines = [
        f"  start page  {url}/",
        f"  admin       {url}/admin/",
        f"  fetch URL   {url}/freeswitch   (POST from mod_xml_curl, HTTP Basic: node name and its HTTP secret)",
        f"  probes      {url}/healthz   {url}/readyz   {url}/metrics",
    ]
    if outcome is None:
        lines.append("  database    unreachable at start: the service starts degraded and retries (see the log)")
    elif demo and _has_admin(app, DEMO_LOGIN[0]):
        lines.append(f"  demo login  {DEMO_LOGIN[0]} / {DEMO_LOGIN[1]}   (demo node {DEMO_NODE[0]} / {DEMO_NODE[1]}; "
                     "public credentials, never use this database in production)")
    elif demo:
        lines.append("  demo        not loaded: the database already held data (the demo only goes into an empty one)")
    else:
        lines.append("  first admin `xmlcurl create-admin NAME --role superadmin` if the database has none")
    return lines


def _seed_demo(ctx: click.Context, param: click.Parameter, demo: bool) -> bool:
    """--demo is XMLCURL_SEED_DEMO=1 for this process and gunicorn's: set before the app is built,
    so the first start creates the tables and loads the demo in one step."""
    if demo:
        os.environ["XMLCURL_SEED_DEMO"] = "1"
    return demo


def _database_label(app: Flask) -> str:
    engine = app.extensions["xmlcurl.db"].engine
    if not app.config["XMLCURL"]["DATABASE_URL"]:
        return f"embedded SQLite {engine.url.database}"
    return engine.url.render_as_string(hide_password=True)


@click.command("serve", short_help="Run the service as deployed: gunicorn with gunicorn.conf.py.")
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True, help="address to listen on ($HOST)")
@click.option("--port", envvar="PORT", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="port to listen on ($PORT)")
@click.option("--demo", is_flag=True, callback=_seed_demo,
              help="load the demo data (public credentials) into an empty database; a key is made in the instance folder")
@click.option("--workers", type=click.IntRange(1), default=None, help="gunicorn workers (default: gunicorn.conf.py's)")
@with_appcontext
def serve(host: str, port: int, demo: bool, workers: int | None) -> None:
    """Run the service as deployed: gunicorn with gunicorn.conf.py and wsgi.py.

    The database is prepared here, once (tables of an empty database; with --demo, the demo data),
    then gunicorn replaces this process. Production settings apply: XMLCURL_SECRET_KEY is required,
    except with --demo, which makes one and keeps it in the instance folder.
    """
    from . import ENV_DEFAULTED

    app = current_app._get_current_object()
    conf, wsgi = ROOT / "gunicorn.conf.py", ROOT / "wsgi.py"
    if not conf.is_file() or not wsgi.is_file():
        raise click.ClickException(f"no gunicorn.conf.py and wsgi.py beside the xmlcurl package (in {ROOT}): "
                                   "`xmlcurl serve` runs from a checkout; elsewhere run "
                                   "`gunicorn -c gunicorn.conf.py wsgi:app` with your own files")
    env = dict(os.environ)
    if ENV_DEFAULTED:
        env["XMLCURL_ENV"] = "production"  # the CLI's own development default is not for the service
    instance = Path(app.instance_path)
    if demo:
        if not env.get("XMLCURL_SECRET_KEY"):
            env["XMLCURL_SECRET_KEY"] = demo_secret(instance)
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(instance / "prometheus"))
    try:
        config.load(environ=env)  # the workers' settings: refuse here, with the reason, not in every worker
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    from ..bootstrap import prepare_app

    outcome = prepare_app(app, demo=demo)
    url = _url(host, port)
    click.echo(f"xmlcurl: gunicorn -c {conf} wsgi:app on {_bind(host, port)}, {_database_label(app)}")
    for line in banner(app, url, demo, outcome):
        click.echo(line)
    click.echo("  stop        Ctrl-C", nl=True)
    sys.stdout.flush()
    app.extensions["xmlcurl.db"].dispose()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--chdir", str(ROOT), "-b", _bind(host, port)]
    if workers:
        argv += ["-w", str(workers)]
    os.execve(sys.executable, argv + ["wsgi:app"], env)


@click.command("dev-server", short_help="Development server (werkzeug); not for production.")
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True, help="address to listen on ($HOST)")
@click.option("--port", envvar="PORT", default=8080, show_default=True, type=click.IntRange(1, 65535),
              help="port to listen on ($PORT)")
@click.option("--demo", is_flag=True, callback=_seed_demo,
              help="load the demo data (public credentials) into an empty database")
@with_appcontext
def dev_server(host: str, port: int, demo: bool) -> None:
    """Development server (werkzeug, one process); `xmlcurl serve` runs the service."""
    from werkzeug.serving import run_simple

    from ..bootstrap import prepare_app

    app = current_app._get_current_object()
    outcome = prepare_app(app, demo=demo)
    if demo:
        app.config["XMLCURL"]["SEED_DEMO"] = True  # the start page names the demo login
    click.echo(f"xmlcurl: DEVELOPMENT server on {_bind(host, port)}, {_database_label(app)}")
    for line in banner(app, _url(host, port), demo, outcome):
        click.echo(line)
    # Flask's app.run() refuses to start inside its own CLI, so serve through werkzeug directly.
    run_simple(host, port, app, use_reloader=False, threaded=True)
