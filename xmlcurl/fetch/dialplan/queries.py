"""The dialplan's database lookups: each one indexed, each returning plain data."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...models import Did, Gateway, Node, Route, SipUser, Tenant, TenantNode
from .data import Candidate, DidInfo, NodeInfo, TenantInfo, UserInfo
from .numbers import NumberingPlan


def _tenant_info(tenant: Tenant) -> TenantInfo:
    return TenantInfo(
        id=tenant.id,
        code=tenant.code,
        sip_domain=tenant.sip_domain,
        context=tenant.context,
        max_calls=tenant.max_calls,
        max_cps=tenant.max_cps,
        default_cid_number=tenant.default_cid_number,
        default_cid_name=tenant.default_cid_name,
        plan=NumberingPlan(tenant.country_code, tenant.national_prefix, tenant.international_prefix),
        enabled=bool(tenant.enabled),
    )


def tenant_by_context(session: Session, context: str) -> TenantInfo | None:
    """The tenant whose users' calls run in `context` (enabled or not)."""
    tenant = session.scalars(select(Tenant).where(Tenant.context == context)).first()
    return None if tenant is None else _tenant_info(tenant)


def tenant_by_code(session: Session, code: str) -> TenantInfo | None:
    tenant = session.scalars(select(Tenant).where(Tenant.code == code)).first()
    return None if tenant is None else _tenant_info(tenant)


def is_pinned(session: Session, tenant_id: int, node_id: int) -> bool:
    """Whether the tenant is pinned to this node (primary key lookup)."""
    found = session.execute(
        select(TenantNode.node_id).where(TenantNode.tenant_id == tenant_id, TenantNode.node_id == node_id)
    ).first()
    return found is not None


def pinned_media_node_at(session: Session, tenant_id: int, address: str) -> NodeInfo | None:
    """The enabled media node at `address` that the tenant is pinned to, if any."""
    row = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port, TenantNode.weight)
        .join(TenantNode, TenantNode.node_id == Node.id)
        .where(
            TenantNode.tenant_id == tenant_id, Node.sip_address == address,
            Node.role == "media", Node.enabled.is_(True),
        )
    ).first()
    return None if row is None else NodeInfo(row.name, row.sip_address, row.cluster_port, row.weight)


def pinned_media_nodes(session: Session, tenant_id: int) -> tuple[NodeInfo, ...]:
    """The tenant's enabled media nodes, preferred (highest weight) first, then by name."""
    rows = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port, TenantNode.weight)
        .join(TenantNode, TenantNode.node_id == Node.id)
        .where(TenantNode.tenant_id == tenant_id, Node.role == "media", Node.enabled.is_(True))
        .order_by(TenantNode.weight.desc(), Node.name)
    ).all()
    return tuple(NodeInfo(r.name, r.sip_address, r.cluster_port, r.weight) for r in rows)


def enabled_routers(session: Session) -> list[NodeInfo]:
    """Every enabled router, by name (a small table: a few nodes)."""
    rows = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port)
        .where(Node.role == "router", Node.enabled.is_(True))
        .order_by(Node.name)
    ).all()
    return [NodeInfo(r.name, r.sip_address, r.cluster_port) for r in rows]


def is_enabled_router_address(session: Session, address: str) -> bool:
    found = session.execute(
        select(Node.id).where(Node.sip_address == address, Node.role == "router", Node.enabled.is_(True))
    ).first()
    return found is not None


def enabled_media_node_at(session: Session, address: str) -> NodeInfo | None:
    """The enabled media node whose SIP address is `address` (a small table), if any."""
    row = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port)
        .where(Node.sip_address == address, Node.role == "media", Node.enabled.is_(True))
        .order_by(Node.name)
    ).first()
    return None if row is None else NodeInfo(row.name, row.sip_address, row.cluster_port, role="media")


def longest_username(session: Session, tenant_id: int) -> int:
    """The length of the tenant's longest username (0 without users)."""
    return session.scalar(select(func.max(func.length(SipUser.username))).where(SipUser.tenant_id == tenant_id)) or 0


def user(session: Session, tenant_id: int, username: str) -> UserInfo | None:
    """An enabled user of the tenant (unique key lookup)."""
    row = session.execute(
        select(SipUser.username, SipUser.outbound_cid_number, SipUser.outbound_cid_name, SipUser.cid_number).where(
            SipUser.tenant_id == tenant_id, SipUser.username == username, SipUser.enabled.is_(True)
        )
    ).first()
    return None if row is None else UserInfo(row.username, row.outbound_cid_number, row.outbound_cid_name,
                                             row.cid_number)


def did(session: Session, numbers: list[str]) -> DidInfo | None:
    """The enabled DID stored under one of `numbers` (e.g. with and without '+'), with its tenant and user."""
    row = session.execute(
        select(Did.number, Tenant, SipUser.username, SipUser.enabled)
        .join(Tenant, Tenant.id == Did.tenant_id)
        .join(SipUser, SipUser.id == Did.user_id)
        .where(Did.number.in_(numbers), Did.enabled.is_(True))
        .order_by(Did.number)
    ).first()
    if row is None:
        return None
    return DidInfo(number=row[0], tenant=_tenant_info(row[1]), username=row[2], user_enabled=bool(row[3]))


def prefixes_of(number: str, longest: int = 32) -> list[str]:
    """Every prefix of the number, the empty one included, up to the longest a route may hold."""
    return [number[:n] for n in range(min(len(number), longest) + 1)]


def route_prefixes(session: Session, scope: int) -> frozenset[str]:
    """The distinct prefixes routed for one scope (a tenant's id, or 0 for all tenants)."""
    return frozenset(session.scalars(select(Route.prefix).where(Route.tenant_scope == scope).distinct()))


def route_candidates(session: Session, scopes: tuple[int, ...], prefixes: tuple[str, ...]) -> tuple[Candidate, ...]:
    """Routes of these scopes (a tenant's id, 0 for all tenants) with one of these prefixes, with their gateways.

    One query on the (tenant_scope, prefix, gateway_id) key; disabled rows come back too so
    route-test can say why they were not used.
    """
    if not prefixes:
        return ()
    rows = session.execute(
        select(
            Route.id, Route.prefix, Route.tenant_id, Route.priority, Route.weight, Route.enabled.label("route_enabled"),
            Gateway.name, Gateway.strip_digits, Gateway.prepend, Gateway.media_mode,
            Gateway.enabled.label("gateway_enabled"),
        )
        .join(Gateway, Gateway.id == Route.gateway_id)
        .where(Route.tenant_scope.in_(scopes), Route.prefix.in_(prefixes))
    ).all()
    # Plain columns, not ORM objects: a default route may have dozens of gateways.
    return tuple(
        Candidate(
            route_id=r.id, prefix=r.prefix, tenant_id=r.tenant_id, priority=r.priority, weight=r.weight,
            gateway=r.name, strip_digits=r.strip_digits, prepend=r.prepend, media_mode=r.media_mode,
            route_enabled=bool(r.route_enabled), gateway_enabled=bool(r.gateway_enabled),
        )
        for r in rows
    )


def node_by_name(session: Session, name: str) -> NodeInfo | None:
    row = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port, Node.role).where(Node.name == name)
    ).first()
    return None if row is None else NodeInfo(row.name, row.sip_address, row.cluster_port, role=row.role)
