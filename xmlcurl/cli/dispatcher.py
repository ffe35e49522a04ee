"""`xmlcurl dispatcher show`: the SIP proxy's dispatcher rows, as it reads them."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from ..dispatcher import LAYOUTS, rows


@click.group("dispatcher")
def dispatcher() -> None:
    """The SIP proxy's dispatcher sets (one per tenant), as the proxy reads them."""


@dispatcher.command("show")
@click.option("--layout", type=click.Choice(sorted(LAYOUTS)), default=None,
              help="table layout (default: XMLCURL_DISPATCHER_LAYOUT)")
@click.option("--json", "as_json", is_flag=True, help="print JSON rows")
@with_appcontext
def show(layout: str | None, as_json: bool) -> None:
    """Print the dispatcher rows the proxy loads on its next reload."""
    from flask import current_app

    from .. import db

    layout = layout or current_app.config["XMLCURL"]["DISPATCHER_LAYOUT"]
    found = rows(db.read_session(), layout)
    if as_json:
        json.dump(found, sys.stdout, indent=2, default=str)
        click.echo()
        return
    if not found:
        click.echo("(no destinations)")
        return
    columns = list(found[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in found)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in found:
        click.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
