"""Caller numbers the operator approved for a tenant, besides its DIDs."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at


class ApprovedCallerId(Base):
    """A number a tenant's users may present (carriers hold the platform responsible for what it presents)."""

    __tablename__ = "approved_caller_ids"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()


#: The tables presentable_numbers copies, by the name its `source` column holds.
PRESENTABLE_SOURCES = ("dids", "approved_caller_ids")


class PresentableNumber(Base):
    """A number (without '+') a tenant's users may present: a copy of one DID or approved caller ID row,
    kept by triggers (schema.sql; presentable.sqlite_triggers) so a fetch checks it with one index lookup."""

    __tablename__ = "presentable_numbers"
    __table_args__ = (Index("ix_presentable_numbers_tenant_id_number", "tenant_id", "number"),)

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    number: Mapped[str] = mapped_column(String(32), nullable=False)
