"""The configuration version: one row, bumped by triggers on every configuration table."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# Tables whose changes alter what the nodes are served; each carries version-bumping triggers.
VERSIONED_TABLES = (
    "tenants", "nodes", "tenant_nodes", "sip_users", "sip_user_variables", "gateways", "routes", "dids",
    "approved_caller_ids",
)


class ConfigVersion(Base):
    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=False
    )
