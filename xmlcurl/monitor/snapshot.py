"""Read the cluster snapshot back as plain data: for the admin pages, the API, /metrics and `xmlcurl status`.

`tenant_id` arguments scope a reading to one tenant (a tenant admin's own); None is every tenant.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import (ClusterGatewayState, ClusterNodeState, ClusterProfileState, ClusterRegistration,
                      ClusterTenantCalls, Node, Tenant, TenantNode)


def node_state(up: bool | None, monitored: bool) -> str:
    """up, down, unknown (not answered twice yet) or unmonitored (no event socket configured)."""
    if up is True:
        return "up"
    if up is False:
        return "down"
    return "unknown" if monitored else "unmonitored"


def nodes(session: Session, node_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """Every enabled node with its latest state, sofia profiles and registration count."""
    stmt = (select(Node, ClusterNodeState).outerjoin(ClusterNodeState, ClusterNodeState.node_id == Node.id)
            .where(Node.enabled.is_(True)).order_by(Node.role.desc(), Node.name))
    if node_ids is not None:
        stmt = stmt.where(Node.id.in_(node_ids))
    profiles: dict[int, list[dict[str, Any]]] = {}
    for p in session.scalars(select(ClusterProfileState).order_by(ClusterProfileState.node_id, ClusterProfileState.name)):
        profiles.setdefault(p.node_id, []).append({"name": p.name, "state": p.state, "seen_at": p.seen_at})
    regs = dict(session.execute(select(ClusterRegistration.node_id, func.count())
                                .group_by(ClusterRegistration.node_id)).tuples().all())
    out = []
    for node, state in session.execute(stmt).tuples():
        monitored = bool(node.esl_port and node.esl_password_enc)
        up = state.up if state is not None else None
        out.append({
            "id": node.id, "name": node.name, "role": node.role, "address": node.esl_address or node.sip_address,
            "state": node_state(up, monitored), "up": up,
            "since": state.since if state else None, "polled_at": state.polled_at if state else None,
            "seen_at": state.seen_at if state else None, "missed_polls": state.missed_polls if state else 0,
            "error": state.error if state else None, "uptime_seconds": state.uptime_seconds if state else None,
            "version": state.version if state else None, "calls": state.calls if state else None,
            "sessions_per_second": state.sessions_per_second if state else None,
            "max_sessions": state.max_sessions if state else None,
            "registrations": regs.get(node.id, 0), "profiles": profiles.get(node.id, []),
        })
    return out


def gateways(session: Session) -> list[dict[str, Any]]:
    """Every gateway every enabled node reported, with its node's state."""
    stmt = (select(ClusterGatewayState, Node.name, Node.role, ClusterNodeState.up)
            .join(Node, Node.id == ClusterGatewayState.node_id)
            .outerjoin(ClusterNodeState, ClusterNodeState.node_id == ClusterGatewayState.node_id)
            .where(Node.enabled.is_(True)).order_by(ClusterGatewayState.name, Node.name))
    return [{"node": node, "node_id": gw.node_id, "node_role": role, "node_up": up, "name": gw.name,
             "profile": gw.profile, "state": gw.state, "status": gw.status, "ping_ms": gw.ping_ms,
             "calls_in": gw.calls_in, "calls_out": gw.calls_out, "failed_calls_in": gw.failed_calls_in,
             "failed_calls_out": gw.failed_calls_out, "changed_at": gw.changed_at, "seen_at": gw.seen_at}
            for gw, node, role, up in session.execute(stmt).tuples()]


def registration_counts(session: Session) -> dict[int | None, int]:
    """Registrations per tenant id (None: a realm that is no tenant's domain)."""
    return dict(session.execute(select(ClusterRegistration.tenant_id, func.count())
                                .group_by(ClusterRegistration.tenant_id)).tuples().all())


def registrations(session: Session, tenant_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Registrations on every node (or one tenant's), by tenant, user and node; the first LIMIT when given."""
    stmt = (select(ClusterRegistration, Node.name, Tenant.code).join(Node, Node.id == ClusterRegistration.node_id)
            .outerjoin(Tenant, Tenant.id == ClusterRegistration.tenant_id)
            .order_by(ClusterRegistration.realm, ClusterRegistration.reg_user, Node.name))
    if tenant_id is not None:
        stmt = stmt.where(ClusterRegistration.tenant_id == tenant_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [{"tenant_id": r.tenant_id, "tenant": code, "user": r.reg_user, "realm": r.realm, "contact": r.contact,
             "network_ip": r.network_ip, "network_port": r.network_port, "network_proto": r.network_proto,
             "expires_at": r.expires_at, "node": node, "node_id": r.node_id, "seen_at": r.seen_at}
            for r, node, code in session.execute(stmt).tuples()]


def calls(session: Session, tenant_id: int | None = None) -> list[dict[str, Any]]:
    """Per tenant: calls up now on each node, the media-node total against max_calls, the routers' CPS against max_cps."""
    tenants = select(Tenant.id, Tenant.code, Tenant.max_calls, Tenant.max_cps).order_by(Tenant.code)
    rows = (select(ClusterTenantCalls, Node.name, Node.role).join(Node, Node.id == ClusterTenantCalls.node_id)
            .order_by(Node.role.desc(), Node.name))
    if tenant_id is not None:
        tenants = tenants.where(Tenant.id == tenant_id)
        rows = rows.where(ClusterTenantCalls.tenant_id == tenant_id)
    per_node: dict[int, list[dict[str, Any]]] = {}
    for row, node, role in session.execute(rows).tuples():
        per_node.setdefault(row.tenant_id, []).append({"node": node, "node_id": row.node_id, "role": role,
                                                       "calls": row.calls, "cps": row.cps, "seen_at": row.seen_at})
    out = []
    for tid, code, max_calls, max_cps in session.execute(tenants).tuples():
        nodes_ = per_node.get(tid, [])
        out.append({"tenant_id": tid, "tenant": code, "max_calls": max_calls, "max_cps": max_cps,
                    "calls": sum(n["calls"] for n in nodes_ if n["role"] == "media"),
                    "router_calls": sum(n["calls"] for n in nodes_ if n["role"] == "router"),
                    "cps": sum(n["cps"] for n in nodes_ if n["role"] == "router"), "nodes": nodes_})
    return out


def pinned_media(session: Session, tenant_id: int) -> list[int]:
    """The enabled media nodes a tenant is pinned to."""
    return list(session.scalars(select(TenantNode.node_id).join(Node, Node.id == TenantNode.node_id)
                                .where(TenantNode.tenant_id == tenant_id, Node.enabled.is_(True), Node.role == "media")))


def media_all_down(session: Session, tenant_id: int) -> list[str] | None:
    """The names of the tenant's media nodes when every one is down (the monitor says so), else None."""
    ids = pinned_media(session, tenant_id)
    if not ids:
        return None
    states = nodes(session, set(ids))
    if states and all(n["state"] == "down" for n in states):
        return [n["name"] for n in states]
    return None


def gateway_down_everywhere(session: Session, name: str) -> list[str] | None:
    """The routers when GATEWAY is down (pings failing, or the router down) on every enabled router, else None."""
    routers = [n for n in nodes(session) if n["role"] == "router"]
    if not routers:
        return None
    seen = {g["node_id"]: g for g in gateways(session) if g["name"] == name}
    for router in routers:
        gw = seen.get(router["id"])
        if router["state"] != "down" and (gw is None or gw["status"] != "DOWN"):
            return None
    return [r["name"] for r in routers]


def alerts(session: Session, tenant_id: int | None = None) -> list[dict[str, Any]]:
    """What is down now: nodes (for a tenant: its media nodes and the routers) and, for the whole cluster, gateways."""
    node_ids = None
    if tenant_id is not None:
        routers = set(session.scalars(select(Node.id).where(Node.role == "router")))
        node_ids = set(pinned_media(session, tenant_id)) | routers
    out = [{"kind": "node", "name": n["name"], "role": n["role"], "since": n["since"], "error": n["error"]}
           for n in nodes(session, node_ids) if n["state"] == "down"]
    if tenant_id is None:
        out += [{"kind": "gateway", "name": g["name"], "node": g["node"], "since": g["changed_at"], "state": g["state"]}
                for g in gateways(session) if g["status"] == "DOWN" and g["node_up"] is True]
    return out


def last_polled(session: Session) -> dt.datetime | None:
    """When the monitor last polled any node (None: it never ran)."""
    return session.scalar(select(func.max(ClusterNodeState.polled_at)))
