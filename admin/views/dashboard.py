"""The dashboard: tenants with their users and DIDs, nodes with their role and pinned tenants, recent fetch errors."""
from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from xmlcurl import db
from xmlcurl.fetch.recent import recent_failures
from xmlcurl.models import Did, Node, SipUser, Tenant, TenantNode

from ..auth import current_actor


def _tenant_rows(tenant_id: int | None) -> list[dict]:
    """Each tenant (or only `tenant_id`) with its users (agents, robots) and DIDs, read-only."""
    session = db.session()
    tenants = select(Tenant.id, Tenant.code, Tenant.name, Tenant.enabled).order_by(Tenant.code)
    users = select(SipUser.tenant_id, SipUser.kind, func.count()).group_by(SipUser.tenant_id, SipUser.kind)
    dids = select(Did.tenant_id, func.count()).group_by(Did.tenant_id)
    if tenant_id is not None:
        tenants = tenants.where(Tenant.id == tenant_id)
        users = users.where(SipUser.tenant_id == tenant_id)
        dids = dids.where(Did.tenant_id == tenant_id)
    counts: dict[tuple[int, str], int] = {(t, k): n for t, k, n in session.execute(users).tuples()}
    did_counts = dict(session.execute(dids).tuples().all())
    return [{"id": tid, "code": code, "name": name, "enabled": enabled,
             "agents": counts.get((tid, "agent"), 0), "robots": counts.get((tid, "robot"), 0),
             "dids": did_counts.get(tid, 0)}
            for tid, code, name, enabled in session.execute(tenants).tuples()]


def _node_rows() -> list[dict]:
    session = db.session()
    pinned: dict[int, list[tuple[str, int]]] = {}
    stmt = (select(TenantNode.node_id, Tenant.code, TenantNode.weight).join(Tenant, Tenant.id == TenantNode.tenant_id)
            .order_by(TenantNode.weight.desc(), Tenant.code))
    for node_id, code, weight in session.execute(stmt).tuples():
        pinned.setdefault(node_id, []).append((code, weight))
    nodes = session.execute(select(Node.id, Node.name, Node.role, Node.sip_address, Node.enabled).order_by(Node.role, Node.name))
    return [{"id": nid, "name": name, "role": role, "address": address, "enabled": enabled, "tenants": pinned.get(nid, [])}
            for nid, name, role, address, enabled in nodes.tuples()]


def dashboard():
    """What the cluster holds at a glance."""
    actor = current_actor()
    tenants = _tenant_rows(None if actor.is_superadmin else actor.tenant_id)
    totals = {"tenants": len(tenants), "users": sum(t["agents"] + t["robots"] for t in tenants),
              "dids": sum(t["dids"] for t in tenants)}
    nodes = _node_rows() if actor.is_superadmin else []
    failures = recent_failures(current_app.extensions).newest(50) if actor.is_superadmin else []
    return render_template("admin/dashboard.html", tenants=tenants, totals=totals, nodes=nodes, failures=failures)
