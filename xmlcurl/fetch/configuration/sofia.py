"""`sofia.conf`: this node's profiles (media: users + cluster; router: cluster + carrier) and their gateways."""
from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from lxml import etree
from sqlalchemy import text

from ..context import NodeIdentity, Reads
from ..xmldoc import UnsafeValue, document, element, params, safe
from .acl import CARRIERS, MEDIA_NODES, MEDIA_PEERS, ROUTERS

log = logging.getLogger("xmlcurl.fetch.configuration")

# sofia.c parse_gateways: names outside this are ignored ("Ignoring invalid name"); \w is ASCII there.
GATEWAY_NAME = re.compile(r"[\w.-]+", re.ASCII)
# sofia ignores a ping interval below 5 seconds ("ERROR: invalid ping!").
MIN_PING = 5

#: Settings every profile carries; without a timer media stalls when one side is silent.
COMMON_SETTINGS: tuple[tuple[str, str], ...] = (
    ("dialplan", "XML"),
    ("inbound-codec-prefs", "PCMU,PCMA"),
    ("outbound-codec-prefs", "PCMU,PCMA"),
    ("rtp-timer-name", "soft"),
    ("dtmf-type", "rfc2833"),
    ("manage-presence", "false"),
)

USERS_SETTINGS = (
    ("auth-calls", "true"),
    # The digest realm is the tenant's domain: a1-hash = md5(user:tenant-domain:password).
    ("challenge-realm", "auto_from"),
    ("accept-blind-reg", "false"),
    ("accept-blind-auth", "false"),
    ("inbound-reg-force-matching-username", "true"),
)


def acl_settings(*acls: str, late_negotiation: bool) -> tuple[tuple[str, str], ...]:
    """A profile open only to the addresses of these acl.conf lists (sofia admits a call any of them allows),
    with REGISTER refused."""
    items = (("auth-calls", "false"), *(("apply-inbound-acl", acl) for acl in acls), ("disable-register", "true"))
    return items + ((("inbound-late-negotiation", "true"),) if late_negotiation else ())


@dataclass(frozen=True)
class GatewayConf:
    """A sofia gateway as stored (carrier) or derived (a media node's gateway to a router)."""

    name: str
    proxy: str
    register: bool = False
    realm: str | None = None
    username: str | None = None
    password: str | None = None
    expire_seconds: int = 3600
    retry_seconds: int = 30
    caller_id_in_from: bool = True
    ping_seconds: int | None = None
    transport: str = "udp"


@dataclass(frozen=True)
class ProfileConf:
    name: str
    address: str
    port: int
    context: str
    settings: tuple[tuple[str, str], ...] = ()
    gateways: tuple[GatewayConf, ...] = ()


# --- the one query of each role ------------------------------------------------------------------

#: A media node's sofia.conf: 0 its session database DSN (c1, encrypted), then, when its cluster profile
#: is asked for, 1 the enabled routers (c1 name, c2 sip_address, n1 cluster_port), by name.
MEDIA_SOFIA = text("""
SELECT 0 AS part, session_db_dsn_enc AS c1, NULL AS c2, NULL AS n1 FROM nodes WHERE id = :node_id
UNION ALL
SELECT 1, name, sip_address, cluster_port FROM nodes WHERE role = 'router' AND enabled = 1 AND :with_gateways = 1
ORDER BY 1, 2
""")

#: A router's sofia.conf: 0 its session database DSN (c1, encrypted), then, when its carrier profile is
#: asked for, 1 every enabled carrier gateway, by name (plain columns, no ORM objects: 5,000 rows stay cheap).
ROUTER_SOFIA = text("""
SELECT 0 AS part, session_db_dsn_enc AS c1, NULL AS proxy, NULL AS realm, NULL AS username, NULL AS password,
       NULL AS transport, NULL AS register, NULL AS expire_seconds, NULL AS retry_seconds,
       NULL AS caller_id_in_from, NULL AS ping_seconds
FROM nodes WHERE id = :node_id
UNION ALL
SELECT 1, name, proxy, realm, username, password, transport, register, expire_seconds, retry_seconds,
       caller_id_in_from, ping_seconds
FROM gateways WHERE enabled = 1 AND :with_gateways = 1
ORDER BY 1, 2
""")


def sofia_sources(conn: Reads, node: NodeIdentity, with_gateways: bool, prefix: str,
                  ping_seconds: int) -> tuple[str | None, tuple[GatewayConf, ...]]:
    """The node's encrypted session database DSN and, if asked, its gateways (a media node's to each enabled
    router's cluster port, a router's carriers), in one statement."""
    if node.role == "media":
        rows = conn.execute(MEDIA_SOFIA, {"node_id": node.id, "with_gateways": 1 if with_gateways else 0}).all()
        gateways = tuple(
            GatewayConf(name=f"{prefix}{r.c1}", proxy=host_port(r.c2, r.n1),
                        register=False, caller_id_in_from=True, ping_seconds=ping_seconds)
            for r in rows if r.part == 1
        )
    else:
        rows = conn.execute(ROUTER_SOFIA, {"node_id": node.id, "with_gateways": 1 if with_gateways else 0}).all()
        gateways = tuple(
            GatewayConf(name=r.c1, proxy=r.proxy, register=bool(r.register), realm=r.realm or None,
                        username=r.username or None, password=r.password or None,
                        expire_seconds=r.expire_seconds, retry_seconds=r.retry_seconds,
                        caller_id_in_from=bool(r.caller_id_in_from), ping_seconds=r.ping_seconds, transport=r.transport)
            for r in rows if r.part == 1
        )
    token = next((r.c1 for r in rows if r.part == 0), None)
    return token, gateways


# --- profiles of each role ---------------------------------------------------------------------

def host_port(address: str, port: int) -> str:
    """`address:port`, with an IPv6 address in brackets."""
    try:
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]:{port}"
    except ValueError:
        pass
    return f"{address}:{port}"


def profile_names(role: str, settings: Mapping[str, object]) -> tuple[str, ...]:
    """This role's profiles, in answer order."""
    if role == "media":
        return (str(settings["MEDIA_USER_PROFILE"]), str(settings["CLUSTER_PROFILE"]))
    return (str(settings["CLUSTER_PROFILE"]), str(settings["CARRIER_PROFILE"]))


def profile_for(node: NodeIdentity, name: str, settings: Mapping[str, object],
                gateways: tuple[GatewayConf, ...] = ()) -> ProfileConf:
    """One of the node's profiles (`name` must be one of profile_names()); gateways as queried for it."""
    if node.role == "media" and name == settings["MEDIA_USER_PROFILE"]:
        return ProfileConf(name, node.sip_address, node.sip_port, str(settings["NO_TENANT_CONTEXT"]), USERS_SETTINGS)
    if node.role == "media":
        return ProfileConf(name, node.sip_address, node.cluster_port, str(settings["FROM_ROUTER_CONTEXT"]),
                           acl_settings(ROUTERS, MEDIA_PEERS, late_negotiation=False), gateways)
    if name == settings["CLUSTER_PROFILE"]:
        return ProfileConf(name, node.sip_address, node.cluster_port, str(settings["FROM_MEDIA_CONTEXT"]),
                           acl_settings(MEDIA_NODES, late_negotiation=True))
    return ProfileConf(name, node.sip_address, node.sip_port, str(settings["FROM_CARRIER_CONTEXT"]),
                       acl_settings(CARRIERS, late_negotiation=True), gateways)


# --- builder -----------------------------------------------------------------------------------

def gateway_params(gw: GatewayConf) -> list[tuple[str, object]]:
    """The gateway's params; sofia's own defaults are left out (5,000 gateways must fit in 1 MiB),
    except `register`, which defaults to true and is therefore always written."""
    items: list[tuple[str, object]] = [("proxy", gw.proxy), ("register", "true" if gw.register else "false")]
    if gw.realm:
        items.append(("realm", gw.realm))
    if gw.username:
        items.append(("username", gw.username))
    if gw.password:
        items.append(("password", gw.password))
    if gw.register:
        # Registration timers only mean something for a registering gateway.
        items += [("expire-seconds", gw.expire_seconds), ("retry-seconds", gw.retry_seconds)]
    items.append(("caller-id-in-from", "true" if gw.caller_id_in_from else "false"))
    if gw.ping_seconds is not None and gw.ping_seconds >= MIN_PING:
        items.append(("ping", gw.ping_seconds))
    if gw.register or gw.transport != "udp":
        items.append(("register-transport", gw.transport))
    return items


def gateway_problem(gw: GatewayConf) -> str | None:
    """Why sofia would drop or misread this gateway, or None."""
    if not GATEWAY_NAME.fullmatch(gw.name):
        return "its name is not letters, digits, '_', '.' or '-'"
    if gw.register and not (gw.username and gw.password):
        return "it registers but has no username and password"
    if gw.transport == "tls":
        # sofia drops a TLS gateway on a profile without TLS ("unsupported transport"); ours have none.
        return "TLS is not enabled on xmlcurl's profiles"
    return None


def gateway_element(gw: GatewayConf) -> etree._Element | None:
    """A detached <gateway>, or None (logged) when sofia would drop it or a value is unsafe."""
    problem = gateway_problem(gw)
    if problem is None:
        gateway = etree.Element("gateway")
        try:
            gateway.set("name", safe(gw.name))
            params_into(gateway, gateway_params(gw))
            return gateway
        except UnsafeValue as exc:
            problem = str(exc)
    log.warning("sofia.conf: gateway %r skipped: %s", gw.name, problem)
    return None


def params_into(parent: etree._Element, items: Iterable[tuple[str, object]]) -> None:
    for name, value in items:
        element(parent, "param", name=name, value=value)


def profile_settings(profile: ProfileConf) -> list[tuple[str, object]]:
    address = profile.address
    return [
        ("sip-ip", address), ("sip-port", profile.port), ("rtp-ip", address),
        ("ext-rtp-ip", address), ("ext-sip-ip", address), ("context", profile.context),
        *COMMON_SETTINGS, *profile.settings,
    ]


def profile_element(profile: ProfileConf, taken: set[str]) -> etree._Element | None:
    """A detached <profile> with its gateways; `taken` holds gateway names already used on this node."""
    node = etree.Element("profile")
    try:
        node.set("name", safe(profile.name))
        gateways = etree.SubElement(node, "gateways")
        etree.SubElement(node, "domains")
        params(node, "settings", profile_settings(profile))
    except UnsafeValue as exc:
        log.warning("sofia.conf: profile %r skipped: %s", profile.name, exc)
        return None
    for gw in profile.gateways:
        if gw.name in taken:
            # sofia's gateway names are global across profiles: a second one would be ignored.
            log.warning("sofia.conf: gateway %r skipped: the name is already used on this node", gw.name)
            continue
        gateway = gateway_element(gw)
        if gateway is not None:
            taken.add(gw.name)
            gateways.append(gateway)
    return node


def build_sofia(profiles: Sequence[ProfileConf]) -> etree._Element:
    """The sofia.conf document for the profiles given, one element per line without indentation."""
    doc, section = document("configuration")
    conf = element(section, "configuration", name="sofia.conf", description="sofia Endpoint (xmlcurl)")
    params(conf, "global_settings", [("log-level", 0)])
    container = etree.SubElement(conf, "profiles")
    taken: set[str] = set()
    for profile in profiles:
        node = profile_element(profile, taken)
        if node is not None:
            container.append(node)
    one_element_per_line(doc)
    return doc


def one_element_per_line(root: etree._Element) -> None:
    """Newlines between elements and no indentation: lxml's pretty printer keeps existing whitespace,
    and indentation alone would be a third of a 5,000-gateway answer."""
    for el in root.iter():
        if len(el):
            el.text = "\n"
        el.tail = "\n"
