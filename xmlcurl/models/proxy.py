"""The table-version row the SIP proxy's dispatcher module checks before reading its view."""
from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ProxyTableVersion(Base):
    """Kamailio's and OpenSIPS's `version` table: layout version of each table they read."""

    __tablename__ = "version"

    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    table_version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
