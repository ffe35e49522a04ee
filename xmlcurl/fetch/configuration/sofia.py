"""`sofia.conf`: this node's profiles (media: users + cluster; router: cluster + carrier) and their gateways."""
from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from ...models import Gateway, Node
from ..context import NodeIdentity
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


# --- queries -----------------------------------------------------------------------------------

def enabled_router_gateways(session: Session, prefix: str, ping_seconds: int) -> tuple[GatewayConf, ...]:
    """A media node's gateway to each enabled router's cluster port (one query on the small nodes table)."""
    rows = session.execute(
        select(Node.name, Node.sip_address, Node.cluster_port)
        .where(Node.role == "router", Node.enabled.is_(True))
        .order_by(Node.name)
    ).all()
    return tuple(
        GatewayConf(name=f"{prefix}{r.name}", proxy=host_port(r.sip_address, r.cluster_port),
                    register=False, caller_id_in_from=True, ping_seconds=ping_seconds)
        for r in rows
    )


def enabled_carrier_gateways(session: Session) -> tuple[GatewayConf, ...]:
    """Every enabled carrier gateway, in one query (plain columns, no ORM objects: 5,000 rows stay cheap)."""
    rows = session.execute(
        select(Gateway.name, Gateway.proxy, Gateway.register, Gateway.realm, Gateway.username, Gateway.password,
               Gateway.expire_seconds, Gateway.retry_seconds, Gateway.caller_id_in_from, Gateway.ping_seconds,
               Gateway.transport)
        .where(Gateway.enabled.is_(True))
        .order_by(Gateway.name)
    ).all()
    return tuple(
        GatewayConf(name=r.name, proxy=r.proxy, register=bool(r.register), realm=r.realm or None,
                    username=r.username or None, password=r.password or None,
                    expire_seconds=r.expire_seconds, retry_seconds=r.retry_seconds,
                    caller_id_in_from=bool(r.caller_id_in_from), ping_seconds=r.ping_seconds, transport=r.transport)
        for r in rows
    )


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
