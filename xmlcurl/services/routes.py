"""Outbound routes (superadmin only): prefix -> gateway, for one tenant or all tenants (tenant_id null)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..limits import MAX_INT, parse_id
from ..models import Gateway, Route, Tenant
from ..schemas import RouteSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import (apply, ListParams, Page, bool_filter, exact_filter, flush, get_or_404, int_filter, load, paginate,
                     snapshot)
from .errors import CONSTRAINTS, Conflict, Invalid

SCHEMA = RouteSchema()
FIELDS = ("tenant_id", "prefix", "gateway_id", "priority", "weight", "enabled")


def _tenant_filter(value: str):
    """tenant_id=all (routes of every tenant), or a tenant id."""
    if value == "all":
        return Route.tenant_id.is_(None)
    return int_filter(Route.tenant_id)(value)


def _applies_to(value: str):
    """The routes a tenant's calls use: its own and those for all tenants."""
    ident = parse_id(value.strip())
    if ident is None:
        raise Invalid("bad filter", {"applies_to": [f"must be a whole number from 0 to {MAX_INT}"]})
    return or_(Route.tenant_id == ident, Route.tenant_id.is_(None))


def search(session: Session, actor: Actor, params: ListParams) -> Page[Route]:
    """Routes; filters tenant_id (an id or 'all'), applies_to (a tenant id: its own and all tenants'), gateway_id,
    prefix, enabled; sort prefix, priority, weight."""
    require_superadmin(actor, "route")
    return paginate(
        session, select(Route), params,
        sortable={"id": Route.id, "prefix": Route.prefix, "priority": Route.priority, "weight": Route.weight,
                  "tenant_id": Route.tenant_id, "gateway_id": Route.gateway_id},
        default_sort=[Route.prefix, Route.priority, Route.id],
        filters={"tenant_id": _tenant_filter, "applies_to": _applies_to, "gateway_id": int_filter(Route.gateway_id),
                 "prefix": exact_filter(Route.prefix), "enabled": bool_filter(Route.enabled)},
    )


def get(session: Session, actor: Actor, route_id: int) -> Route:
    require_superadmin(actor, "route")
    return get_or_404(session, Route, route_id, "route")


def check(session: Session, state: Mapping[str, Any], own_id: int | None) -> None:
    """Cross-row rules: the tenant and gateway exist; (tenant, prefix, gateway) is unique."""
    errors: dict[str, list[str]] = {}
    if state.get("tenant_id") is not None and session.get(Tenant, state["tenant_id"]) is None:
        errors["tenant_id"] = ["no such tenant"]
    if session.get(Gateway, state["gateway_id"]) is None:
        errors["gateway_id"] = ["no such gateway"]
    if errors:
        raise Invalid("the route is not valid", errors)
    tenant_id = state.get("tenant_id")
    stmt = select(Route.id).where(
        Route.tenant_id.is_(None) if tenant_id is None else Route.tenant_id == tenant_id,
        Route.prefix == state.get("prefix", ""), Route.gateway_id == state["gateway_id"],
    )
    if own_id is not None:
        stmt = stmt.where(Route.id != own_id)
    if session.scalar(stmt) is not None:
        constraint = "uq_routes_tenant_scope_prefix_gateway_id"
        message = CONSTRAINTS[constraint][1]
        raise Conflict(message, {"prefix": [message]}, constraint=constraint)


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Route:
    require_superadmin(actor, "route")
    data = load(SCHEMA, payload)
    check(session, data, None)
    route = Route(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(route)
    flush(session)
    session.refresh(route)
    audit.record(session, actor, "create", "route", route.id, tenant_id=route.tenant_id, after=snapshot(route))
    return route


def update(session: Session, actor: Actor, route_id: int, payload: Mapping[str, Any]) -> Route:
    route = get(session, actor, route_id)
    data = load(SCHEMA, payload, partial=True)
    check(session, {**snapshot(route), **data}, route.id)
    before = snapshot(route)
    apply(route, data, FIELDS)
    flush(session)
    session.refresh(route)
    audit.record(session, actor, "update", "route", route.id, tenant_id=route.tenant_id,
                 before=before, after=snapshot(route))
    return route


def delete(session: Session, actor: Actor, route_id: int) -> None:
    route = get(session, actor, route_id)
    before = snapshot(route)
    session.delete(route)
    flush(session)
    audit.record(session, actor, "delete", "route", route_id, tenant_id=before["tenant_id"], before=before)
