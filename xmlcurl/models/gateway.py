"""Carrier gateways, held by every router's carrier profile."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at

TRANSPORTS = ("udp", "tcp", "tls")
MEDIA_MODES = ("bypass", "proxy")


class Gateway(Base):
    __tablename__ = "gateways"
    __table_args__ = (
        # sofia silently skips a registering gateway without credentials: refuse it at the source.
        CheckConstraint(
            "register = 0 OR (username IS NOT NULL AND username <> '' AND password IS NOT NULL AND password <> '')",
            name="register_credentials",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    proxy: Mapped[str] = mapped_column(String(255), nullable=False)
    realm: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(64))
    password: Mapped[str | None] = mapped_column(String(128))
    register: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="0")
    expire_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="3600")
    retry_seconds: Mapped[int] = mapped_column(Integer, nullable=False, server_default="30")
    caller_id_in_from: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    ping_seconds: Mapped[int | None] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(Enum(*TRANSPORTS, name="gateway_transport"), nullable=False, server_default="udp")
    # Number format for this carrier: drop the first strip_digits digits, then put prepend in front.
    strip_digits: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    prepend: Mapped[str] = mapped_column(String(16), nullable=False, server_default="")
    media_mode: Mapped[str] = mapped_column(Enum(*MEDIA_MODES, name="gateway_media_mode"), nullable=False, server_default="bypass")
    # The carrier's source addresses for the inbound ACL (space separated CIDRs or addresses).
    source_cidrs: Mapped[str] = mapped_column(String(1024), nullable=False, server_default="")
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()
