"""Tenants: create, change, delete; a SIP domain change voids the users' a1-hashes, so it must be confirmed."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import func, select, update as sql_update
from sqlalchemy.orm import Session

from ..models import AdminUser, ApprovedCallerId, Did, Route, SipUser, Tenant
from ..schemas import TenantSchema
from ..schemas.tenant import default_context
from . import audit, caller_ids
from .actor import Actor, require_superadmin
from .common import (ListParams, Page, bool_filter, describe_dependents, dependents, exact_filter, flush,
                     get_or_404, load, paginate, search_filter, snapshot)
from .errors import CONSTRAINTS, Conflict, InUse, Invalid

SCHEMA = TenantSchema()
FIELDS = ("code", "name", "sip_domain", "context", "max_calls", "max_cps", "default_cid_number",
          "default_cid_name", "country_code", "national_prefix", "international_prefix", "enabled")
UNIQUE = (("code", "uq_tenants_code"), ("sip_domain", "uq_tenants_sip_domain"), ("context", "uq_tenants_context"))


def search(session: Session, actor: Actor, params: ListParams) -> Page[Tenant]:
    """Tenants; filters q (code, name, domain), code, enabled; sort code, name, sip_domain, created_at."""
    require_superadmin(actor, "tenant")
    return paginate(
        session, select(Tenant), params,
        sortable={"id": Tenant.id, "code": Tenant.code, "name": Tenant.name, "sip_domain": Tenant.sip_domain,
                  "created_at": Tenant.created_at},
        default_sort=[Tenant.code],
        filters={"q": search_filter(Tenant.code, Tenant.name, Tenant.sip_domain), "code": exact_filter(Tenant.code),
                 "enabled": bool_filter(Tenant.enabled)},
    )


def get(session: Session, actor: Actor, tenant_id: int) -> Tenant:
    require_superadmin(actor, "tenant")
    return get_or_404(session, Tenant, tenant_id, "tenant")


def by_code(session: Session, code: str) -> Tenant | None:
    return session.scalars(select(Tenant).where(Tenant.code == code)).first()


def _check_unique(session: Session, data: Mapping[str, Any], own_id: int | None) -> None:
    for field, constraint in UNIQUE:
        if field in data:
            stmt = select(Tenant.id).where(getattr(Tenant, field) == data[field])
            if own_id is not None:
                stmt = stmt.where(Tenant.id != own_id)
            if session.scalar(stmt) is not None:
                message = CONSTRAINTS[constraint][1]
                raise Conflict(message, {field: [message]}, constraint=constraint)


def create(session: Session, actor: Actor, payload: Mapping[str, Any]) -> Tenant:
    require_superadmin(actor, "tenant")
    data = load(SCHEMA, payload)
    data.pop("confirm_new_domain", None)
    if data.get("context") is None:
        data["context"] = default_context(data["code"])
    _check_unique(session, data, None)
    if data.get("default_cid_number"):
        # A new tenant has no DIDs nor approved numbers yet: nothing it could present.
        message = (f"{data['default_cid_number']} {caller_ids.NOT_APPROVED}; create the tenant without it, "
                   "approve the number or assign it a DID, then set the default")
        raise Invalid("the default caller ID number is not approved for this tenant", {"default_cid_number": [message]})
    tenant = Tenant(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(tenant)
    flush(session)
    session.refresh(tenant)
    audit.record(session, actor, "create", "tenant", tenant.id, tenant_id=tenant.id, after=snapshot(tenant))
    return tenant


def user_count(session: Session, tenant_id: int) -> int:
    return session.scalar(select(func.count()).select_from(SipUser).where(SipUser.tenant_id == tenant_id)) or 0


def update(session: Session, actor: Actor, tenant_id: int, payload: Mapping[str, Any]) -> Tenant:
    """Change some fields. A new SIP domain needs confirm_new_domain=true when the tenant has users:
    their a1-hashes are then cleared and the users disabled until each is given a new password."""
    tenant = get(session, actor, tenant_id)
    data = load(SCHEMA, payload, partial=True)
    confirmed = data.pop("confirm_new_domain", False)
    if "context" in data and data["context"] is None:
        data["context"] = default_context(data.get("code", tenant.code))
    _check_unique(session, data, tenant.id)
    if data.get("default_cid_number") not in (None, tenant.default_cid_number):
        caller_ids.check_presentable(session, tenant.id, {"default_cid_number": data["default_cid_number"]})
    before = snapshot(tenant)
    voided = 0
    if "sip_domain" in data and data["sip_domain"] != tenant.sip_domain:
        users = user_count(session, tenant.id)
        if users and not confirmed:
            message = (f"changing the SIP domain requires new passwords for its {users} users: send "
                       "confirm_new_domain=true to clear their credentials and disable them, then set a new "
                       "password for each (a user's credential is a hash of its username, domain and password)")
            raise Invalid(message, {"sip_domain": [message]})
        if users:
            voided = session.execute(
                sql_update(SipUser).where(SipUser.tenant_id == tenant.id).values(a1_hash="", enabled=False)
            ).rowcount
    for name in FIELDS:
        if name in data:
            setattr(tenant, name, data[name])
    flush(session)
    session.refresh(tenant)
    after = snapshot(tenant)
    if voided:
        after["users_disabled_for_new_domain"] = voided
    audit.record(session, actor, "update", "tenant", tenant.id, tenant_id=tenant.id, before=before, after=after)
    return tenant


def delete(session: Session, actor: Actor, tenant_id: int) -> None:
    """Delete a tenant without users, DIDs, routes, admin users or approved caller IDs (its pinnings go with it)."""
    tenant = get(session, actor, tenant_id)
    found = dependents(session, [
        ("sip_users", SipUser.id, SipUser.tenant_id == tenant.id),
        ("dids", Did.id, Did.tenant_id == tenant.id),
        ("routes", Route.id, Route.tenant_id == tenant.id),
        ("admin_users", AdminUser.id, AdminUser.tenant_id == tenant.id),
        ("caller_ids", ApprovedCallerId.id, ApprovedCallerId.tenant_id == tenant.id),
    ])
    if found:
        raise InUse(f"tenant {tenant.code} still has {describe_dependents(found)}", found)
    before = snapshot(tenant)
    # The pinnings go with the tenant (ON DELETE CASCADE): record them in the same entry.
    before["pinnings"] = [{"node_id": pin.node_id, "weight": pin.weight} for pin in tenant.pinnings]
    session.delete(tenant)
    flush(session)
    audit.record(session, actor, "delete", "tenant", tenant_id, tenant_id=tenant_id, before=before)
