"""POST /freeswitch: the one endpoint every mod_xml_curl binding calls."""
from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Request, Response, current_app, request
from sqlalchemy.exc import SQLAlchemyError

from .. import db, metrics
from .answer import answer
from ..logging_setup import loggable
from .auth import (SOURCE_NOT_ALLOWED, AuthFailure, CredentialLookup, authenticate, check_hostname, failure_log,
                   held_credentials, source_limiter)
from . import scopes
from .cache import FetchCache, fetch_cache
from .context import SHARED_NODE_ID, FetchContext
from .recent import recent_failures
from .request import BadFetch, parse_fetch
from .xmldoc import NOT_FOUND

bp = Blueprint("fetch", __name__)
#: Sections whose answers carry credentials (users' a1-hashes, sofia.conf's gateway passwords): never cached on the way.
HOLDS_SECRETS = frozenset({"directory", "configuration"})
log = logging.getLogger("xmlcurl.fetch")


def _plain(status: int, message: str, **headers: str) -> Response:
    return Response(message + "\n", status=status, mimetype="text/plain", headers=headers)


def _read_body(req: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (read no further than that)."""
    length = req.content_length
    if length is not None and length > limit:
        return None
    environ = req.environ
    # A server that ends the input itself (gunicorn) is read directly; werkzeug's stream would only
    # wrap the same object after several lookups. Others are wrapped.
    if environ.get("wsgi.input_terminated"):
        stream = environ["wsgi.input"]
    else:
        req.max_content_length = limit + 1  # this limit, not the API's and admin's MAX_REQUEST_BYTES
        stream = req.stream
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _recover_fetch_connection() -> None:
    db.fetch_connection().rollback()


def _credential_lookup(cache: FetchCache | None, app: Flask) -> CredentialLookup:
    """Node credentials held by the worker until the configuration version changes: through the cache
    under a key no node's own entries can take (node id 0), or, with the cache off, HeldCredentials."""
    if cache is None:
        held = held_credentials(app.extensions, app.config["XMLCURL"]["CACHE_POLL_SECONDS"])
        return lambda parts, loader: held.lookup(parts, loader, db.fetch_connection)
    return lambda parts, loader: cache.get_or_load((SHARED_NODE_ID, "auth", *parts), loader,
                                                   recover=_recover_fetch_connection, scope=scopes.shared("nodes"),
                                                   kind="node")


@bp.post("/freeswitch")
def fetch() -> Response:
    """Answer one mod_xml_curl fetch."""
    started = time.perf_counter()
    # Each use of Flask's `request` and `current_app` proxies costs a context lookup: resolve them once.
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    settings = app.config["XMLCURL"]
    cache = fetch_cache(app)
    peer = req.remote_addr or "-"

    def done(status: int, node: str, section: str, key: str, result: str, response: Response,
             role: str = "-", not_found: bool = False, quiet: bool = False) -> Response:
        # Every field may hold what the request sent: each is escaped here so no value can end the line.
        # The result is prose; the handlers escape the caller values they quote in it as fields.
        elapsed = time.perf_counter() - started
        # Refusals are logged by the failure log, at most once a minute per source.
        if not quiet and log.isEnabledFor(logging.INFO):
            log.info("fetch node=%s section=%s key=%s status=%d result=%s ms=%.1f peer=%s",
                     loggable(node), loggable(section), loggable(key, 128) or "-", status,
                     loggable(result, 256, spaces=True), elapsed * 1000, loggable(peer))
        metrics.observe_fetch(section, role, status, not_found, elapsed)
        if cache is not None:
            cache.report_lookups()
        if status != 200 or not_found:  # for the admin dashboard's recent fetch errors
            recent_failures(app.extensions).record(node, section, loggable(key, 128), status, result, peer)
        return response

    def refused(failure: AuthFailure, section: str = "-", role: str = "-") -> Response:
        failure_log(app.extensions).record(failure, peer)
        if failure.status == 401:
            response = _plain(401, "node authentication required", **{"WWW-Authenticate": 'Basic realm="xmlcurl"'})
        elif failure.reason == SOURCE_NOT_ALLOWED:
            response = _plain(403, "this node may not fetch from this address")
        else:
            response = _plain(403, "hostname does not match the authenticated node")
        return done(failure.status, failure.username or "-", section, "", failure.reason, response, role, quiet=True)

    db.start_deadline(settings["FETCH_BUDGET_MS"])
    body = _read_body(req, settings["MAX_BODY_BYTES"])
    if body is None:
        return done(413, "-", "-", "", "body too large", _plain(413, "fetch body too large"))
    auth = req.authorization
    username = auth.username if auth and auth.type == "basic" else None
    secret = auth.password if auth and auth.type == "basic" else None
    try:
        if cache is not None:
            # At most every CACHE_POLL_SECONDS; a failed poll keeps the last version's entries serving.
            cache.refresh(db.read_session)
        # The read session is opened only by what needs the database: a warm fetch runs no SQL.
        node = authenticate(db.fetch_connection, username, secret, _credential_lookup(cache, app), peer=peer,
                            limiter=source_limiter(app.extensions, settings["AUTH_VERIFY_BURST"]))
        if isinstance(node, AuthFailure):
            return refused(node)
        try:
            fetch_request = parse_fetch(body)
        except BadFetch as exc:
            return done(400, node.name, "-", "", f"bad body: {exc}", _plain(400, f"bad fetch: {exc}"), role=node.role)
        mismatch = check_hostname(node, fetch_request.hostname)
        if mismatch is not None:
            return refused(mismatch, fetch_request.section, node.role)
        ctx = FetchContext(request=fetch_request, node=node, open_session=db.fetch_connection, settings=settings,
                           cache=cache)
        xml = answer(ctx)
    except SQLAlchemyError as exc:
        log.error("fetch database error: %s", exc.__class__.__name__)
        metrics.DATABASE_ERRORS.labels("fetch").inc()
        result = "over budget" if isinstance(exc, db.DeadlineExceeded) else "database unavailable"
        return done(503, "-", "-", "", result, _plain(503, result))
    response = Response(xml, status=200, mimetype="text/xml")
    if fetch_request.section in HOLDS_SECRETS:
        response.headers["Cache-Control"] = "no-store"
    return done(200, node.name, fetch_request.section, ctx.key, ctx.outcome, response, role=node.role,
                not_found=xml is NOT_FOUND)
