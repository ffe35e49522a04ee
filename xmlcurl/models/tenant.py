"""Tenants and their pinning to media nodes."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, updated_at


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    sip_domain: Mapped[str] = mapped_column(String(253), nullable=False, unique=True)
    context: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    max_calls: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")
    max_cps: Mapped[int] = mapped_column(Integer, nullable=False, server_default="10")
    default_cid_number: Mapped[str | None] = mapped_column(String(32))
    default_cid_name: Mapped[str | None] = mapped_column(String(64))
    # Number normalisation: '+' and the international prefix are stripped, a leading national
    # prefix is replaced by the country code, so the routers always see full international digits.
    country_code: Mapped[str] = mapped_column(String(4), nullable=False, server_default="")
    national_prefix: Mapped[str] = mapped_column(String(4), nullable=False, server_default="")
    international_prefix: Mapped[str] = mapped_column(String(8), nullable=False, server_default="00")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()

    pinnings: Mapped[list["TenantNode"]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", passive_deletes=True
    )


class TenantNode(Base):
    """A tenant pinned to a media node; a higher weight is preferred."""

    __tablename__ = "tenant_nodes"
    __table_args__ = (Index("ix_tenant_nodes_node_id", "node_id"),)

    tenant_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    node_id: Mapped[int] = mapped_column(Integer, ForeignKey("nodes.id", ondelete="RESTRICT"), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer, nullable=False, server_default="100")

    tenant: Mapped[Tenant] = relationship(back_populates="pinnings")
    node: Mapped["Node"] = relationship()  # noqa: F821


from .node import Node  # noqa: E402,F401  (resolves the relationship target)
