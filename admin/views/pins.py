"""Pinning pages: which media nodes serve a tenant, with weights (also shown on each tenant's page)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from xmlcurl import limits
from xmlcurl.services import ServiceError, pinning

from ..auth import current_actor, require_superadmin
from ..resources import media_node_choices, tenant_choices
from ..web import field_errors, list_params, run


def _back(tenant_id: int | str | None):
    """Back to the tenant's page when the change was made there, else to the pinning list."""
    ident = limits.parse_id(str(tenant_id))
    if request.form.get("back") == "tenant" and ident is not None:
        return redirect(url_for("admin.edit", resource="tenants", ident=ident))
    return redirect(url_for("admin.pinning_list"))


def pinning_list():
    """Every pinning, filtered by tenant or node."""
    require_superadmin()
    errors: dict[str, str] = {}
    try:
        params, applied = list_params(("tenant_id", "node_id"))
        page = run(False, pinning.search, params)
    except ServiceError as exc:
        errors, applied = field_errors(exc.errors), {}
        page = run(False, pinning.search, list_params(())[0])
    actor = current_actor()
    return render_template("admin/pinning.html", page=page, applied=applied, errors=errors,
                           tenants=tenant_choices(actor), nodes=media_node_choices(actor), values={}, form_errors={})


def pinning_create():
    """Pin a tenant to a media node."""
    require_superadmin()
    data = {k: request.form.get(k, "").strip() for k in ("tenant_id", "node_id", "weight")}
    if not data["weight"]:
        data.pop("weight")
    try:
        pin = run(True, pinning.create, data)
    except ServiceError as exc:
        if request.form.get("back") == "tenant":
            flash(f"Not pinned: {exc.message}. " + " ".join(field_errors(exc.errors).values()), "error")
            return _back(data.get("tenant_id"))
        actor = current_actor()
        params, applied = list_params(())
        return render_template("admin/pinning.html", page=run(False, pinning.search, params), applied={},
                               errors={}, tenants=tenant_choices(actor), nodes=media_node_choices(actor),
                               values=data, form_errors=field_errors(exc.errors), message=exc.message), exc.status
    flash(f"Pinned tenant {pin.tenant.code} to {pin.node.name} (weight {pin.weight}).", "ok")
    return _back(pin.tenant_id)


def pinning_edit(tenant_id: int, node_id: int):
    """Change a pinning's weight."""
    require_superadmin()
    pin = run(False, pinning.get, (tenant_id, node_id))
    if request.method == "POST":
        try:
            pin = run(True, pinning.update, (tenant_id, node_id), {"weight": request.form.get("weight", "").strip()})
        except ServiceError as exc:
            pin = run(False, pinning.get, (tenant_id, node_id))
            return render_template("admin/pinning_edit.html", pin=pin, errors=field_errors(exc.errors),
                                   message=exc.message, weight=request.form.get("weight", "")), exc.status
        flash(f"Saved: tenant {pin.tenant.code} on {pin.node.name} now has weight {pin.weight}.", "ok")
        return _back(tenant_id)
    return render_template("admin/pinning_edit.html", pin=pin, errors={}, weight=pin.weight)


def pinning_delete(tenant_id: int, node_id: int):
    """GET: confirm; POST: unpin the tenant from the node."""
    require_superadmin()
    pin = run(False, pinning.get, (tenant_id, node_id))
    label = f"the pinning of tenant {pin.tenant.code} to {pin.node.name}"
    if request.method == "GET":
        return render_template("admin/confirm_delete.html", res=None, row=pin, label=label, refusal=None,
                               dependents=[], back=request.args.get("back", ""),
                               cancel=url_for("admin.edit", resource="tenants", ident=tenant_id))
    run(True, pinning.delete, (tenant_id, node_id))
    flash(f"Deleted {label}.", "ok")
    return _back(tenant_id)
