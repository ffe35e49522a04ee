"""The caller numbers a tenant's users may present: its DIDs and the numbers the operator approved for it."""
from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from .. import callerid
from ..models import ApprovedCallerId, Did


def approved_numbers(session: Session, tenant_id: int) -> frozenset[str]:
    """The tenant's presentable numbers without their '+' (one indexed query; the fetch path caches it)."""
    stmt = union(
        select(Did.number).where(Did.tenant_id == tenant_id),
        select(ApprovedCallerId.number).where(ApprovedCallerId.tenant_id == tenant_id),
    )
    return frozenset(callerid.bare(number) for number in session.scalars(stmt))
