"""JSON API under /api/v1: bearer-token auth, one set of routes per resource, OpenAPI description.

Views parse input, call a service and shape the answer with the resource's schema; errors are
JSON {code, status, message, errors}. Every write commits once here and rolls back on any error.
"""
from flask import Blueprint

from .. import limits

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(limits.limit_body)  # first: nothing may read a body over the limit


@bp.after_request
def _never_stored(response):
    """API answers are private data, and a new token's answer holds the token: no cache may keep them."""
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from . import auth, errors, views  # noqa: E402,F401  (attach handlers and routes to bp)
from . import openapi  # noqa: E402,F401

__all__ = ["bp"]
