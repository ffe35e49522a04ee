"""Outbound routes: destination prefix -> carrier gateway, per tenant or for all tenants."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Computed, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, updated_at
from .gateway import Gateway


class Route(Base):
    __tablename__ = "routes"
    __table_args__ = (
        # tenant_scope is 0 for routes of all tenants, so the unique key also holds for them
        # (a NULL tenant_id would never collide) and one index serves the longest-prefix lookup.
        UniqueConstraint("tenant_scope", "prefix", "gateway_id"),
        Index("ix_routes_gateway_id", "gateway_id"),
        Index("ix_routes_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="RESTRICT"))
    tenant_scope: Mapped[int | None] = mapped_column(
        Integer, Computed("coalesce(tenant_id, 0)", persisted=True), nullable=True
    )
    prefix: Mapped[str] = mapped_column(String(32), nullable=False, server_default="")
    gateway_id: Mapped[int] = mapped_column(Integer, ForeignKey("gateways.id", ondelete="RESTRICT"), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False, server_default="10")
    weight: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()

    gateway: Mapped[Gateway] = relationship()
