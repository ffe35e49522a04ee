"""Assign a range of numbers to a tenant's DIDs (superadmin): every number from first to last, or none."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from xmlcurl.services import ServiceError, dids

from ..auth import current_actor, require_superadmin
from ..resources import tenant_choices
from ..web import field_errors, run


def assign_range():
    """GET: the form; POST: assign the range (all numbers or, when one is taken, none)."""
    require_superadmin()
    values = {name: request.form.get(name, "").strip() for name in ("tenant_id", "first", "last")}
    values["tenant_id"] = values["tenant_id"] or request.args.get("tenant_id", "").strip()
    values["enabled"] = request.method == "GET" or bool(request.form.get("enabled"))
    errors: dict[str, str] = {}
    message = ""
    status = 200
    if request.method == "POST":
        payload = {"tenant_id": values["tenant_id"] or None, "first": values["first"], "last": values["last"],
                   "enabled": "true" if values["enabled"] else "false"}
        try:
            result = run(True, dids.assign_range, payload)
        except ServiceError as exc:
            errors, message, status = field_errors(exc.errors), exc.message, exc.status
        else:
            flash(f"Assigned {result['created']} numbers ({result['first']} to {result['last']}).", "ok")
            return redirect(url_for("admin.list", resource="dids", tenant_id=result["tenant_id"]))
    return render_template("admin/did_range.html", values=values, errors=errors, message=message,
                           tenants=tenant_choices(current_actor()), max_range=dids.MAX_RANGE), status
