"""DIDs: inbound numbers of a tenant, each ringing one of that tenant's users."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Did, SipUser
from ..schemas import DidSchema
from . import audit
from .actor import Actor
from .common import ListParams, Page, bool_filter, exact_filter, flush, int_filter, load, paginate, snapshot
from .errors import CONSTRAINTS, Conflict, Invalid, NotFound
from .scope import tenant_for_write

SCHEMA = DidSchema()
FIELDS = ("number", "tenant_id", "user_id", "enabled")


def _number_filter(value: str):
    return Did.number.startswith(value, autoescape=True)


def search(session: Session, actor: Actor, params: ListParams) -> Page[Did]:
    """DIDs (a tenant admin sees its own tenant's); filters number (prefix), tenant_id, user_id, enabled."""
    stmt = select(Did)
    if not actor.is_superadmin:
        stmt = stmt.where(Did.tenant_id == actor.tenant_id)
    return paginate(
        session, stmt, params,
        sortable={"id": Did.id, "number": Did.number, "tenant_id": Did.tenant_id, "created_at": Did.created_at},
        default_sort=[Did.number],
        filters={"number": _number_filter, "exact_number": exact_filter(Did.number),
                 "tenant_id": int_filter(Did.tenant_id), "user_id": int_filter(Did.user_id),
                 "enabled": bool_filter(Did.enabled)},
    )


def get(session: Session, actor: Actor, did_id: int) -> Did:
    did = session.get(Did, did_id)
    if did is None or not actor.can_see_tenant(did.tenant_id):
        raise NotFound("no such DID")
    return did


def check(session: Session, state: Mapping[str, Any], own_id: int | None) -> None:
    """Cross-row rules: the user belongs to the DID's tenant; the number is not taken."""
    user = session.get(SipUser, state["user_id"])
    if user is None or user.tenant_id != state["tenant_id"]:
        raise Invalid("the user is not one of this tenant's", {"user_id": ["no such user in this tenant"]})
    stmt = select(Did.id).where(Did.number == state["number"])
    if own_id is not None:
        stmt = stmt.where(Did.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_dids_number"][1]
        raise Conflict(message, {"number": [message]}, constraint="uq_dids_number")


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Did:
    data = load(SCHEMA, payload)
    tenant = tenant_for_write(session, actor, data.get("tenant_id"))
    data["tenant_id"] = tenant.id
    check(session, data, None)
    did = Did(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(did)
    flush(session)
    session.refresh(did)
    audit.record(session, actor, "create", "did", did.id, tenant_id=did.tenant_id, after=snapshot(did))
    return did


def update(session: Session, actor: Actor, did_id: int, payload: Mapping[str, Any]) -> Did:
    did = get(session, actor, did_id)
    data = load(SCHEMA, payload, partial=True)
    if data.get("tenant_id") is None:
        data.pop("tenant_id", None)
    if "tenant_id" in data and data["tenant_id"] != did.tenant_id:
        tenant_for_write(session, actor, data["tenant_id"])
    check(session, {**snapshot(did), **data}, did.id)
    before = snapshot(did)
    for name in FIELDS:
        if name in data:
            setattr(did, name, data[name])
    flush(session)
    session.refresh(did)
    audit.record(session, actor, "update", "did", did.id, tenant_id=did.tenant_id, before=before, after=snapshot(did))
    return did


def delete(session: Session, actor: Actor, did_id: int) -> None:
    did = get(session, actor, did_id)
    before = snapshot(did)
    session.delete(did)
    flush(session)
    audit.record(session, actor, "delete", "did", did_id, tenant_id=before["tenant_id"], before=before)
