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


def approved_sql(number: str, tenant: str = "t") -> str:
    """SQL: whether tenant `tenant` may present `number`: one of its DIDs or approved caller IDs, stored with
    or without a '+' (a presentable number is digits only, see callerid.is_number; REPLACE puts the '+'
    in front in SQLite and MySQL alike). Each is a unique-key lookup."""
    forms = f"({number}, REPLACE('+#', '#', {number}))"
    return (f"CASE WHEN EXISTS (SELECT 1 FROM dids d WHERE d.number IN {forms} AND d.tenant_id = {tenant}.id) "
            f"OR EXISTS (SELECT 1 FROM approved_caller_ids a WHERE a.tenant_id = {tenant}.id AND a.number IN {forms}) "
            "THEN 1 ELSE 0 END")
