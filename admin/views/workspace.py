"""The tenant's workspace: one page with what an operator (or the tenant's own admin) works on, and the
tenant switcher that narrows every list to one tenant."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import abort, current_app, redirect, render_template, request, session as cookie, url_for
from sqlalchemy import select

from xmlcurl import db
from xmlcurl.limits import parse_id
from xmlcurl.models import Gateway, Node, Tenant, TenantNode
from xmlcurl.services import ListParams, admin_users, caller_ids, dids, pinning, routes, sip_users

from ..auth import current_actor
from ..resources import media_node_choices
from ..web import SWITCH_KEY, run

#: Rows of each kind shown on the page; each list links to the full, filtered one.
SHOWN = 20


def _first(service, **filters: str) -> Any:
    return run(False, service.search, ListParams(per_page=SHOWN, filters=filters))


def connection(tenant: Tenant) -> dict[str, Any]:
    """What a phone or a robot is configured with: domain, registrar/proxy, ports, profile."""
    settings = current_app.config["XMLCURL"]
    return {"domain": tenant.sip_domain, "proxy": settings.get("SIP_PROXY_ADDRESS") or "",
            "ports": settings.get("SIP_PROXY_PORTS") or "", "context": tenant.context}


def tenant_home(tenant_id: int):
    """A tenant's settings, limits, pinning, users, DIDs, approved caller IDs, routes and live state."""
    actor = current_actor()
    if parse_id(str(tenant_id)) is None or not actor.can_see_tenant(tenant_id):
        abort(404)  # an id past what an INT column holds is no tenant (SQLite would overflow)
    session = db.session()
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        abort(404)
    ident = str(tenant.id)
    data: dict[str, Any] = {
        "tenant": tenant, "conn": connection(tenant),
        "users": _first(sip_users, tenant_id=ident), "dids": _first(dids, tenant_id=ident),
        "caller_ids": _first(caller_ids, tenant_id=ident),
        "user_names": {}, "routes": None, "pins": [], "admins": None, "gateways": {},
    }
    user_ids = {d.user_id for d in data["dids"].items if d.user_id is not None}
    if user_ids:
        from xmlcurl.models import SipUser
        data["user_names"] = dict(session.execute(select(SipUser.id, SipUser.username)
                                                  .where(SipUser.id.in_(user_ids))).tuples().all())
    pinned = list(session.scalars(select(Node.name).join(TenantNode, TenantNode.node_id == Node.id)
                                  .where(TenantNode.tenant_id == tenant.id).order_by(TenantNode.weight.desc(), Node.name)))
    data["preview_node"] = pinned[0] if pinned else ""
    if actor.is_superadmin:
        data["routes"] = run(False, routes.search, ListParams(per_page=100, filters={"applies_to": ident}))
        data["gateways"] = dict(session.execute(select(Gateway.id, Gateway.name)).tuples().all())
        data["pins"] = run(False, pinning.search, ListParams(per_page=500, filters={"tenant_id": ident})).items
        data["media_nodes"] = media_node_choices(actor)
        data["admins"] = _first(admin_users, tenant_id=ident)
    return render_template("admin/workspace.html", **data)


def my_tenant():
    """A tenant admin's home: its tenant's workspace."""
    actor = current_actor()
    if actor.tenant_id is None:
        abort(404)
    return redirect(url_for("admin.tenant_home", tenant_id=actor.tenant_id))


def switch_tenant():
    """The header's switcher (superadmin): remember the tenant every list is filtered to, then go back."""
    actor = current_actor()
    if not actor.is_superadmin:
        abort(404)
    raw = request.values.get("tenant_id", "").strip()
    if raw and raw.isascii() and raw.isdigit() and db.session().get(Tenant, int(raw)) is not None:
        cookie[SWITCH_KEY] = int(raw)
    else:
        cookie.pop(SWITCH_KEY, None)
    back = request.values.get("next", "")
    # Only a path of this admin (no scheme, no host): the switcher never redirects elsewhere.
    if not back.startswith("/admin/") or back.startswith("//") or "\\" in back:
        return redirect(url_for("admin.dashboard"))
    # The page comes back filtered to the new choice: its own tenant filter and page number go.
    parts = urlsplit(back)
    if parts.path.startswith("/admin/tenant/") and SWITCH_KEY in cookie:
        return redirect(url_for("admin.tenant_home", tenant_id=cookie[SWITCH_KEY]))
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("tenant_id", "applies_to", "page")]
    return redirect(urlunsplit(("", "", parts.path, urlencode(query), "")))


def switcher_context() -> dict[str, Any]:
    """The header's tenant choices (superadmin) and the chosen one."""
    from flask import g

    actor = g.get("admin_actor")
    if actor is None or not actor.is_superadmin:
        return {}
    rows = db.session().execute(select(Tenant.id, Tenant.code).order_by(Tenant.code).limit(1000)).tuples().all()
    chosen = cookie.get(SWITCH_KEY)
    return {"switch_tenants": rows, "switched_tenant": chosen if isinstance(chosen, int) else None}
