"""Tenant pinning: which media nodes serve a tenant, with weights. Keys are (tenant_id, node_id)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Node, Tenant, TenantNode
from ..schemas import PinningSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import ListParams, Page, flush, int_filter, load, paginate, snapshot
from .errors import CONSTRAINTS, Conflict, Invalid, NotFound

SCHEMA = PinningSchema()
Key = tuple[int, int]


def _entity_id(pin: TenantNode) -> str:
    return f"{pin.tenant_id}:{pin.node_id}"


def search(session: Session, actor: Actor, params: ListParams) -> Page[TenantNode]:
    """Pinnings; filters tenant_id, node_id; sort tenant_id, node_id, weight."""
    require_superadmin(actor, "pinning")
    return paginate(
        session, select(TenantNode), params,
        sortable={"tenant_id": TenantNode.tenant_id, "node_id": TenantNode.node_id, "weight": TenantNode.weight},
        default_sort=[TenantNode.tenant_id, TenantNode.weight.desc(), TenantNode.node_id],
        filters={"tenant_id": int_filter(TenantNode.tenant_id), "node_id": int_filter(TenantNode.node_id)},
    )


def get(session: Session, actor: Actor, key: Key) -> TenantNode:
    require_superadmin(actor, "pinning")
    pin = session.get(TenantNode, key)
    if pin is None:
        raise NotFound("no such pinning")
    return pin


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> TenantNode:
    """Pin a tenant to a media node (routers are never pinned)."""
    require_superadmin(actor, "pinning")
    data = load(SCHEMA, payload)
    errors: dict[str, list[str]] = {}
    if session.get(Tenant, data["tenant_id"]) is None:
        errors["tenant_id"] = ["no such tenant"]
    node = session.get(Node, data["node_id"])
    if node is None:
        errors["node_id"] = ["no such node"]
    elif node.role != "media":
        errors["node_id"] = [f"only media nodes can be pinned; {node.name} is a {node.role}"]
    if errors:
        raise Invalid("the pinning is not valid", errors)
    if session.get(TenantNode, (data["tenant_id"], data["node_id"])) is not None:
        message = CONSTRAINTS["pk_tenant_nodes"][1]
        raise Conflict(message, {"node_id": [message]}, constraint="pk_tenant_nodes")
    pin = TenantNode(**data)
    session.add(pin)
    flush(session)
    session.refresh(pin)
    audit.record(session, actor, "create", "pinning", _entity_id(pin), tenant_id=pin.tenant_id, after=snapshot(pin))
    return pin


def update(session: Session, actor: Actor, key: Key, payload: Mapping[str, Any]) -> TenantNode:
    """Change the weight (the tenant and node are the key: delete and re-create to move)."""
    pin = get(session, actor, key)
    data = load(SCHEMA, payload, partial=True)
    moved = {name: ["part of the key; delete this pinning and create another"]
             for name, current in (("tenant_id", pin.tenant_id), ("node_id", pin.node_id))
             if name in data and data[name] != current}
    if moved:
        raise Invalid("a pinning's tenant and node cannot change", moved)
    before = snapshot(pin)
    if "weight" in data:
        pin.weight = data["weight"]
    flush(session)
    audit.record(session, actor, "update", "pinning", _entity_id(pin), tenant_id=pin.tenant_id,
                 before=before, after=snapshot(pin))
    return pin


def delete(session: Session, actor: Actor, key: Key) -> None:
    pin = get(session, actor, key)
    before = snapshot(pin)
    session.delete(pin)
    flush(session)
    audit.record(session, actor, "delete", "pinning", f"{key[0]}:{key[1]}", tenant_id=key[0], before=before)
