"""The cluster monitor's latest snapshot: what each node answered on its event socket, one row per thing.

These tables are written every few seconds by `xmlcurl monitor` and carry no version triggers
(they are not in VERSIONED_TABLES): a snapshot never invalidates the fetch caches.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ClusterNodeState(Base):
    """A node as last polled: up (NULL until first known), since when, uptime, version, calls."""

    __tablename__ = "cluster_node_state"

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    up: Mapped[bool | None] = mapped_column(Boolean)
    # When `up` last changed (or the first poll): the dashboard's "since".
    since: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    polled_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # last complete answer
    missed_polls: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    error: Mapped[str | None] = mapped_column(String(255))
    uptime_seconds: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[str | None] = mapped_column(String(128))
    calls: Mapped[int | None] = mapped_column(Integer)
    sessions_per_second: Mapped[int | None] = mapped_column(Integer)
    max_sessions: Mapped[int | None] = mapped_column(Integer)


class ClusterProfileState(Base):
    """One sofia profile of a node (`sofia xmlstatus`)."""

    __tablename__ = "cluster_profile_state"

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(64), nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ClusterGatewayState(Base):
    """One gateway of a node (`sofia xmlstatus gateway`): registration state, ping status and time."""

    __tablename__ = "cluster_gateway_state"

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile: Mapped[str] = mapped_column(String(64), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    ping_ms: Mapped[float | None] = mapped_column(Float)
    calls_in: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    calls_out: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failed_calls_in: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    failed_calls_out: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # When status or state last changed (the dashboard's "last change").
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ClusterRegistration(Base):
    """One registration on a node (`show registrations as json`); tenant by its realm, NULL when unknown."""

    __tablename__ = "cluster_registrations"
    __table_args__ = (Index(None, "node_id"), Index(None, "tenant_id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), nullable=False)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    reg_user: Mapped[str] = mapped_column(String(64), nullable=False)
    realm: Mapped[str] = mapped_column(String(253), nullable=False)
    contact: Mapped[str] = mapped_column(String(512), nullable=False)
    network_ip: Mapped[str] = mapped_column(String(45), nullable=False)
    network_port: Mapped[int | None] = mapped_column(Integer)
    network_proto: Mapped[str] = mapped_column(String(8), nullable=False)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ClusterTenantCalls(Base):
    """A tenant's calls up on a node (mod_hash `limit` usage) and its current calls per second (routers)."""

    __tablename__ = "cluster_tenant_calls"
    __table_args__ = (Index(None, "tenant_id"),)

    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True,
                                         autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True,
                                           autoincrement=False)
    calls: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    cps: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class ClusterMonitorLease(Base):
    """Which `xmlcurl monitor` polls now: the holder renews it every round; another takes over once it expires."""

    __tablename__ = "cluster_monitor_lease"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(128), nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
