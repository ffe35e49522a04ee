"""Nodes: media nodes and routers with their xml_curl HTTP credentials (secret stored as argon2)."""
from __future__ import annotations

from typing import Any, Mapping

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import secrets
from ..models import Node, TenantNode
from ..push.secret import EslKeyError, encrypt_secret
from ..schemas import NodeSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import (apply, ListParams, Page, bool_filter, dependents, describe_dependents, exact_filter, flush,
                     get_or_404, load, paginate, search_filter, snapshot)
from .errors import CONSTRAINTS, Conflict, InUse, Invalid

SCHEMA = NodeSchema()
FIELDS = ("name", "role", "sip_address", "sip_port", "cluster_port", "http_username", "allowed_sources",
          "esl_port", "enabled")


def search(session: Session, actor: Actor, params: ListParams) -> Page[Node]:
    """Nodes; filters q (name, address), role, enabled; sort name, role, sip_address."""
    require_superadmin(actor, "node")
    return paginate(
        session, select(Node), params,
        sortable={"id": Node.id, "name": Node.name, "role": Node.role, "sip_address": Node.sip_address},
        default_sort=[Node.name],
        filters={"q": search_filter(Node.name, Node.sip_address), "role": exact_filter(Node.role),
                 "enabled": bool_filter(Node.enabled)},
    )


def get(session: Session, actor: Actor, node_id: int) -> Node:
    require_superadmin(actor, "node")
    return get_or_404(session, Node, node_id, "node")


def _check_unique(session: Session, data: Mapping[str, Any], own_id: int | None) -> None:
    for field, constraint in (("name", "uq_nodes_name"), ("http_username", "uq_nodes_http_username")):
        if field in data:
            stmt = select(Node.id).where(getattr(Node, field) == data[field])
            if own_id is not None:
                stmt = stmt.where(Node.id != own_id)
            if session.scalar(stmt) is not None:
                message = CONSTRAINTS[constraint][1]
                raise Conflict(message, {field: [message]}, constraint=constraint)


def _store_session_dsn(node: Node, data: Mapping[str, Any]) -> None:
    """Encrypt a given session database DSN onto the row (None removes it); absent: keep the stored one."""
    if "session_db_dsn" not in data:
        return
    if data["session_db_dsn"] is None:
        node.session_db_dsn_enc = None
        return
    try:
        node.session_db_dsn_enc = encrypt_secret(current_app.config["XMLCURL"], data["session_db_dsn"],
                                                 "a session database DSN")
    except (EslKeyError, ValueError) as exc:
        raise Invalid("the session database DSN cannot be stored", {"session_db_dsn": [str(exc)]}) from None


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Node:
    """Create a node; http_username defaults to the name (the switchname xml_curl sends)."""
    require_superadmin(actor, "node")
    data = load(SCHEMA, payload)
    if data.get("http_username") is None:
        data["http_username"] = data["name"]
    _check_unique(session, data, None)
    node = Node(http_secret_hash=secrets.hash_node_secret(data["http_secret"]),
                **{k: v for k, v in data.items() if k in FIELDS})
    _store_session_dsn(node, data)
    session.add(node)
    flush(session)
    session.refresh(node)
    audit.record(session, actor, "create", "node", node.id, after=snapshot(node))
    return node


def update(session: Session, actor: Actor, node_id: int, payload: Mapping[str, Any]) -> Node:
    """Change some fields; giving http_secret rotates the secret. A pinned media node stays media."""
    node = get(session, actor, node_id)
    data = load(SCHEMA, payload, partial=True)
    if "http_username" in data and data["http_username"] is None:
        data["http_username"] = data.get("name", node.name)
    _check_unique(session, data, node.id)
    if data.get("role", node.role) != "media" and node.role == "media":
        found = dependents(session, [("pinned_tenants", TenantNode.tenant_id, TenantNode.node_id == node.id)])
        if found:
            message = f"node {node.name} serves {describe_dependents(found)}: unpin them before making it a router"
            raise Conflict(message, {"role": [message], "dependents": found})
    before = snapshot(node)
    apply(node, data, FIELDS)
    if "http_secret" in data:
        node.http_secret_hash = secrets.hash_node_secret(data["http_secret"])
    _store_session_dsn(node, data)
    flush(session)
    session.refresh(node)
    audit.record(session, actor, "update", "node", node.id, before=before, after=snapshot(node))
    return node


def delete(session: Session, actor: Actor, node_id: int) -> None:
    """Delete a node no tenant is pinned to."""
    node = get(session, actor, node_id)
    found = dependents(session, [("pinned_tenants", TenantNode.tenant_id, TenantNode.node_id == node.id)])
    if found:
        raise InUse(f"node {node.name} still serves {describe_dependents(found)}", found)
    before = snapshot(node)
    session.delete(node)
    flush(session)
    audit.record(session, actor, "delete", "node", node_id, before=before)
