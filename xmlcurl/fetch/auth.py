"""Who is asking: the node behind a fetch's HTTP Basic credentials."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


@dataclass(frozen=True)
class NodeCredentials:
    """A node's stored credentials and identity, as plain data (what the fetch cache may keep)."""

    identity: NodeIdentity
    secret_hash: str
    enabled: bool


#: How a caller may remember credentials: (key parts, loader) -> the loader's result.
CredentialLookup = Callable[[tuple[str, str], Callable[[], "NodeCredentials | None"]], "NodeCredentials | None"]


def load_credentials(session: Session, username: str) -> NodeCredentials | None:
    """The node with this HTTP username (unique key lookup), enabled or not."""
    node = session.scalars(select(Node).where(Node.http_username == username)).first()
    if node is None:
        return None
    identity = NodeIdentity(
        id=node.id,
        name=node.name,
        role=node.role,
        sip_address=node.sip_address,
        sip_port=node.sip_port,
        cluster_port=node.cluster_port,
    )
    return NodeCredentials(identity, node.http_secret_hash, bool(node.enabled))


def authenticate(session: Session, username: str | None, secret: str | None,
                 lookup: CredentialLookup | None = None) -> NodeIdentity | AuthFailure:
    """The enabled node whose credentials these are, or why not (`lookup` may serve them from a cache)."""
    if not username or secret is None:
        return AuthFailure(401, "no credentials")

    def load() -> NodeCredentials | None:
        return load_credentials(session, username)

    node = lookup(("node", username), load) if lookup is not None else load()
    if node is None:
        return AuthFailure(401, "unknown node", username)
    # The presented secret is checked on every fetch, against the hash of the current version.
    if not _secret_cache.verify(node.secret_hash, secret):
        return AuthFailure(401, "wrong secret", username)
    if not node.enabled:
        return AuthFailure(401, "node disabled", username)
    return node.identity


def check_hostname(node: NodeIdentity, hostname: str) -> AuthFailure | None:
    """The body's hostname (the switchname) must be the authenticated node's own."""
    if hostname != node.name:
        return AuthFailure(403, f"hostname {hostname!r} is not this node's switchname", node.name)
    return None
