"""Inbound numbers (DIDs), each owned by a tenant and ringing one of its users."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at


class Did(Base):
    __tablename__ = "dids"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["sip_users.tenant_id", "sip_users.id"],
            name="fk_dids_tenant_user", ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_dids_tenant_id", ondelete="RESTRICT"),
        Index("ix_dids_tenant_id_user_id", "tenant_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    # Empty: in the tenant's stock (assigned by the operator) but ringing nobody yet.
    user_id: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()
