"""FreeSWITCH nodes: media nodes and routers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created_at, updated_at

ROLES = ("media", "router")


class Node(Base):
    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The node's switchname: the `hostname` field of every fetch it sends.
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(Enum(*ROLES, name="node_role"), nullable=False)
    sip_address: Mapped[str] = mapped_column(String(45), nullable=False)
    sip_port: Mapped[int] = mapped_column(Integer, nullable=False, server_default="5060")
    cluster_port: Mapped[int] = mapped_column(Integer, nullable=False, server_default="5080")
    http_username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    http_secret_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    # Optional allow-list of source addresses/CIDRs for this node's fetches (space separated).
    allowed_sources: Mapped[str] = mapped_column(String(1024), nullable=False, server_default="")
    # The event socket (mod_event_socket) for live changes; its address defaults to sip_address.
    esl_address: Mapped[str | None] = mapped_column(String(45))
    esl_port: Mapped[int | None] = mapped_column(Integer)
    esl_password_enc: Mapped[str | None] = mapped_column(String(512))
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="1")
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = updated_at()
    # The sofia profiles' shared session database (odbc-dsn), encrypted like esl_password_enc: it holds a password.
    session_db_dsn_enc: Mapped[str | None] = mapped_column(String(2048))
