"""Approved caller IDs: the numbers a tenant's users may present besides its DIDs. A superadmin
manages them; a tenant admin may read its own tenant's (to know what its users may use)."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import callerid
from ..fetch.callerids import approved_numbers
from ..models import ApprovedCallerId, Tenant
from ..schemas import ApprovedCallerIdSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import apply, ListParams, Page, exact_filter, flush, int_filter, load, paginate, snapshot
from .errors import CONSTRAINTS, Conflict, Invalid, NotFound

SCHEMA = ApprovedCallerIdSchema()
FIELDS = ("tenant_id", "number", "note")

NOT_APPROVED = ("is not approved for this tenant: a user may present only the tenant's DIDs and the numbers "
                "the operator approved for it (ask a superadmin to approve it)")


def search(session: Session, actor: Actor, params: ListParams) -> Page[ApprovedCallerId]:
    """Approved numbers (a tenant admin sees its own tenant's); filters tenant_id, number."""
    stmt = select(ApprovedCallerId)
    if not actor.is_superadmin:
        stmt = stmt.where(ApprovedCallerId.tenant_id == actor.tenant_id)
    return paginate(
        session, stmt, params,
        sortable={"id": ApprovedCallerId.id, "number": ApprovedCallerId.number,
                  "tenant_id": ApprovedCallerId.tenant_id, "created_at": ApprovedCallerId.created_at},
        default_sort=[ApprovedCallerId.tenant_id, ApprovedCallerId.number],
        filters={"tenant_id": int_filter(ApprovedCallerId.tenant_id), "number": exact_filter(ApprovedCallerId.number)},
    )


def get(session: Session, actor: Actor, ident: int) -> ApprovedCallerId:
    row = session.get(ApprovedCallerId, ident)
    if row is None or not actor.can_see_tenant(row.tenant_id):
        raise NotFound("no such approved caller ID")
    return row


def _check(session: Session, state: Mapping[str, Any], own_id: int | None) -> None:
    if session.get(Tenant, state["tenant_id"]) is None:
        raise Invalid("no such tenant", {"tenant_id": ["no such tenant"]})
    stmt = select(ApprovedCallerId.id).where(ApprovedCallerId.tenant_id == state["tenant_id"],
                                             ApprovedCallerId.number == state["number"])
    if own_id is not None:
        stmt = stmt.where(ApprovedCallerId.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_approved_caller_ids_tenant_id_number"][1]
        raise Conflict(message, {"number": [message]}, constraint="uq_approved_caller_ids_tenant_id_number")


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> ApprovedCallerId:
    require_superadmin(actor, "approved caller ID")
    data = load(SCHEMA, payload)
    _check(session, data, None)
    row = ApprovedCallerId(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(row)
    flush(session)
    session.refresh(row)
    audit.record(session, actor, "create", "approved_caller_id", row.id, tenant_id=row.tenant_id, after=snapshot(row))
    return row


def update(session: Session, actor: Actor, ident: int, payload: Mapping[str, Any]) -> ApprovedCallerId:
    require_superadmin(actor, "approved caller ID")
    row = get(session, actor, ident)
    data = load(SCHEMA, payload, partial=True)
    _check(session, {**snapshot(row), **data}, row.id)
    before = snapshot(row)
    apply(row, data, FIELDS)
    flush(session)
    session.refresh(row)
    audit.record(session, actor, "update", "approved_caller_id", row.id, tenant_id=row.tenant_id,
                 before=before, after=snapshot(row))
    return row


def delete(session: Session, actor: Actor, ident: int) -> None:
    """Withdraw an approval; users still set to the number fall back to the tenant's default (logged)."""
    require_superadmin(actor, "approved caller ID")
    row = get(session, actor, ident)
    before = snapshot(row)
    session.delete(row)
    flush(session)
    audit.record(session, actor, "delete", "approved_caller_id", ident, tenant_id=before["tenant_id"], before=before)


def presentable_errors(approved: frozenset[str], numbers: Mapping[str, str | None]) -> dict[str, list[str]]:
    """{field: [why]} for each given number (field -> value) the tenant may not present."""
    return {name: [f"{value} {NOT_APPROVED}"] for name, value in numbers.items()
            if value and callerid.bare(value) not in approved}


def check_presentable(session: Session, tenant_id: int, numbers: Mapping[str, str | None]) -> None:
    """Invalid (422) naming every given number the tenant may not present."""
    if not any(numbers.values()):
        return
    errors = presentable_errors(approved_numbers(session, tenant_id), numbers)
    if errors:
        raise Invalid("a caller ID number is not approved for this tenant", errors)
