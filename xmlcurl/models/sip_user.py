"""SIP users (agents and robots) of a tenant, and their extra channel variables."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, created_at, updated_at

KINDS = ("agent", "robot")


class SipUser(Base):
    __tablename__ = "sip_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username"),
        # Lets dids reference (tenant_id, id), so a DID can only point at its own tenant's user.
        UniqueConstraint("tenant_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="RESTRICT"), nullable=False)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(Enum(*KINDS, name="sip_user_kind"), nullable=False, server_default="agent")
    # md5(username:sip_domain:password); the plaintext password is never stored.
    a1_hash: Mapped[str] = mapped_column(String(32), nullable=False)
    cid_name: Mapped[str | None] = mapped_column(String(64))
    cid_number: Mapped[str | None] = mapped_column(String(32))
    outbound_cid_name: Mapped[str | None] = mapped_column(String(64))
    outbound_cid_number: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()

    variables: Mapped[list["SipUserVariable"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, order_by="SipUserVariable.name"
    )


class SipUserVariable(Base):
    __tablename__ = "sip_user_variables"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("sip_users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    value: Mapped[str] = mapped_column(String(255), nullable=False)

    user: Mapped[SipUser] = relationship(back_populates="variables")
