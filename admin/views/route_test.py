"""Route test: a tenant and a dialled number -> the legs the routers try, in order, and why (routing.explain)."""
from __future__ import annotations

from flask import render_template, request

from xmlcurl import db
from xmlcurl.fetch.dialplan.routing import as_dict, explain
from xmlcurl.services import ListParams, nodes, tenants

from ..auth import current_actor, require_superadmin


def route_test():
    """Show the router's decision without placing a call."""
    require_superadmin()
    values = {"tenant": request.args.get("tenant", ""), "number": request.args.get("number", "").strip(),
              "media_node": request.args.get("media_node", "")}
    errors: dict[str, str] = {}
    decision = None
    if "number" in request.args:
        if not values["tenant"]:
            errors["tenant"] = "choose a tenant"
        if not values["number"]:
            errors["number"] = "enter the number as the tenant's user dials it"
        if not errors:
            session = db.session()
            try:
                decision = as_dict(explain(session, values["tenant"], values["number"], values["media_node"] or None))
            finally:
                session.rollback()
    tenant_page = tenants.search(db.session(), current_actor(), ListParams(per_page=500))
    media_page = nodes.search(db.session(), current_actor(), ListParams(per_page=500, filters={"role": "media"}))
    media = [(n.name, f"{n.name} ({n.sip_address})") for n in media_page.items]
    return render_template("admin/route_test.html", values=values, errors=errors, decision=decision,
                           tenants=[(t.code, f"{t.code} ({t.name})") for t in tenant_page.items], media_nodes=media), \
        422 if errors else 200
