"""Read the cluster (nodes, tenant pinning, tenant domains) as the plain data the planner takes."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Node, Tenant, TenantNode
from .plan import Cluster, NodeInfo


def load_cluster(session: Session, tenant_ids: set[int] | None = None) -> Cluster:
    """Every node; pinning and domains of TENANT_IDS only (all tenants when None)."""
    nodes = tuple(
        NodeInfo(id=n.id, name=n.name, role=n.role, address=n.esl_address or n.sip_address, enabled=bool(n.enabled),
                 esl_port=n.esl_port, esl_password_enc=n.esl_password_enc)
        for n in session.scalars(select(Node).order_by(Node.role.desc(), Node.name))
    )
    pin_stmt = select(TenantNode.tenant_id, TenantNode.node_id)
    domain_stmt = select(Tenant.id, Tenant.sip_domain)
    if tenant_ids is not None:
        if not tenant_ids:
            return Cluster(nodes)
        pin_stmt = pin_stmt.where(TenantNode.tenant_id.in_(tenant_ids))
        domain_stmt = domain_stmt.where(Tenant.id.in_(tenant_ids))
    media: dict[int, set[int]] = {}
    for tenant_id, node_id in session.execute(pin_stmt):
        media.setdefault(tenant_id, set()).add(node_id)
    return Cluster(nodes, {t: frozenset(ids) for t, ids in media.items()}, dict(session.execute(domain_stmt).all()))
