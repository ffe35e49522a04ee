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


def presentable_sql(*numbers: str, tenant: str = "t") -> dict[str, str]:
    """SQL for two columns, `presentable_dids` and `presentable_approved`: the tenant's DIDs and approved
    caller IDs among these numbers, each stored with or without a '+' (a presentable number is digits
    only, see callerid.is_number; REPLACE puts the '+' in front in SQLite and MySQL alike), comma-separated
    or NULL. Two unique-key lookups for all the numbers: each subquery costs MariaDB more than its lookups."""
    forms = ", ".join(f"{number}, REPLACE('+#', '#', {number})" for number in numbers)
    return {
        "presentable_dids": f"(SELECT GROUP_CONCAT(d.number) FROM dids d WHERE d.number IN ({forms}) "
                            f"AND d.tenant_id = {tenant}.id)",
        "presentable_approved": f"(SELECT GROUP_CONCAT(a.number) FROM approved_caller_ids a "
                                f"WHERE a.tenant_id = {tenant}.id AND a.number IN ({forms}))",
    }


def presentable_numbers(row: Any) -> frozenset[str]:
    """The numbers (without '+') a row's presentable_sql columns found."""
    return frozenset(callerid.bare(number) for found in (row.presentable_dids, row.presentable_approved) if found
                     for number in found.split(","))
