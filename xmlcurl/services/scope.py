"""Tenant scoping for the resources tenant admins manage (SIP users and DIDs)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..models import Tenant
from .actor import Actor
from .errors import Invalid, NotFound


def tenant_for_write(session: Session, actor: Actor, tenant_id: int | None) -> Tenant:
    """The tenant a new row goes to: a tenant admin's own (by default), any tenant for a superadmin."""
    if tenant_id is None:
        if actor.is_superadmin:
            raise Invalid("the tenant is missing", {"tenant_id": ["required"]})
        tenant_id = actor.tenant_id
    if not actor.can_see_tenant(tenant_id):
        raise NotFound("no such tenant")
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise Invalid("no such tenant", {"tenant_id": ["no such tenant"]})
    return tenant
