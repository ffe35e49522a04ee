"""The configuration version: one counter bumped by triggers on every configuration table, with an
epoch beside it, and a ring of the latest changes: which table and tenant each version changed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# Tables whose changes alter what the nodes are served; each carries version-bumping triggers.
VERSIONED_TABLES = (
    "tenants", "nodes", "tenant_nodes", "sip_users", "sip_user_variables", "gateways", "routes", "dids",
    "approved_caller_ids",
)

#: How a changed row names its tenant, per table ({r} is NEW or OLD), and what a missing tenant
#: means: 0 is "no tenant" (a shared row: nodes, gateways, routes for all tenants). A row moved
#: from one tenant to another is recorded under -1, which invalidates every tenant's answers.
CHANGE_TENANT: dict[str, tuple[str, int]] = {
    "tenants": ("{r}.id", 0),
    "nodes": ("NULL", 0),
    "tenant_nodes": ("{r}.tenant_id", 0),
    "sip_users": ("{r}.tenant_id", 0),
    # A variable's tenant is its user's; when the user is gone (a cascade) the user's own trigger
    # has already recorded the tenant.
    "sip_user_variables": ("(SELECT u.tenant_id FROM sip_users u WHERE u.id = {r}.user_id)", 0),
    "gateways": ("NULL", 0),
    "routes": ("{r}.tenant_id", 0),
    "dids": ("{r}.tenant_id", 0),
    "approved_caller_ids": ("{r}.tenant_id", 0),
}

#: The tenant id a change to every tenant is recorded under (a row moved between tenants).
EVERY_TENANT = -1


def change_tenant_expression(table: str, event: str) -> str:
    """The SQL expression (inside a trigger on `table` for `event`) naming the tenant the change touches."""
    expr, missing = CHANGE_TENANT[table]
    if expr == "NULL":
        return str(missing)
    new, old = expr.format(r="NEW"), expr.format(r="OLD")
    if event == "INSERT":
        return f"COALESCE({new}, {missing})"
    if event == "DELETE":
        return f"COALESCE({old}, {missing})"
    if table == "sip_user_variables":  # the same user is the same tenant: one lookup, not four
        return f"CASE WHEN NEW.user_id = OLD.user_id THEN COALESCE({new}, {missing}) ELSE {EVERY_TENANT} END"
    return (f"CASE WHEN {new} = {old} THEN {new} WHEN {new} IS NULL AND {old} IS NULL THEN {missing} "
            f"ELSE {EVERY_TENANT} END")


#: Tables whose rows make one user's directory answer: a change to them names the user, so it supersedes
#: that user's answers and not those of the tenant's other users (fetch/scopes.py, `user`).
USER_TABLES = ("sip_users", "sip_user_variables")


def _named_user(name: str, concat: str) -> str:
    """'=<name>' when the name is only itself: MariaDB's collations pad with spaces (a name with trailing
    spaces equals the one without) and the last-good store keeps a scope's parts on lines of their own,
    so a name with trailing spaces or a line break is recorded as a change to every user (NULL)."""
    named = concat.format("'='", name)
    return f"CASE WHEN LENGTH({name}) = LENGTH(RTRIM(REPLACE({name}, CHAR(10), ''))) THEN {named} END"


def change_detail_expression(table: str, event: str, concat: str = "CONCAT({0}, {1})") -> str:
    """The SQL expression (inside a trigger on `table` for `event`) of what else the change touches:
    for routes, its prefix with how it changed ('=' in place, '+' added or removed; NULL when the
    prefix itself changed), so a change to one route for all tenants costs only the answers of its
    prefix; for a user's row or variable, the user ('=<username>'; NULL when renamed), so a change
    to one user costs only that user's answers. `concat` spells string concatenation in the
    trigger's dialect."""
    row = "OLD" if event == "DELETE" else "NEW"
    if table == "sip_users":
        named = _named_user(f"{row}.username", concat)
        if event == "UPDATE":
            # Byte for byte: the column's collation takes 'Alice' for 'alice' (a rename all the same).
            return f"CASE WHEN HEX(NEW.username) = HEX(OLD.username) THEN {named} END"
        return named
    if table == "sip_user_variables":
        named = f"(SELECT {_named_user('u.username', concat)} FROM sip_users u WHERE u.id = {row}.user_id)"
        return f"CASE WHEN NEW.user_id = OLD.user_id THEN {named} END" if event == "UPDATE" else named
    if table != "routes":
        return "NULL"
    if event == "UPDATE":
        in_place = concat.format("'='", "NEW.prefix")
        return f"CASE WHEN NEW.prefix = OLD.prefix THEN {in_place} END"
    return concat.format("'+'", ("NEW" if event == "INSERT" else "OLD") + ".prefix")


class ConfigVersion(Base):
    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=False
    )
    #: Random, set when the schema is created: versions of one epoch are never those of another
    #: (a database created again, or restored from a backup and re-epoched, starts a new one).
    epoch: Mapped[str] = mapped_column(String(32), nullable=False)


#: Slots of the change ring: the change of version v is kept in slot v % CHANGE_SLOTS until the
#: change CHANGE_SLOTS versions later overwrites it. A worker that falls further behind sees a gap
#: and drops everything.
CHANGE_SLOTS = 65536


class ConfigChange(Base):
    """One change: the version it made, and the table and tenant (0: none, -1: every) of the row."""

    __tablename__ = "config_changes"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    table_name: Mapped[str] = mapped_column(String(32), nullable=False)
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Routes: '=<prefix>' changed in place, '+<prefix>' added or removed, NULL: the prefix changed.
    #: Users and their variables: '=<username>' (a username has up to 64 characters), NULL: renamed.
    detail: Mapped[str | None] = mapped_column(String(80), nullable=True)
    changed_at: Mapped[dt.datetime] = mapped_column(
        DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"), nullable=False
    )

    __table_args__ = (Index("ix_config_changes_version", "version"),)
