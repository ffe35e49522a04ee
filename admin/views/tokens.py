"""API token pages: list, create (the token is shown once, on that page only), revoke."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from xmlcurl.services import ListParams, ServiceError, admin_users, api_tokens

from ..auth import current_actor
from ..web import field_errors, list_params, run


def _owners() -> dict[int, str]:
    actor = current_actor()
    if not actor.is_superadmin:
        return {actor.user_id: actor.name}
    page = run(False, admin_users.search, ListParams(per_page=500))
    return {user.id: user.username for user in page.items}


def _page(values=None, errors=None, message="", token=None, created=None, status=200):
    params, applied = list_params(("revoked", "admin_user_id") if current_actor().is_superadmin else ("revoked",))
    page = run(False, api_tokens.search, params)
    return render_template("admin/tokens.html", page=page, owners=_owners(), applied=applied, values=values or {},
                           errors=errors or {}, message=message, token=token, created=created), status


def token_list():
    """Your API tokens (every token, for a superadmin)."""
    return _page()


def token_create():
    """Create a token; the page shows it once (it is stored only as a hash)."""
    data = {"name": request.form.get("name", "").strip()}
    if current_actor().is_superadmin and request.form.get("admin_user_id"):
        data["admin_user_id"] = request.form["admin_user_id"]
    try:
        row, plaintext = run(True, api_tokens.create, data)
    except ServiceError as exc:
        return _page(values=data, errors=field_errors(exc.errors), message=exc.message, status=exc.status)
    # Rendered, never flashed: a flashed token would travel in the session cookie.
    return _page(token=plaintext, created=row)


def token_revoke(ident: int):
    """GET: confirm; POST: revoke (the token stops working at once)."""
    row = run(False, api_tokens.get, ident)
    if request.method == "GET":
        return render_template("admin/confirm_delete.html", res=None, row=row, verb="Revoke",
                               label=f"API token {row.name} (#{row.id})", refusal=None, dependents=[],
                               cancel=url_for("admin.token_list"))
    run(True, api_tokens.revoke, ident)
    flash(f"Revoked API token {row.name}; it no longer works.", "ok")
    return redirect(url_for("admin.token_list"))
