"""The caller numbers a tenant's users may present: its DIDs and the numbers the operator approved for it."""
from __future__ import annotations

from typing import Any

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


def presentable_sql(*numbers: str, tenant_id: str = "t.id") -> dict[str, str]:
    """SQL for one column, `presentable`: which of these numbers the tenant's users may present, comma-separated,
    or NULL. One index range on presentable_numbers, the triggers' copy of the tenant's DIDs and approved
    caller IDs without their '+' (a presentable number is digits only, see callerid.is_number): a subquery
    on each source table cost MariaDB twice as much. `tenant_id` is the SQL expression of the tenant's id."""
    return {"presentable": f"(SELECT GROUP_CONCAT(p.number) FROM presentable_numbers p "
                           f"WHERE p.tenant_id = {tenant_id} AND p.number IN ({', '.join(numbers)}))"}


def presentable_numbers(row: Any) -> frozenset[str]:
    """The numbers a row's presentable_sql column found."""
    return frozenset(row.presentable.split(",")) if row.presentable else frozenset()
