"""`acl.conf`: the network lists the sofia profiles name in `apply-inbound-acl`, built from nodes and gateways."""
from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ...models import Gateway, Node, TenantNode
from ..xmldoc import document, element

log = logging.getLogger("xmlcurl.fetch.configuration")

#: List names; the sofia profiles reference exactly these.
ROUTERS = "routers"
#: On a media node: the other media nodes that share a tenant with it (calls to a user registered here).
MEDIA_PEERS = "media-peers"
MEDIA_NODES = "media-nodes"
CARRIERS = "carriers"

# FreeSWITCH never registers a list without <node> children, so a profile naming it would point
# at nothing: an empty list gets this one entry instead, which keeps it defined and denying all.
DENY_ALL = "0.0.0.0/0"


@dataclass(frozen=True)
class NodeAddress:
    name: str
    address: str


@dataclass(frozen=True)
class CarrierSource:
    name: str
    proxy: str
    source_cidrs: str


@dataclass(frozen=True)
class AclList:
    name: str
    cidrs: tuple[str, ...]


# --- queries -----------------------------------------------------------------------------------

def enabled_node_addresses(session: Session, role: str) -> tuple[NodeAddress, ...]:
    """Every enabled node of a role (the nodes table holds a few hundred rows at most)."""
    rows = session.execute(
        select(Node.name, Node.sip_address).where(Node.role == role, Node.enabled.is_(True)).order_by(Node.name)
    ).all()
    return tuple(NodeAddress(r.name, r.sip_address) for r in rows)


def media_peer_addresses(session: Session, node_id: int) -> tuple[NodeAddress, ...]:
    """The other enabled media nodes that share at least one tenant with this node (by their pinnings)."""
    mine = aliased(TenantNode)
    theirs = aliased(TenantNode)
    rows = session.execute(
        select(Node.name, Node.sip_address).distinct()
        .join(theirs, theirs.node_id == Node.id)
        .join(mine, mine.tenant_id == theirs.tenant_id)
        .where(mine.node_id == node_id, Node.id != node_id, Node.role == "media", Node.enabled.is_(True))
        .order_by(Node.name)
    ).all()
    return tuple(NodeAddress(r.name, r.sip_address) for r in rows)


def enabled_carrier_sources(session: Session) -> tuple[CarrierSource, ...]:
    """Every enabled gateway's source addresses, in one query."""
    rows = session.execute(
        select(Gateway.name, Gateway.proxy, Gateway.source_cidrs).where(Gateway.enabled.is_(True)).order_by(Gateway.name)
    ).all()
    return tuple(CarrierSource(r.name, r.proxy, r.source_cidrs or "") for r in rows)


# --- pure helpers ------------------------------------------------------------------------------

def network(text: str) -> str | None:
    """A stored address or CIDR as FreeSWITCH's cidr (/32 or /128 for an address); None when invalid."""
    try:
        # strict=False keeps the stored prefix length when host bits are set: never wider than stored.
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        return None


def proxy_host(proxy: str) -> str:
    """The host part of host[:port] or [v6]:port."""
    if proxy.startswith("["):
        return proxy[1:proxy.find("]")] if "]" in proxy else proxy
    if proxy.count(":") == 1:
        return proxy.split(":", 1)[0]
    return proxy


def node_cidrs(nodes: Iterable[NodeAddress]) -> tuple[str, ...]:
    """One host entry per valid node address; invalid ones are logged and left out."""
    out = []
    for node in nodes:
        try:
            address = ipaddress.ip_address(node.address.strip())
        except ValueError:
            log.warning("acl.conf: node %s has an invalid address %r; left out", node.name, node.address)
            continue
        out.append(f"{address}/{address.max_prefixlen}")
    return _unique(out)


def carrier_cidrs(sources: Iterable[CarrierSource]) -> tuple[str, ...]:
    """Each gateway's stored source CIDRs, or its proxy when that is a literal address and none are stored."""
    out = []
    for source in sources:
        entries = [e for e in re.split(r"[\s,]+", source.source_cidrs) if e]
        if not entries:
            host = proxy_host(source.proxy)
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                # A DNS name is never resolved in a fetch: the operator must store the carrier's addresses.
                log.warning("acl.conf: gateway %s has no source_cidrs and its proxy %r is not an address; "
                            "its calls will be refused", source.name, source.proxy)
                continue
            out.append(f"{address}/{address.max_prefixlen}")
            continue
        for entry in entries:
            cidr = network(entry)
            if cidr is None:
                log.warning("acl.conf: gateway %s has an invalid source %r; left out", source.name, entry)
                continue
            out.append(cidr)
    return _unique(out)


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


# --- builder -----------------------------------------------------------------------------------

def build_acl(lists: Sequence[AclList]) -> etree._Element:
    """The acl.conf document: each list `default="deny"`, one allow entry per CIDR (as normalised above)."""
    doc, section = document("configuration")
    conf = element(section, "configuration", name="acl.conf", description="Network Lists")
    network_lists = etree.SubElement(conf, "network-lists")
    for acl in lists:
        node = element(network_lists, "list", name=acl.name, default="deny")
        for cidr in acl.cidrs:
            element(node, "node", type="allow", cidr=cidr)
        if len(node) == 0:
            element(node, "node", type="deny", cidr=DENY_ALL)
    return doc
