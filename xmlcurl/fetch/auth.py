"""Who is asking: the node behind a fetch's HTTP Basic credentials."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Node
from ..secrets import NodeSecretCache
from .context import NodeIdentity

_secret_cache = NodeSecretCache()


@dataclass(frozen=True)
class AuthFailure:
    """Why a fetch was refused; `status` is the HTTP status to answer."""

    status: int
    reason: str
    username: str = ""


def authenticate(session: Session, username: str | None, secret: str | None) -> NodeIdentity | AuthFailure:
    """The enabled node whose credentials these are, or why not."""
    if not username or secret is None:
        return AuthFailure(401, "no credentials")
    node = session.scalars(select(Node).where(Node.http_username == username)).first()
    if node is None:
        return AuthFailure(401, "unknown node", username)
    if not _secret_cache.verify(node.http_secret_hash, secret):
        return AuthFailure(401, "wrong secret", username)
    if not node.enabled:
        return AuthFailure(401, "node disabled", username)
    return NodeIdentity(
        id=node.id,
        name=node.name,
        role=node.role,
        sip_address=node.sip_address,
        sip_port=node.sip_port,
        cluster_port=node.cluster_port,
    )


def check_hostname(node: NodeIdentity, hostname: str) -> AuthFailure | None:
    """The body's hostname (the switchname) must be the authenticated node's own."""
    if hostname != node.name:
        return AuthFailure(403, f"hostname {hostname!r} is not this node's switchname", node.name)
    return None
