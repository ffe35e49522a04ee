"""Plain data the dialplan builders and route selection work on (no sessions, no ORM objects)."""
from __future__ import annotations

from dataclasses import dataclass

from .numbers import NumberingPlan


@dataclass(frozen=True)
class TenantInfo:
    id: int
    code: str
    sip_domain: str
    context: str
    max_calls: int
    max_cps: int
    default_cid_number: str | None
    default_cid_name: str | None
    plan: NumberingPlan
    enabled: bool


@dataclass(frozen=True)
class UserInfo:
    username: str
    outbound_cid_number: str | None = None
    outbound_cid_name: str | None = None
    cid_number: str | None = None


@dataclass(frozen=True)
class NodeInfo:
    """A node as a dial string needs it."""

    name: str
    sip_address: str
    cluster_port: int
    weight: int = 0
    role: str = ""


@dataclass(frozen=True)
class DidInfo:
    number: str
    tenant: TenantInfo
    username: str
    user_enabled: bool


@dataclass(frozen=True)
class Candidate:
    """A route joined with its gateway: one possible leg for a number."""

    route_id: int
    prefix: str
    tenant_id: int | None  # None: a route of all tenants
    priority: int
    weight: int
    gateway: str
    strip_digits: int = 0
    prepend: str = ""
    media_mode: str = "bypass"
    route_enabled: bool = True
    gateway_enabled: bool = True

    @property
    def scope(self) -> str:
        return "global" if self.tenant_id is None else "tenant"
