"""People and scripts who manage the configuration: admin users, API tokens, the audit log."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Enum, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at

ADMIN_ROLES = ("superadmin", "tenant_admin")
AUDIT_SOURCES = ("admin", "api", "cli")


class AdminUser(Base):
    __tablename__ = "admin_users"
    __table_args__ = (
        CheckConstraint(
            "(role = 'superadmin' AND tenant_id IS NULL) OR (role = 'tenant_admin' AND tenant_id IS NOT NULL)",
            name="role_tenant",
        ),
        Index("ix_admin_users_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Binary on MySQL (SQLite compares bytes already): no case or accent variant reaches another account.
    username: Mapped[str] = mapped_column(String(64).with_variant(String(64, collation="utf8mb4_bin"), "mysql", "mariadb"),
                                          nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(Enum(*ADMIN_ROLES, name="admin_role"), nullable=False)
    tenant_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("tenants.id", ondelete="RESTRICT"))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()
    # Sessions carry the generation they signed in with; a bump ends them all, server-side.
    session_generation: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")


class ApiToken(Base):
    """A bearer token for scripts; only its SHA-256 is kept (tokens are long random strings)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_admin_user_id", "admin_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admin_user_id: Mapped[int] = mapped_column(Integer, ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = created_at()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """Who changed what and when; kept without foreign keys so it outlives what it describes."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),
        Index("ix_audit_log_tenant_id", "tenant_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.current_timestamp())
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(Enum(*AUDIT_SOURCES, name="audit_source"), nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[str] = mapped_column(String(64), nullable=False)
    tenant_id: Mapped[int | None] = mapped_column(Integer)
    # MEDIUMTEXT on MySQL: one entry lists every row of a bulk action or an import.
    before_json: Mapped[str | None] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"))
    after_json: Mapped[str | None] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"))


class LoginFailure(Base):
    """One failed admin login, counted by the login throttle of every worker and instance."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_subject_address", "subject", "address", "failed_at"),
        Index("ix_login_failures_failed_at", "failed_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # "admin:<id>" for an existing account, "name:<username>" for a name that is none.
    subject: Mapped[str] = mapped_column(String(80), nullable=False)
    address: Mapped[str] = mapped_column(String(45), nullable=False)
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
