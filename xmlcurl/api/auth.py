"""Bearer-token authentication: every API request acts as the token's admin user."""
from __future__ import annotations

from flask import g, request

from .. import db
from ..services import api_tokens
from ..services.actor import Actor
from . import bp
from .errors import error_response

PUBLIC_ENDPOINTS = {"api.openapi_document", "api._unknown_endpoint"}


def current_actor() -> Actor:
    return g.api_actor


@bp.before_request
def _authenticate():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return _unauthorized("send an API token: Authorization: Bearer <token>")
    session = db.session()
    try:
        actor = api_tokens.authenticate(session, presented.strip())
        if actor is not None and session.dirty:
            session.commit()  # last_used_at, at most once a minute: its own small transaction
    except Exception:
        session.rollback()
        raise
    if actor is None:
        return _unauthorized("the token is unknown, revoked, or its user is disabled")
    g.api_actor = actor
    return None


def _unauthorized(message: str):
    return error_response(401, "unauthorized", message, headers={"WWW-Authenticate": 'Bearer realm="xmlcurl"'})
