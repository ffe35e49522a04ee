"""Work on many rows at once: bulk enable/disable/delete of selected rows, a range of SIP users,
and deleting a tenant with everything it owns (typed confirmation)."""
from __future__ import annotations

import csv
import io

from flask import Response, abort, flash, redirect, render_template, request, url_for

from xmlcurl import db
from xmlcurl.models import Tenant
from xmlcurl.services import ServiceError, bulk, tenants, user_ranges

from ..auth import current_actor, require_superadmin
from ..resources import tenant_choices
from ..web import current_tenant_id, field_errors, run
from .crud import resource_or_404


def bulk_action(resource: str):
    """POST the selected rows' ids and an action; a delete is confirmed on a page listing the rows first."""
    res = resource_or_404(resource)
    if res.bulk_entity is None:
        abort(404)
    action = request.form.get("action", "")
    ids = request.form.getlist("ids")
    back = _back(request.form.get("back", ""), url_for("admin.list", resource=res.slug))
    if action == "delete" and request.form.get("confirmed") != "yes":
        rows = []
        try:
            rows = [run(False, res.service.get, int(i)) for i in ids if i.isascii() and i.isdigit()]
        except ServiceError:
            abort(404)
        if not rows:
            flash("Select at least one row.", "error")
            return redirect(back)
        return render_template("admin/bulk_confirm.html", res=res, rows=rows, action=action, back=back)
    try:
        count = run(True, bulk.apply, res.bulk_entity, ids, action)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        flash(f"{exc.message}.", "error")
        return redirect(back)
    verb = {"enable": "Enabled", "disable": "Disabled", "delete": "Deleted"}[action]
    flash(f"{verb} {count} {res.noun}{'' if count == 1 else 's'}.", "ok")
    return redirect(back)


def _back(target: str, default: str) -> str:
    """The list the rows were selected on (a path of this admin only), else the resource's list."""
    if target.startswith("/admin/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def user_range():
    """A range of SIP users in one form; the generated passwords are shown once, with a CSV to download."""
    actor = current_actor()
    values = {"tenant_id": str(request.values.get("tenant_id") or current_tenant_id() or ""), "first": "",
              "last": "", "kind": "robot", "password_rule": "generate", "enabled": True}
    errors: dict[str, str] = {}
    message = ""
    if request.method == "POST":
        values.update({k: request.form.get(k, "") for k in ("tenant_id", "first", "last", "kind", "password_rule")})
        values["enabled"] = bool(request.form.get("enabled"))
        payload = {k: values[k].strip() for k in ("first", "last", "kind") if values[k].strip()}
        payload["enabled"] = "true" if values["enabled"] else "false"
        if actor.is_superadmin:
            payload["tenant_id"] = values["tenant_id"].strip()
        if values["password_rule"] == "same":
            payload["password"] = request.form.get("password", "")
            if not payload["password"]:
                errors["password"] = "required when every user gets the same password"
        if not errors:
            try:
                users = run(True, user_ranges.create_range, payload)
            except ServiceError as exc:
                if exc.status == 404:
                    raise
                errors, message = field_errors(exc.errors), exc.message
            else:
                tenant = db.session().get(Tenant, int(payload.get("tenant_id") or actor.tenant_id))
                return render_template("admin/range_done.html", users=users, tenant=tenant,
                                       csv_text=_credentials_csv(tenant, users),
                                       shown=values["password_rule"] == "generate")
    choices = tenant_choices(actor) if actor.is_superadmin else []
    return render_template("admin/user_range.html", values=values, errors=errors, message=message,
                           tenant_options=choices), 422 if errors else 200


def _credentials_csv(tenant: Tenant, users: list[tuple[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("username", "domain", "password"))
    writer.writerows((username, tenant.sip_domain, password) for username, password in users)
    return out.getvalue()


def range_download():
    """The credentials CSV of the range just created (the page posts it back; nothing is kept on the server)."""
    text = request.form.get("csv", "")
    if not text.startswith("username,domain,password"):
        abort(404)
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="sip-users-credentials.csv"'})


def tenant_purge(tenant_id: int):
    """Delete a tenant with everything it owns: the counts per kind, then the tenant's code typed to confirm."""
    require_superadmin()
    tenant = run(False, tenants.get, tenant_id)
    code = tenant.code
    counts = run(False, tenants.owned, tenant_id)
    error = ""
    if request.method == "POST":
        try:
            done = run(True, tenants.delete_with_everything, tenant_id, request.form.get("confirm", ""))
        except ServiceError as exc:
            if exc.status == 404:
                raise
            error = exc.message
        else:
            gone = ", ".join(f"{n} {label}" for label, n in done.items() if n) or "nothing else"
            flash(f"Deleted tenant {code} with {gone}.", "ok")
            return redirect(url_for("admin.list", resource="tenants"))
    return render_template("admin/tenant_purge.html", tenant=tenant, counts=counts, error=error), 422 if error else 200
