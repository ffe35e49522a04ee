"""CLI commands of the cluster push (`xmlcurl push`) and the dispatcher (`xmlcurl dispatcher`)."""
from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Add `xmlcurl dispatcher` and `xmlcurl push`."""
    from .dispatcher import dispatcher

    app.cli.add_command(dispatcher)
