"""Tenants: create, change, delete; a SIP domain change voids the users' a1-hashes, so it must be confirmed."""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import delete as sql_delete, func, select, update as sql_update
from sqlalchemy.orm import Session

from ..models import AdminUser, ApprovedCallerId, Did, Route, SipUser, Tenant
from ..schemas import TenantSchema
from ..schemas.tenant import default_context
from . import audit, caller_ids
from .actor import Actor, require_superadmin
from .common import (apply, ListParams, Page, bool_filter, describe_dependents, dependents, exact_filter, flush,
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
    apply(tenant, data, FIELDS)
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


#: What a tenant owns, as people name it, in the order it is deleted (DIDs name users; users go before the tenant).
OWNED = (("DIDs", Did), ("approved caller IDs", ApprovedCallerId), ("routes", Route), ("SIP users", SipUser),
         ("admin users", AdminUser))


def owned(session: Session, actor: Actor, tenant_id: int) -> dict[str, int]:
    """How many rows of each kind the tenant owns (what `delete_with_everything` would delete), plus its pinnings."""
    tenant = get(session, actor, tenant_id)
    counts = {label: session.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant.id)) or 0
              for label, model in OWNED}
    counts["media node pinnings"] = len(tenant.pinnings)
    return counts


def delete_with_everything(session: Session, actor: Actor, tenant_id: int, confirm: str) -> dict[str, int]:
    """Delete a tenant and every row it owns (superadmin), confirmed by typing its code; one audit entry
    lists the counts and the rows' names. Returns the counts."""
    tenant = get(session, actor, tenant_id)
    if (confirm or "").strip() != tenant.code:
        message = f"type the tenant's code, {tenant.code}, to confirm"
        raise Invalid(message, {"confirm": [message]})
    counts = owned(session, actor, tenant_id)
    before = snapshot(tenant)
    before["deleted"] = counts
    before["sip_users"] = list(session.scalars(select(SipUser.username).where(SipUser.tenant_id == tenant.id)
                                               .order_by(SipUser.username)))
    before["dids"] = list(session.scalars(select(Did.number).where(Did.tenant_id == tenant.id).order_by(Did.number)))
    before["admin_users"] = list(session.scalars(select(AdminUser.username).where(AdminUser.tenant_id == tenant.id)))
    before["pinnings"] = [{"node_id": pin.node_id, "weight": pin.weight} for pin in tenant.pinnings]
    # Bulk deletes: a robot tenant holds thousands of users. Variables, API tokens, pinnings and the
    # monitor's rows go by ON DELETE CASCADE; the triggers bump config_version.
    for _label, model in OWNED:
        session.execute(sql_delete(model).where(model.tenant_id == tenant.id).execution_options(synchronize_session=False))
    session.expire_all()
    session.execute(sql_delete(Tenant).where(Tenant.id == tenant_id).execution_options(synchronize_session=False))
    flush(session)
    audit.record(session, actor, "delete", "tenant", tenant_id, tenant_id=tenant_id, before=before)
    return counts
