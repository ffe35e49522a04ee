"""List, create, edit and delete pages shared by every resource (what differs is in resources.py)."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from xmlcurl import db
from xmlcurl.models import Gateway, Node, SipUser, Tenant, TenantNode
from xmlcurl.services import InUse, ListParams, ServiceError, pinning, user_ranges

from .. import forms
from ..auth import current_actor
from ..resources import DEPENDENT_PAGES, RESOURCES, Resource, media_node_choices
from ..web import current_tenant_id, dry_run, field_errors, list_params, run, scoped_args, tenant_codes

PAGE_SIZES = (25, 50, 100, 200, 500)


def resource_or_404(slug: str) -> Resource:
    resource = RESOURCES.get(slug)
    if resource is None or (resource.superadmin_only and not current_actor().is_superadmin):
        abort(404)
    return resource


def _display_context(resource: Resource, rows: list[Any]) -> dict[str, Any]:
    """Names for the ids a list shows (tenant codes, gateway names, usernames)."""
    ctx: dict[str, Any] = {"tenants": tenant_codes(), "gateways": {}, "users": {}, "domains": {}, "preview_nodes": {}}
    ctx["first_tenant"] = min(ctx["tenants"].values(), default="")
    session = db.session()
    if resource.slug == "sip-users" and rows:
        tenant_ids = {row.tenant_id for row in rows}
        ctx["domains"] = dict(session.execute(select(Tenant.id, Tenant.sip_domain).where(Tenant.id.in_(tenant_ids))).tuples().all())
        # The preview asks as the tenant's most preferred media node (where its users register).
        pinned = (select(TenantNode.tenant_id, Node.name).join(Node, Node.id == TenantNode.node_id)
                  .where(TenantNode.tenant_id.in_(tenant_ids)).order_by(TenantNode.weight, Node.name.desc()))
        ctx["preview_nodes"] = dict(session.execute(pinned).tuples().all())
    if resource.slug == "routes":
        ctx["gateways"] = dict(session.execute(select(Gateway.id, Gateway.name)).tuples().all())
    if resource.slug == "dids" and rows:
        ids = {row.user_id for row in rows if row.user_id is not None}
        ctx["users"] = dict(session.execute(select(SipUser.id, SipUser.username).where(SipUser.id.in_(ids))).tuples().all())
    return ctx


def list_rows(resource: str):
    """One page of a resource, filtered."""
    res = resource_or_404(resource)
    actor = current_actor()
    filters = [f for f in res.filters if actor.is_superadmin or not f.superadmin_only]
    errors: dict[str, str] = {}
    names = tuple(f.name for f in filters)
    args = scoped_args(names)
    try:
        params, applied = list_params(names, args)
        page = run(False, res.service.search, params)
    except ServiceError as exc:
        errors = field_errors(exc.errors)
        applied, params = {}, ListParams()
        page = run(False, res.service.search, params)
    columns = [c for c in res.columns if actor.is_superadmin or not c.superadmin_only]
    # Sort and page size stay on every link of the page (headers, pager, filters keep them).
    keep = {k: str(v) for k, v in (("sort", params.sort), ("per_page", params.per_page)) if v and
            not (k == "per_page" and v == ListParams().per_page)}
    return render_template("admin/list.html", res=res, page=page, filters=filters, applied=applied,
                           columns=columns, ctx=_display_context(res, list(page.items)), errors=errors,
                           filter_choices={f.name: f.choices(actor) for f in filters if f.choices},
                           keep=keep, sort=params.sort or "", page_sizes=PAGE_SIZES,
                           switched=current_tenant_id() if actor.is_superadmin else None)


def _form_page(res: Resource, creating: bool, values: dict[str, Any], errors: dict[str, str],
               row: Any = None, message: str = "", status: int = 200):
    actor = current_actor()
    fields = res.visible_fields(actor, creating)
    extra: dict[str, Any] = {}
    if res.slug == "tenants" and row is not None:
        extra["pins"] = run(False, pinning.search, ListParams(per_page=500, filters={"tenant_id": str(row.id)})).items
        extra["media_nodes"] = media_node_choices(actor)
    if row is not None and getattr(row, "tenant_id", None) is not None and res.slug != "admin-users":
        extra["row_tenant"] = db.session().get(Tenant, row.tenant_id)
    return render_template("admin/form.html", res=res, creating=creating, fields=fields, values=values,
                           errors=errors, row=row, message=message,
                           choices={f.name: f.choices(actor) for f in fields if f.choices}, **extra), status


def create(resource: str):
    """A form for a new row; on success back to the list with a confirmation."""
    res = resource_or_404(resource)
    actor = current_actor()
    if res.create_superadmin_only and not actor.is_superadmin:
        abort(404)
    if request.method == "GET":
        values = forms.initial_values(res, actor)
        # A new row starts in the tenant being worked on (switcher or ?tenant_id=) when the form asks for one.
        tenant_id = request.args.get("tenant_id") or current_tenant_id()
        if tenant_id is not None and any(f.name == "tenant_id" for f in res.visible_fields(actor, True)):
            values["tenant_id"] = str(tenant_id)
        return _form_page(res, True, values, {})
    generated = None
    try:
        payload = forms.payload(res, request.form, actor, creating=True)
        if res.slug == "sip-users" and not payload.get("password"):
            payload["password"] = generated = user_ranges.new_password()
        row = run(True, res.service.create, payload)
    except ServiceError as exc:
        values = forms.submitted_values(res.visible_fields(actor, True), request.form)
        return _form_page(res, True, values, field_errors(exc.errors), message=exc.message, status=exc.status)
    another = bool(request.form.get("another"))
    if generated is not None:
        # Shown on this one answer only: never flashed (the session cookie is signed, not encrypted) nor stored.
        return render_template("admin/password_once.html", res=res, row=row, password=generated, another=another,
                               domain=_domain(row.tenant_id))
    flash(f"Created {res.describe(row)}.", "ok")
    if another:
        return redirect(url_for("admin.create", resource=res.slug, tenant_id=getattr(row, "tenant_id", None) or None))
    return redirect(url_for("admin.tenant_home", tenant_id=row.id) if res.slug == "tenants"
                    else url_for("admin.list", resource=res.slug))


def _domain(tenant_id: int | None) -> str:
    tenant = db.session().get(Tenant, tenant_id) if tenant_id is not None else None
    return tenant.sip_domain if tenant else ""


def edit(resource: str, ident: int):
    """A stored row's form; saving changes only what the form holds."""
    res = resource_or_404(resource)
    actor = current_actor()
    row = run(False, res.service.get, ident)
    if request.method == "GET":
        return _form_page(res, False, forms.row_values(res, row, actor), {}, row=row)
    try:
        row = run(True, res.service.update, ident, forms.payload(res, request.form, actor, creating=False))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        values = forms.submitted_values(res.visible_fields(actor, False), request.form)
        row = run(False, res.service.get, ident)
        return _form_page(res, False, values, field_errors(exc.errors), row=row, message=exc.message,
                          status=exc.status)
    flash(f"Saved {res.describe(row)}.", "ok")
    return redirect(url_for("admin.list", resource=res.slug))


def _dependents(res: Resource, row: Any, exc: ServiceError | None) -> list[dict[str, Any]]:
    """A refused delete's dependents: a few linked by id, and all of them when a list can filter for them."""
    if not isinstance(exc, InUse):
        return []
    out = []
    for label, info in exc.dependents.items():
        page = DEPENDENT_PAGES.get(label)
        if res.slug == "tenants" and page in ("sip-users", "dids", "routes", "caller-ids"):
            every = url_for("admin.list", resource=page, tenant_id=row.id)
        elif res.slug == "nodes" and label == "pinned_tenants":
            every = url_for("admin.pinning_list", node_id=row.id)
        else:
            every = None
        out.append({"label": label.replace("_", " "), "count": info["count"], "all": every,
                    "links": [(ident, url_for("admin.edit", resource=page, ident=ident) if page else None)
                              for ident in info["ids"]]})
    return out


def delete(resource: str, ident: int):
    """GET: a confirmation page listing what still depends on the row; POST: delete it."""
    res = resource_or_404(resource)
    row = run(False, res.service.get, ident)
    label = res.describe(row)
    if request.method == "GET":
        refusal = dry_run(res.service.delete, ident)
        return render_template("admin/confirm_delete.html", res=res, row=row, label=label,
                               refusal=refusal, dependents=_dependents(res, row, refusal))
    try:
        run(True, res.service.delete, ident)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return render_template("admin/confirm_delete.html", res=res, row=row, label=label, refusal=exc,
                               dependents=_dependents(res, row, exc)), exc.status
    flash(f"Deleted {label}.", "ok")
    return redirect(url_for("admin.list", resource=res.slug))
