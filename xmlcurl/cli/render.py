"""`xmlcurl render`: the exact answer a node would receive for a fetch body, without HTTP."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import db


@click.command("render")
@click.option("--node", "node_name", required=True, help="name of the node the answer is for")
@click.argument("source", type=click.File("rb"), default="-")
@with_appcontext
def render(node_name: str, source) -> None:
    """Print the exact answer NODE would receive for a fetch body (a file, a captured .http, or stdin).

    Notes (the node and section, a capture whose Content-Length disagrees with its body) go to stderr.
    """
    from ..render import RenderError, render_for_node

    try:
        result = render_for_node(db.read_session(), node_name, source.read(), current_app.config["XMLCURL"])
    except RenderError as exc:
        raise click.ClickException(str(exc)) from None
    for note in result.notes:
        click.echo(f"# {note}", err=True)
    sys.stdout.buffer.write(result.body)
    sys.stdout.buffer.flush()
