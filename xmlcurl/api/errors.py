"""Every error under /api/v1 answers JSON {code, status, message, errors}."""
from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import limits
from ..services.errors import ServiceError
from . import bp


def error_response(status: int, code: str, message: str, errors: dict[str, Any] | None = None, headers=None):
    response = jsonify({"code": code, "status": status, "message": message, "errors": errors or {}})
    response.status_code = status
    if headers:
        response.headers.update(headers)
    return response


@bp.errorhandler(ServiceError)
def _service_error(exc: ServiceError):
    return error_response(exc.status, exc.code, exc.message, exc.errors)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    message = limits.too_large_message() if exc.code == 413 else exc.description or exc.name
    return error_response(exc.code or 500, code, message, headers=getattr(exc, "www_auth_headers", None))


@bp.route("/<path:_unknown>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def _unknown_endpoint(_unknown: str):
    """Unmatched paths under /api/v1 answer JSON too (not the app's HTML 404 or 405)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST", "PATCH", "DELETE"):
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here",
                              {"allowed": allowed}, headers={"Allow": ", ".join(allowed)})
    return error_response(404, "not_found", "no such API endpoint (see /api/v1/openapi.json)")
