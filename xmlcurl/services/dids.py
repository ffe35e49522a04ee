"""DIDs: inbound numbers in a tenant's stock, each ringing one of that tenant's users (or nobody yet).

A superadmin assigns numbers to tenants (one, or a range at a time) and may change or take them
back; a tenant admin only points its own tenant's DIDs at its users (or at nobody) and enables or
disables them. A tenant admin never learns whether a number outside its stock exists: other
tenants' DIDs answer 'not found' like numbers nobody holds, and it cannot create DIDs at all.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..models import Did, SipUser, Tenant
from ..schemas import DidRangeSchema, DidSchema
from . import audit
from .actor import Actor, require_superadmin
from .common import apply, ListParams, Page, bool_filter, exact_filter, flush, int_filter, load, paginate, snapshot
from .errors import CONSTRAINTS, Conflict, Forbidden, Invalid, NotFound
from .scope import tenant_for_write

SCHEMA = DidSchema()
RANGE_SCHEMA = DidRangeSchema()
FIELDS = ("number", "tenant_id", "user_id", "enabled")
#: What a tenant admin may change on its own tenant's DIDs.
TENANT_ADMIN_FIELDS = ("user_id", "enabled")
#: The most numbers one range assignment creates.
MAX_RANGE = 10_000
CHUNK = 1000

ASSIGNED_BY_OPERATOR = ("DIDs are assigned to tenants by the operator (a superadmin): ask for numbers, then "
                        "point one of your DIDs at a user")


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


def check_user(session: Session, state: Mapping[str, Any]) -> None:
    """The user a DID rings, if any, is one of the DID's tenant's."""
    if state.get("user_id") is None:
        return
    user = session.get(SipUser, state["user_id"])
    if user is None or user.tenant_id != state["tenant_id"]:
        raise Invalid("the user is not one of this tenant's", {"user_id": ["no such user in this tenant"]})


def _check_number_free(session: Session, number: str, own_id: int | None) -> None:
    # Only a superadmin gets here: it sees every tenant's numbers anyway.
    stmt = select(Did.id).where(Did.number == number)
    if own_id is not None:
        stmt = stmt.where(Did.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_dids_number"][1]
        raise Conflict(message, {"number": [message]}, constraint="uq_dids_number")


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Did:
    """Assign one number to a tenant (superadmin), optionally ringing one of its users already."""
    if not actor.is_superadmin:
        # Before reading the input: the answer is the same whatever number is asked for.
        raise Forbidden(ASSIGNED_BY_OPERATOR)
    data = load(SCHEMA, payload)
    tenant = tenant_for_write(session, actor, data.get("tenant_id"))
    data["tenant_id"] = tenant.id
    check_user(session, data)
    _check_number_free(session, data["number"], None)
    did = Did(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(did)
    flush(session)
    session.refresh(did)
    audit.record(session, actor, "create", "did", did.id, tenant_id=did.tenant_id, after=snapshot(did))
    return did


def _tenant_admin_changes(did: Did, data: Mapping[str, Any]) -> None:
    """A tenant admin may set the user and enabled; the number and the tenant are the operator's."""
    errors = {name: ["only the operator (a superadmin) changes a DID's number or tenant"]
              for name in ("number", "tenant_id") if name in data and data[name] != getattr(did, name)}
    if errors:
        raise Invalid("only the user and enabled of a DID can be changed", errors)


def update(session: Session, actor: Actor, did_id: int, payload: Mapping[str, Any]) -> Did:
    did = get(session, actor, did_id)
    data = load(SCHEMA, payload, partial=True)
    if data.get("tenant_id") is None:
        data.pop("tenant_id", None)
    if not actor.is_superadmin:
        _tenant_admin_changes(did, data)
    if "tenant_id" in data and data["tenant_id"] != did.tenant_id:
        tenant_for_write(session, actor, data["tenant_id"])
        if "user_id" not in data:
            # The old tenant's user cannot ring a number the new tenant holds.
            data["user_id"] = None
    state = {**snapshot(did), **data}
    check_user(session, state)
    if data.get("number", did.number) != did.number:
        _check_number_free(session, data["number"], did.id)
    before = snapshot(did)
    apply(did, data, FIELDS)
    flush(session)
    session.refresh(did)
    audit.record(session, actor, "update", "did", did.id, tenant_id=did.tenant_id, before=before, after=snapshot(did))
    return did


def delete(session: Session, actor: Actor, did_id: int) -> None:
    """Take a number back from its tenant (superadmin); a tenant admin can point it at nobody instead."""
    did = get(session, actor, did_id)
    if not actor.is_superadmin:
        raise Forbidden("only the operator (a superadmin) takes a DID back from a tenant; to stop it ringing, "
                        "clear its user or disable it")
    before = snapshot(did)
    session.delete(did)
    flush(session)
    audit.record(session, actor, "delete", "did", did_id, tenant_id=before["tenant_id"], before=before)


def range_numbers(first: str, last: str) -> list[str]:
    """Every number from first to last (same length, leading zeros kept); Invalid for a bad range."""
    if len(first) != len(last):
        raise Invalid("the range's ends differ in length", {"last": ["must have as many digits as first"]})
    low, high = int(first), int(last)
    if high < low:
        raise Invalid("the range ends before it starts", {"last": ["must not be below first"]})
    if high - low + 1 > MAX_RANGE:
        raise Invalid("the range is too large", {"last": [f"at most {MAX_RANGE} numbers at a time"]})
    return [str(n).zfill(len(first)) for n in range(low, high + 1)]


def taken_numbers(session: Session, numbers: list[str]) -> list[str]:
    """The numbers already held by a tenant, in order."""
    taken: set[str] = set()
    for start in range(0, len(numbers), CHUNK):
        taken.update(session.scalars(select(Did.number).where(Did.number.in_(numbers[start:start + CHUNK]))))
    return [n for n in numbers if n in taken]


def add_stock(session: Session, actor: Actor, tenant_id: int, numbers: list[str], enabled: bool = True) -> int:
    """Insert free numbers into a tenant's stock (ringing nobody), each audited; returns how many."""
    rows = [{"number": n, "tenant_id": tenant_id, "user_id": None, "enabled": enabled} for n in numbers]
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(Did), rows[start:start + CHUNK])
    ids: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        ids.update(list(session.execute(select(Did.number, Did.id).where(Did.number.in_(numbers[start:start + CHUNK]))).tuples()))
    entries = audit.rows(actor, "create", "did", [(ids[row["number"]], tenant_id, {**row, "id": ids[row["number"]]})
                                                   for row in rows])
    audit.add_rows(session, entries)
    return len(rows)


def assign_range(session: Session, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Assign every number from first to last to a tenant's stock (superadmin): all of them, or none if any is taken."""
    require_superadmin(actor, "DID range")
    data = load(RANGE_SCHEMA, payload)
    if session.get(Tenant, data["tenant_id"]) is None:
        raise Invalid("no such tenant", {"tenant_id": ["no such tenant"]})
    numbers = range_numbers(data["first"], data["last"])
    taken = taken_numbers(session, numbers)
    if taken:
        shown = ", ".join(taken[:10]) + (f" and {len(taken) - 10} more" if len(taken) > 10 else "")
        raise Conflict(f"{len(taken)} numbers of the range are already DIDs: {shown}; nothing was assigned",
                       {"first": [f"already DIDs: {shown}"], "taken": taken[:100]}, constraint="uq_dids_number")
    created = add_stock(session, actor, data["tenant_id"], numbers, data.get("enabled", True))
    return {**data, "created": created}
