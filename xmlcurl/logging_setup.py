"""One log format for the service, the CLI and gunicorn workers, one record per line."""
from __future__ import annotations

import logging

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def loggable(value: object, limit: int = 64, *, spaces: bool = False) -> str:
    """Caller-supplied text made safe for a log line: at most `limit` characters, control characters,
    backslashes and non-ASCII escaped (``\\n``, ``\\x1b``, ``\\xe9``) and spaces too, so a value can
    neither start a line of its own nor pass for another ``name=value`` field.

    `spaces` is for a line's free text (a fetch's result), whose caller values were escaped as fields
    already: spaces and backslashes stay unless something else needs escaping.
    Every log line that carries what a request sent (fetch fields, usernames, paths) passes it through here.
    """
    text = value if isinstance(value, str) else str(value)
    cut = text[:limit]
    if cut.isascii() and cut.isprintable() and (spaces or (" " not in cut and "\\" not in cut)):
        escaped = cut  # the usual case: nothing to escape, no encoding
    else:
        escaped = cut.encode("unicode_escape").decode("ascii")
        if not spaces:
            escaped = escaped.replace(" ", "\\x20")
    return escaped + ("..." if len(text) > limit else "")


class OneLineFormatter(logging.Formatter):
    """A line break left in a message (a value not passed through `loggable`) is escaped: one record,
    one line. Only a traceback, appended after the message, spans lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        message = super().formatMessage(record)
        if "\n" in message or "\r" in message:
            message = message.replace("\r", "\\r").replace("\n", "\\n")
        return message


def configure(level: str) -> None:
    root = logging.getLogger("xmlcurl")
    root.setLevel(level.upper())
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(OneLineFormatter(_FORMAT))
        root.addHandler(handler)
        root.propagate = False
