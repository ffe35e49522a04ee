"""Bounds on what the API and the admin accept: ids, integers, JSON nesting and body sizes.

Past these the database or a parser fails instead of answering (SQLite raises OverflowError on an
integer over 2**63-1, json recursion on deep nesting): the caller gets a 4xx that says why instead.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

#: Every id and integer column of schema.sql is a signed INT (the audit log's own id is not asked for).
MAX_INT = 2**31 - 1
MIN_INT = -(2**31)
_ID = re.compile(r"[0-9]{1,10}")


def parse_id(text: str) -> int | None:
    """A row id (or other count) in ASCII digits, or None when an INT column cannot hold it."""
    if not _ID.fullmatch(text):
        return None
    value = int(text)
    return value if value <= MAX_INT else None


class IdConverter(IntegerConverter):
    """`<int:...>` in URL rules: 1 to 10 ASCII digits, so any value is one both databases can compare
    (a row that cannot exist is the service's 404); longer or other digits match no rule (404 too)."""

    regex = r"[0-9]{1,10}"


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deeply for the parser is a decoding error like any other."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None


def _body_limit() -> tuple[int, str]:
    """The request's body limit and the setting it comes from."""
    view = current_app.view_functions.get(request.endpoint or "")
    name = "MAX_UPLOAD_BYTES" if getattr(view, "takes_upload", False) else "MAX_REQUEST_BYTES"
    return current_app.config["XMLCURL"][name], f"XMLCURL_{name}"


def too_large_message() -> str:
    """What a 413 of the API or the admin says: the limit and the setting that raises it."""
    limit, setting = _body_limit()
    return f"the request body is too large: at most {limit} bytes ({setting})"


def upload(view: Callable) -> Callable:
    """Mark a view that takes a CSV file: its body may reach MAX_UPLOAD_BYTES instead of MAX_REQUEST_BYTES."""
    view.takes_upload = True  # type: ignore[attr-defined]
    return view


def limit_body() -> None:
    """before_request of the API and the admin: cap the body before anything reads it (413 above)."""
    limit, _ = _body_limit()
    if request.content_length is not None:
        request.max_content_length = limit
        if request.content_length > limit:
            raise RequestEntityTooLarge(too_large_message())
    elif request.environ.get("wsgi.input_terminated"):
        # A body without a length (chunked): werkzeug would cut it at the limit without a word, and a
        # cut CSV can still parse. Read one byte more, keep it for the form parser and get_data.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise RequestEntityTooLarge(too_large_message())


def init_app(app: Flask) -> None:
    """Bound `<int:...>` URL parts and JSON nesting; must run before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
    # Any route that reads a body without limit_body still stops here; the fetch endpoint has its own.
    # A form's text fields may fill the whole body (Flask's own default stops them at 500 kB).
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_FORM_MEMORY_SIZE"] = app.config["XMLCURL"]["MAX_REQUEST_BYTES"]
