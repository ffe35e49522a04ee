"""Section `dialplan`: one extension computed for each call, on media nodes and on routers."""
from . import media, router  # noqa: F401  (registers the handlers)
