"""Web admin of xmlcurl: server-rendered pages under /admin, calling the same services as the JSON API.

`init_app(app)` sets the session cookie and CSRF protection up and registers the blueprint that
`create_blueprint()` builds (one URL rule per page, in `_add_rules`).
"""
from __future__ import annotations

from flask import Blueprint, Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from xmlcurl import limits
from xmlcurl.services import ServiceError

from . import auth, csrf
from .resources import RESOURCES

RESOURCE_SLUGS = ",".join(f"'{slug}'" for slug in RESOURCES)


def init_app(app: Flask) -> None:
    auth.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(create_blueprint())


def create_blueprint() -> Blueprint:
    bp = Blueprint("admin", __name__, url_prefix=auth.ADMIN_PATH, template_folder="templates", static_folder="static")
    bp.before_request(limits.limit_body)  # first: the CSRF check reads the form
    bp.before_request(auth.load_user)
    bp.before_request(csrf.protect)
    bp.after_request(_headers)
    bp.context_processor(_nav)
    bp.register_error_handler(CSRFError, csrf.refused)
    bp.register_error_handler(ServiceError, _service_error)
    bp.register_error_handler(HTTPException, _http_error)
    _add_rules(bp)
    return bp


def _add_rules(bp: Blueprint) -> None:
    from .views import account, audit_log, crud, csv_pages, dashboard, did_ranges, pins, preview, route_test, tokens

    rule = bp.add_url_rule
    rule("/login", "login", auth.login, methods=["GET", "POST"])
    rule("/logout", "logout", auth.logout, methods=["POST"])
    rule("/", "dashboard", dashboard.dashboard)
    rule("/account", "account", account.account, methods=["GET", "POST"])
    rule("/dids/assign", "did_range", did_ranges.assign_range, methods=["GET", "POST"])
    kinds = f"<any({RESOURCE_SLUGS}):resource>"
    rule(f"/{kinds}/", "list", crud.list_rows)
    rule(f"/{kinds}/new", "create", crud.create, methods=["GET", "POST"])
    rule(f"/{kinds}/<int:ident>", "edit", crud.edit, methods=["GET", "POST"])
    rule(f"/{kinds}/<int:ident>/delete", "delete", crud.delete, methods=["GET", "POST"])
    rule("/pinning/", "pinning_list", pins.pinning_list)
    rule("/pinning/new", "pinning_create", pins.pinning_create, methods=["POST"])
    rule("/pinning/<int:tenant_id>/<int:node_id>", "pinning_edit", pins.pinning_edit, methods=["GET", "POST"])
    rule("/pinning/<int:tenant_id>/<int:node_id>/delete", "pinning_delete", pins.pinning_delete, methods=["GET", "POST"])
    rule("/tokens/", "token_list", tokens.token_list)
    rule("/tokens/new", "token_create", tokens.token_create, methods=["POST"])
    rule("/tokens/<int:ident>/revoke", "token_revoke", tokens.token_revoke, methods=["GET", "POST"])
    rule("/audit/", "audit", audit_log.audit_list)
    rule("/import", "import_page", csv_pages.import_page, methods=["GET", "POST"])
    rule("/export/<any(sip_users,dids,routes):kind>.csv", "export", csv_pages.export)
    rule("/preview", "preview", preview.preview, methods=["GET", "POST"])
    rule("/route-test", "route_test", route_test.route_test)
    from .views import bulk_pages, workspace
    rule("/tenant/<int:tenant_id>", "tenant_home", workspace.tenant_home)
    rule("/my-tenant", "my_tenant", workspace.my_tenant)
    rule("/switch-tenant", "switch_tenant", workspace.switch_tenant, methods=["POST"])
    rule(f"/{kinds}/bulk", "bulk", bulk_pages.bulk_action, methods=["POST"])
    rule("/sip-users/range", "user_range", bulk_pages.user_range, methods=["GET", "POST"])
    rule("/sip-users/range/credentials.csv", "range_download", bulk_pages.range_download, methods=["POST"])
    rule("/tenants/<int:tenant_id>/delete-everything", "tenant_purge", bulk_pages.tenant_purge, methods=["GET", "POST"])
    rule("/template/<any(sip_users,dids,routes):kind>.csv", "csv_template", csv_pages.template)
    bp.context_processor(workspace.switcher_context)
    from .views import cluster
    cluster.register(bp)


def _headers(response):
    """Admin pages are never cached (a new API token is on one) nor framed; scripts only from here (none)."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def _nav() -> dict:
    from flask import g

    actor = g.get("admin_actor")
    return {"actor": actor, "resources": RESOURCES}


def _service_error(exc: ServiceError):
    """A refusal no page handled itself (e.g. a row outside the user's reach: 404)."""
    titles = {404: "Not found", 403: "Not allowed", 409: "Conflict", 422: "Not valid"}
    return render_template("admin/error.html", status=exc.status, title=titles.get(exc.status, "Refused"),
                           message=exc.message), exc.status


def _http_error(exc: HTTPException):
    if exc.code == 404:
        message = "There is no such page here."
    elif exc.code == 413:
        message = limits.too_large_message()
    else:
        message = exc.description
    return render_template("admin/error.html", status=exc.code, title=exc.name, message=message), exc.code


__all__ = ["create_blueprint", "init_app"]
