"""Carrier gateways (superadmin only); the password is write-only."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Gateway, Route
from ..schemas import GatewaySchema
from ..schemas.gateway import register_credentials_errors
from . import audit
from .actor import Actor, require_superadmin
from .common import (apply, ListParams, Page, bool_filter, dependents, describe_dependents, flush, get_or_404, load,
                     paginate, search_filter, snapshot)
from .errors import CONSTRAINTS, Conflict, InUse, Invalid

SCHEMA = GatewaySchema()
FIELDS = ("name", "proxy", "realm", "username", "password", "register", "expire_seconds", "retry_seconds",
          "caller_id_in_from", "ping_seconds", "transport", "strip_digits", "prepend", "media_mode",
          "source_cidrs", "enabled")


def search(session: Session, actor: Actor, params: ListParams) -> Page[Gateway]:
    """Gateways; filters q (name, proxy), enabled, register; sort name, proxy."""
    require_superadmin(actor, "gateway")
    return paginate(
        session, select(Gateway), params,
        sortable={"id": Gateway.id, "name": Gateway.name, "proxy": Gateway.proxy},
        default_sort=[Gateway.name],
        filters={"q": search_filter(Gateway.name, Gateway.proxy), "enabled": bool_filter(Gateway.enabled),
                 "register": bool_filter(Gateway.register)},
    )


def get(session: Session, actor: Actor, gateway_id: int) -> Gateway:
    require_superadmin(actor, "gateway")
    return get_or_404(session, Gateway, gateway_id, "gateway")


def by_name(session: Session, name: str) -> Gateway | None:
    return session.scalars(select(Gateway).where(Gateway.name == name)).first()


def _check(session: Session, state: Mapping[str, Any], own_id: int | None) -> None:
    errors = register_credentials_errors(state)
    if errors:
        raise Invalid("a registering gateway needs a username and a password", errors)
    stmt = select(Gateway.id).where(Gateway.name == state["name"])
    if own_id is not None:
        stmt = stmt.where(Gateway.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_gateways_name"][1]
        raise Conflict(message, {"name": [message]}, constraint="uq_gateways_name")


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Gateway:
    require_superadmin(actor, "gateway")
    data = load(SCHEMA, payload)
    _check(session, data, None)
    gateway = Gateway(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(gateway)
    flush(session)
    session.refresh(gateway)
    audit.record(session, actor, "create", "gateway", gateway.id, after=snapshot(gateway))
    return gateway


def update(session: Session, actor: Actor, gateway_id: int, payload: Mapping[str, Any]) -> Gateway:
    """Change some fields; the register rule is checked on the result (e.g. register=true alone
    is fine when credentials are already stored)."""
    gateway = get(session, actor, gateway_id)
    data = load(SCHEMA, payload, partial=True)
    state = {**snapshot(gateway), **data}
    _check(session, state, gateway.id)
    before = snapshot(gateway)
    apply(gateway, data, FIELDS)
    flush(session)
    session.refresh(gateway)
    audit.record(session, actor, "update", "gateway", gateway.id, before=before, after=snapshot(gateway))
    return gateway


def delete(session: Session, actor: Actor, gateway_id: int) -> None:
    """Delete a gateway no route uses."""
    gateway = get(session, actor, gateway_id)
    found = dependents(session, [("routes", Route.id, Route.gateway_id == gateway.id)])
    if found:
        raise InUse(f"gateway {gateway.name} is still used by {describe_dependents(found)}", found)
    before = snapshot(gateway)
    session.delete(gateway)
    flush(session)
    audit.record(session, actor, "delete", "gateway", gateway_id, before=before)
