"""`acl.conf`: the network lists the sofia profiles name in `apply-inbound-acl`, built from nodes and gateways."""
from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from lxml import etree
from sqlalchemy import text

from ..context import Reads
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


# --- the one query of each role ------------------------------------------------------------------

#: A media node's lists: 0 the enabled routers, 1 the other enabled media nodes sharing a tenant with
#: it (its media peers); c1 name, c2 sip_address, by name.
MEDIA_ACL = text("""
SELECT 0 AS part, name AS c1, sip_address AS c2, NULL AS c3 FROM nodes WHERE role = 'router' AND enabled = 1
UNION ALL
SELECT DISTINCT 1, n.name, n.sip_address, NULL
FROM nodes n
JOIN tenant_nodes theirs ON theirs.node_id = n.id
JOIN tenant_nodes mine ON mine.tenant_id = theirs.tenant_id
WHERE mine.node_id = :node_id AND n.id <> :node_id AND n.role = 'media' AND n.enabled = 1
ORDER BY 1, 2
""")

#: A router's lists: 0 the enabled media nodes (c1 name, c2 sip_address), 1 the enabled gateways'
#: sources (c1 name, c2 proxy, c3 source_cidrs), by name.
ROUTER_ACL = text("""
SELECT 0 AS part, name AS c1, sip_address AS c2, NULL AS c3 FROM nodes WHERE role = 'media' AND enabled = 1
UNION ALL
SELECT 1, name, proxy, source_cidrs FROM gateways WHERE enabled = 1
ORDER BY 1, 2
""")


def media_acl_sources(conn: Reads, node_id: int) -> tuple[tuple[NodeAddress, ...], tuple[NodeAddress, ...]]:
    """The enabled routers and this media node's media peers, in one statement."""
    rows = conn.execute(MEDIA_ACL, {"node_id": node_id}).all()
    return (tuple(NodeAddress(r.c1, r.c2) for r in rows if r.part == 0),
            tuple(NodeAddress(r.c1, r.c2) for r in rows if r.part == 1))


def router_acl_sources(conn: Reads) -> tuple[tuple[NodeAddress, ...], tuple[CarrierSource, ...]]:
    """The enabled media nodes and every enabled gateway's source addresses, in one statement."""
    rows = conn.execute(ROUTER_ACL).all()
    return (tuple(NodeAddress(r.c1, r.c2) for r in rows if r.part == 0),
            tuple(CarrierSource(r.c1, r.c2, r.c3 or "") for r in rows if r.part == 1))


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
