"""`hash.conf`: mod_hash's remotes, so `limit hash` counts the calls of the node's peers too.

mod_hash (mod_hash.c) polls each remote's event socket with `hash_dump limit` every `interval`
milliseconds and adds the remotes' usage to every concurrent-call check (`limit_incr_hash`). A media
node's remotes are the other enabled media nodes, a router's the other enabled routers, reached with
the event-socket address, port and password `xmlcurl esl-password` stores. `hash_remote rescan`
adds remotes a running node does not have yet; `hash_remote kill <name>` drops one.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from lxml import etree
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ...models import Node
from ...push.secret import EslKeyError, decrypt_password
from ..xmldoc import UnsafeValue, document, element, safe

log = logging.getLogger("xmlcurl.fetch.configuration")


@dataclass(frozen=True)
class Remote:
    """A peer's event socket as mod_hash needs it (the password in plaintext)."""

    node_id: int
    name: str
    host: str
    port: int
    password: str


# Built once: every enabled node of a role with its event-socket columns (the nodes table is small).
_PEERS = (
    select(Node.id, Node.name, Node.sip_address, Node.esl_address, Node.esl_port, Node.esl_password_enc)
    .where(Node.role == bindparam("role"), Node.enabled.is_(True))
    .order_by(Node.name)
)


def enabled_remotes(session: Session, role: str, settings: Mapping[str, Any]) -> tuple[Remote, ...]:
    """Every enabled node of ROLE that has stored event-socket credentials; the others are logged and left out."""
    remotes = []
    for row in session.execute(_PEERS, {"role": role}):
        if not row.esl_port or not row.esl_password_enc:
            log.warning("hash.conf: node %s has no stored event-socket port and password (xmlcurl esl-password); "
                        "its calls are not counted by the other %s nodes' limits", row.name, role)
            continue
        try:
            password = decrypt_password(settings, row.esl_password_enc)
        except EslKeyError as exc:
            log.error("hash.conf: node %s left out: %s", row.name, exc)
            continue
        host = (row.esl_address or row.sip_address or "").strip()
        try:
            host = ipaddress.ip_address(host).compressed
        except ValueError:
            log.warning("hash.conf: node %s left out: its event-socket address %r is not an IP address", row.name, host)
            continue
        remotes.append(Remote(row.id, row.name, host, row.esl_port, password))
    return tuple(remotes)


def build_hash(remotes: Sequence[Remote], own_id: int, interval_ms: int) -> etree._Element:
    """The hash.conf document: every remote but the asking node itself, polled every INTERVAL_MS."""
    doc, section = document("configuration")
    conf = element(section, "configuration", name="hash.conf", description="Hash Configuration (xmlcurl)")
    container = etree.SubElement(conf, "remotes")
    for remote in remotes:
        if remote.node_id == own_id:
            continue
        # No `username`: mod_hash then logs in with `auth <password>`, as mod_event_socket expects.
        attributes = {"name": remote.name, "host": remote.host, "port": str(remote.port),
                      "password": remote.password, "interval": str(interval_ms)}
        try:
            checked = {key: safe(value) for key, value in attributes.items()}
        except UnsafeValue as exc:
            log.warning("hash.conf: remote %s left out: %s", remote.name, exc)
            continue
        etree.SubElement(container, "remote", checked)
    return doc
