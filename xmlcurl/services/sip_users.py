"""SIP users of a tenant: the password is taken in plaintext and stored only as the a1-hash."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .. import secrets
from ..models import Did, SipUser, SipUserVariable, Tenant
from ..schemas import SipUserSchema
from . import audit, caller_ids
from .actor import Actor
from .common import (apply, ListParams, Page, bool_filter, dependents, describe_dependents, exact_filter, flush, int_filter,
                     load, paginate, search_filter, snapshot)
from .errors import CONSTRAINTS, Conflict, InUse, Invalid, NotFound
from .scope import tenant_for_write

SCHEMA = SipUserSchema()
FIELDS = ("username", "kind", "cid_name", "cid_number", "outbound_cid_name", "outbound_cid_number", "enabled")
#: The numbers a user presents: each must be approved for its tenant (services/caller_ids.py).
CALLER_NUMBERS = ("cid_number", "outbound_cid_number")


def audit_state(user: SipUser) -> dict[str, Any]:
    state = snapshot(user)
    state["variables"] = [{"name": v.name, "value": v.value} for v in user.variables]
    return state


def search(session: Session, actor: Actor, params: ListParams) -> Page[SipUser]:
    """Users (a tenant admin sees its own tenant's); filters q, tenant_id, username, kind, enabled;
    sort username, tenant_id, kind, created_at."""
    stmt = select(SipUser).options(selectinload(SipUser.variables))
    if not actor.is_superadmin:
        stmt = stmt.where(SipUser.tenant_id == actor.tenant_id)
    return paginate(
        session, stmt, params,
        sortable={"id": SipUser.id, "username": SipUser.username, "tenant_id": SipUser.tenant_id,
                  "kind": SipUser.kind, "created_at": SipUser.created_at},
        default_sort=[SipUser.tenant_id, SipUser.username],
        filters={"q": search_filter(SipUser.username, SipUser.cid_name), "tenant_id": int_filter(SipUser.tenant_id),
                 "username": exact_filter(SipUser.username), "kind": exact_filter(SipUser.kind),
                 "enabled": bool_filter(SipUser.enabled)},
    )


def get(session: Session, actor: Actor, user_id: int) -> SipUser:
    user = session.get(SipUser, user_id)
    if user is None or not actor.can_see_tenant(user.tenant_id):
        raise NotFound("no such SIP user")
    return user


def _check_username(session: Session, tenant_id: int, username: str, own_id: int | None) -> None:
    stmt = select(SipUser.id).where(SipUser.tenant_id == tenant_id, SipUser.username == username)
    if own_id is not None:
        stmt = stmt.where(SipUser.id != own_id)
    if session.scalar(stmt) is not None:
        message = CONSTRAINTS["uq_sip_users_tenant_id_username"][1]
        raise Conflict(message, {"username": [message]}, constraint="uq_sip_users_tenant_id_username")


def _check_variables(variables: Sequence[Mapping[str, str]]) -> None:
    # Channel variable names are case-insensitive: X_a and x_a would be the same variable.
    seen: set[str] = set()
    for index, var in enumerate(variables):
        if var["name"].lower() in seen:
            raise Invalid("a variable name appears twice", {"variables": {index: {"name": ["appears twice"]}}})
        seen.add(var["name"].lower())


def _set_variables(user: SipUser, variables: Sequence[Mapping[str, str]]) -> None:
    """Replace the variables in place (updating rows by name keeps the unique key valid mid-flush)."""
    wanted = {var["name"]: var["value"] for var in variables}
    for var in list(user.variables):
        if var.name in wanted:
            var.value = wanted.pop(var.name)
        else:
            user.variables.remove(var)
    for name, value in wanted.items():
        user.variables.append(SipUserVariable(name=name, value=value))


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> SipUser:
    data = load(SCHEMA, payload)
    tenant = tenant_for_write(session, actor, data.get("tenant_id"))
    _check_username(session, tenant.id, data["username"], None)
    _check_variables(data.get("variables", []))
    caller_ids.check_presentable(session, tenant.id, {name: data.get(name) for name in CALLER_NUMBERS})
    user = SipUser(tenant_id=tenant.id, a1_hash=secrets.sip_a1_hash(data["username"], tenant.sip_domain, data["password"]),
                   **{k: v for k, v in data.items() if k in FIELDS})
    _set_variables(user, data.get("variables", []))
    session.add(user)
    flush(session)
    session.refresh(user)
    audit.record(session, actor, "create", "sip_user", user.id, tenant_id=tenant.id, after=audit_state(user))
    return user


def update(session: Session, actor: Actor, user_id: int, payload: Mapping[str, Any]) -> SipUser:
    """Change some fields. A new username needs the password again (the a1-hash covers both);
    a user without a credential (its tenant's domain changed) is enabled only with a new password."""
    user = get(session, actor, user_id)
    data = load(SCHEMA, payload, partial=True)
    if data.get("tenant_id") is None:
        data.pop("tenant_id", None)
    if "tenant_id" in data and data["tenant_id"] != user.tenant_id:
        raise Invalid("a user cannot move to another tenant", {"tenant_id": ["cannot change; create the user in the other tenant"]})
    errors: dict[str, list[str]] = {}
    renamed = "username" in data and data["username"] != user.username
    if renamed and "password" not in data:
        errors["password"] = ["a new username needs the password again (the stored hash covers both)"]
    if data.get("enabled", user.enabled) and not user.a1_hash and "password" not in data:
        errors["password"] = ["this user has no credential (its tenant's SIP domain changed): set a new password"]
    if errors:
        raise Invalid("some fields are not valid", errors)
    if renamed:
        _check_username(session, user.tenant_id, data["username"], user.id)
    if "variables" in data:
        _check_variables(data["variables"])
    # Only numbers being set are checked: a stored one whose approval was withdrawn is not in the way
    # of other changes (the answers already leave it out).
    caller_ids.check_presentable(session, user.tenant_id, {name: data[name] for name in CALLER_NUMBERS
                                                           if name in data and data[name] != getattr(user, name)})
    before = audit_state(user)
    apply(user, data, FIELDS)
    if "password" in data:
        tenant = session.get(Tenant, user.tenant_id)
        user.a1_hash = secrets.sip_a1_hash(user.username, tenant.sip_domain, data["password"])
    if "variables" in data:
        _set_variables(user, data["variables"])
    flush(session)
    session.refresh(user)
    audit.record(session, actor, "update", "sip_user", user.id, tenant_id=user.tenant_id,
                 before=before, after=audit_state(user))
    return user


def delete(session: Session, actor: Actor, user_id: int) -> None:
    """Delete a user no DID rings (its variables go with it)."""
    user = get(session, actor, user_id)
    found = dependents(session, [("dids", Did.id, Did.user_id == user.id)])
    if found:
        raise InUse(f"user {user.username} is still the destination of {describe_dependents(found)}", found)
    before = audit_state(user)
    tenant_id = user.tenant_id
    session.delete(user)
    flush(session)
    audit.record(session, actor, "delete", "sip_user", user_id, tenant_id=tenant_id, before=before)
