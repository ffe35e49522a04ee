"""Section `configuration`: `sofia.conf`, `acl.conf` and `hash.conf` for each node role; every other file is `not found`."""
from __future__ import annotations

import logging
from typing import Callable

from lxml import etree

from ...logging_setup import loggable
from .. import scopes
from ..context import FetchContext
from ..registry import handles
from ..xmldoc import serialise
from . import acl, remotes, session_db, sofia

log = logging.getLogger("xmlcurl.fetch.configuration")

#: mod_xml_curl's hard-coded XML_CURL_MAX_BYTES.
MAX_ANSWER_BYTES = 1024 * 1024
# Above this many gateways (about 180 bytes each) the answer's size is measured and an overflow logged.
LARGE_ANSWER_GATEWAYS = 2000
#: What the files are made of: nodes, gateways, and the pinning of every tenant (media peers).
FILE_SCOPE = scopes.shared("nodes", "gateways") + scopes.any_of("tenant_nodes")


def sofia_conf(ctx: FetchContext) -> etree._Element | None:
    """All of the node's profiles, or only the one named by `profile` (also on a rescan, `reconfig=true`)."""
    names = sofia.profile_names(ctx.node.role, ctx.settings)
    wanted = ctx.request.get("profile")
    if wanted:
        ctx.key = f"sofia.conf/{wanted}"
        if wanted not in names:
            ctx.outcome = f"profile {loggable(wanted)} is not one of this node's"
            return None
        names = (wanted,)
    profiles = [sofia.profile_for(ctx.node, name, ctx.settings, _gateways(ctx, name)) for name in names]
    dsn = ctx.cached(("session-db-dsn",),
                     lambda: session_db.session_db_dsn(ctx.session, ctx.node.id, ctx.node.name, ctx.settings), FILE_SCOPE)
    profiles = [session_db.with_session_db(p, dsn) for p in profiles]
    doc = sofia.build_sofia(profiles)
    if sum(len(p.gateways) for p in profiles) > LARGE_ANSWER_GATEWAYS:
        size = len(serialise(doc))
        if size > MAX_ANSWER_BYTES:
            # mod_xml_curl drops it ("Oversized file detected") and the node keeps its static file.
            log.error("sofia.conf for %s is %d bytes, over mod_xml_curl's %d: the node will not load it",
                      ctx.node.name, size, MAX_ANSWER_BYTES)
            ctx.outcome = f"answer of {size} bytes exceeds mod_xml_curl's limit"
    return doc


def _gateways(ctx: FetchContext, profile: str) -> tuple[sofia.GatewayConf, ...]:
    """The gateways a profile holds: routers on a media node's cluster profile, carriers on a router's carrier profile."""
    settings = ctx.settings
    if ctx.node.role == "media" and profile == settings["CLUSTER_PROFILE"]:
        prefix, ping = settings["ROUTER_GATEWAY_PREFIX"], settings["ROUTER_GATEWAY_PING_SECONDS"]
        return ctx.cached(("router-gateways", prefix, ping),
                          lambda: sofia.enabled_router_gateways(ctx.session, prefix, ping), FILE_SCOPE)
    if ctx.node.role == "router" and profile == settings["CARRIER_PROFILE"]:
        return ctx.cached(("carrier-gateways",), lambda: sofia.enabled_carrier_gateways(ctx.session), FILE_SCOPE)
    return ()


def acl_conf(ctx: FetchContext) -> etree._Element:
    """Every list this node's profiles reference: `routers` and `media-peers` on media nodes, `media-nodes` and
    `carriers` on routers."""
    if ctx.node.role == "media":
        routers = ctx.cached(("nodes", "router"), lambda: acl.enabled_node_addresses(ctx.session, "router"), FILE_SCOPE)
        peers = ctx.cached(("media-peers",), lambda: acl.media_peer_addresses(ctx.session, ctx.node.id), FILE_SCOPE)
        return acl.build_acl([acl.AclList(acl.ROUTERS, acl.node_cidrs(routers)),
                              acl.AclList(acl.MEDIA_PEERS, acl.node_cidrs(peers))])
    media = ctx.cached(("nodes", "media"), lambda: acl.enabled_node_addresses(ctx.session, "media"), FILE_SCOPE)
    carriers = ctx.cached(("carrier-sources",), lambda: acl.enabled_carrier_sources(ctx.session), FILE_SCOPE)
    return acl.build_acl([acl.AclList(acl.MEDIA_NODES, acl.node_cidrs(media)),
                          acl.AclList(acl.CARRIERS, acl.carrier_cidrs(carriers))])


def hash_conf(ctx: FetchContext) -> etree._Element:
    """mod_hash's remotes: the other enabled nodes of this node's role that have event-socket credentials."""
    peers = ctx.cached(("esl-remotes", ctx.node.role),
                       lambda: remotes.enabled_remotes(ctx.session, ctx.node.role, ctx.settings), FILE_SCOPE)
    return remotes.build_hash(peers, ctx.node.id, ctx.settings["HASH_REMOTE_INTERVAL_MS"])


FILES: dict[str, Callable[[FetchContext], "etree._Element | None"]] = {
    "sofia.conf": sofia_conf,
    "acl.conf": acl_conf,
    "hash.conf": hash_conf,
}


@handles("configuration", "media", "router")
def configuration(ctx: FetchContext) -> bytes | None:
    """Answer the configuration files xmlcurl owns; the node keeps its local files for all others."""
    req = ctx.request
    ctx.key = req.key_value
    if req.tag_name != "configuration" or req.key_name != "name":
        ctx.outcome = "not a configuration file lookup"
        return None
    build = FILES.get(req.key_value)
    if build is None:
        ctx.outcome = f"{loggable(req.key_value) or '-'} is left to the node's own files"
        return None
    # A file depends only on the node (first in every cache key) and the profile asked for.
    return ctx.cached_document((req.key_value, req.get("profile")), lambda: build(ctx), FILE_SCOPE)
