"""The `xmlcurl` command: the whole command tree, one module per command family.

    data.py        init-db, load-fixtures, generate
    serve.py       serve (gunicorn, as deployed), dev-server
    render.py      render
    routing.py     route-test
    admin.py       create-admin
    push.py        push, esl-password
    dispatcher.py  dispatcher show
    monitor.py     monitor, status
    store.py       fill-store

A plain click group, not Flask's: `xmlcurl --help` lists these commands and nothing of Flask's
(--app, --env-file, --debug). Each command builds the app only when it runs (`with_appcontext`).
"""
from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import ScriptInfo

from . import admin, data, dispatcher, monitor, push, render, routing, serve, store

COMMANDS: tuple[click.Command, ...] = (
    serve.serve, serve.dev_server, data.init_db, data.load_fixtures, data.generate, data.presentable_numbers,
    store.fill_store,
    admin.create_admin,
    render.render, routing.route_test, push.push, push.esl_password, dispatcher.dispatcher,
    monitor.monitor, monitor.status,
)


class _Group(click.Group):
    """Commands listed in COMMANDS' order: first run first, cluster operations last."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group("xmlcurl", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """xmlcurl: configuration server for FreeSWITCH clusters.

    Settings come from XMLCURL_* environment variables (README, Settings). First run:
    `xmlcurl serve --demo`, then open the address it prints.
    """


for _command in COMMANDS:
    cli.add_command(_command)


def register_commands(app: Flask) -> None:
    """The same commands under `app.cli` (Flask's test runner), and the after-commit push hook."""
    from ..push.hooks import install

    for command in COMMANDS:
        app.cli.add_command(command)
    install()


def _create_app() -> Flask:
    from .. import create_app
    from ..config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


#: Whether XMLCURL_ENV was set by this command (development) rather than by the operator.
ENV_DEFAULTED = False


def main() -> None:
    """Entry point of the `xmlcurl` console script."""
    global ENV_DEFAULTED
    # The CLI manages data and runs the development server: no session secret is needed, so the
    # production secret check applies to the WSGI app (gunicorn, `xmlcurl serve`) only.
    if not os.environ.get("XMLCURL_ENV"):
        os.environ["XMLCURL_ENV"] = "development"
        ENV_DEFAULTED = True
    cli.main(prog_name="xmlcurl", obj=ScriptInfo(create_app=_create_app, set_debug_flag=False))
