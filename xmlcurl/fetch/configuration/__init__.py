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
    # The document itself is cached (see `configuration`): its rows are read in one statement, not kept apart.
    settings = ctx.settings
    gateway_profile = settings["CLUSTER_PROFILE"] if ctx.node.role == "media" else settings["CARRIER_PROFILE"]
    token, gateways = sofia.sofia_sources(ctx.session, ctx.node, gateway_profile in names,
                                          settings["ROUTER_GATEWAY_PREFIX"], settings["ROUTER_GATEWAY_PING_SECONDS"])
    profiles = [sofia.profile_for(ctx.node, name, settings, gateways if name == gateway_profile else ())
                for name in names]
    dsn = session_db.usable_dsn(token, ctx.node.name, settings)
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


def acl_conf(ctx: FetchContext) -> etree._Element:
    """Every list this node's profiles reference: `routers` and `media-peers` on media nodes, `media-nodes` and
    `carriers` on routers."""
    # The document itself is cached (see `configuration`): its rows are read in one statement, not kept apart.
    if ctx.node.role == "media":
        routers, peers = acl.media_acl_sources(ctx.session, ctx.node.id)
        return acl.build_acl([acl.AclList(acl.ROUTERS, acl.node_cidrs(routers)),
                              acl.AclList(acl.MEDIA_PEERS, acl.node_cidrs(peers))])
    media, carriers = acl.router_acl_sources(ctx.session)
    return acl.build_acl([acl.AclList(acl.MEDIA_NODES, acl.node_cidrs(media)),
                          acl.AclList(acl.CARRIERS, acl.carrier_cidrs(carriers))])


def hash_conf(ctx: FetchContext) -> etree._Element:
    """mod_hash's remotes: the other enabled nodes of this node's role that have event-socket credentials."""
    # Read within the document's own cache entry (same scope): a second entry would never hit alone.
    peers = remotes.enabled_remotes(ctx.session, ctx.node.role, ctx.settings)
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
