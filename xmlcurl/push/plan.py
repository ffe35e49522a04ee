"""What to tell which node after a change: a pure function from change descriptions to commands.

FreeSWITCH facts it relies on: `sofia profile P rescan` adds new gateways but skips loaded ones,
so a changed gateway is killed first; `reloadacl` re-fetches acl.conf; a directory user cached
with `cacheable` stays until `xml_flush_cache id <user> <domain>` or expiry; mod_hash's
`hash_remote rescan` re-fetches hash.conf but only adds remotes whose name it does not have yet
(mod_hash.c do_config), so a changed or removed remote is dropped first with `hash_remote kill <name>`.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

# Everything that reaches a command line: names and domains only, never spaces or newlines.
log = logging.getLogger("xmlcurl.push")

SAFE_ARG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,252}")


class PlanError(ValueError):
    """A name that cannot be put on an event-socket command line."""


@dataclass(frozen=True)
class NodeInfo:
    """A node as the push sees it (plain data, no ORM)."""

    id: int
    name: str
    role: str
    address: str  # where its event socket listens
    enabled: bool = True
    esl_port: int | None = None
    esl_password_enc: str | None = None


@dataclass(frozen=True)
class Cluster:
    """The nodes, which media nodes serve each tenant, and each tenant's SIP domain."""

    nodes: tuple[NodeInfo, ...]
    tenant_media: Mapping[int, frozenset[int]] = field(default_factory=dict)
    tenant_domains: Mapping[int, str] = field(default_factory=dict)

    def enabled(self, role: str) -> list[NodeInfo]:
        return [n for n in self.nodes if n.enabled and n.role == role]


@dataclass(frozen=True)
class GatewayChange:
    """A carrier gateway added, changed or removed; `acl` when its source addresses changed."""

    name: str
    old_name: str | None = None
    acl: bool = False


@dataclass(frozen=True)
class UserChange:
    """A SIP user's credentials or variables changed (or the user was removed or renamed)."""

    tenant_id: int
    username: str


@dataclass(frozen=True)
class NodeChange:
    """A node added, removed, readdressed, renamed, enabled or disabled."""

    name: str
    role: str
    old_name: str | None = None


@dataclass(frozen=True)
class EslChange:
    """A node's event-socket address, port or password changed: the other nodes' mod_hash remote for it."""

    name: str
    role: str


@dataclass(frozen=True)
class PinningChange:
    """A tenant pinned to or unpinned from a media node (a weight alone changes only the dialplan)."""

    tenant_id: int
    node_id: int


Change = GatewayChange | UserChange | NodeChange | EslChange | PinningChange


#: Lists the node's mod_hash remotes; a plan with `keep_remotes` kills every listed one not kept.
LIST_REMOTES = "hash_remote list"


@dataclass(frozen=True)
class NodePlan:
    node: NodeInfo
    commands: tuple[str, ...]
    #: When set, the runner answers LIST_REMOTES by killing each listed remote not named here.
    keep_remotes: frozenset[str] | None = None


class _Commands:
    """Commands for one node, deduplicated and in a safe order: ACLs, gateways, mod_hash remotes, flushes."""

    def __init__(self) -> None:
        self.reloadacl = False
        self.killgw: dict[str, list[str]] = {}
        self.remote_kills: list[str] = []
        self.remote_rescan = False
        self.flushes: list[str] = []
        self.flush_all = False

    def remotes(self, *names: str | None) -> None:
        """Drop these mod_hash remotes (when the node has them) and re-read hash.conf."""
        for name in names:
            if name and name not in self.remote_kills:
                self.remote_kills.append(name)
        self.remote_rescan = True

    def kill(self, profile: str, gateway: str) -> None:
        names = self.killgw.setdefault(profile, [])
        if gateway not in names:
            names.append(gateway)

    def flush(self, username: str, domain: str) -> None:
        command = f"xml_flush_cache id {_arg(username)} {_arg(domain)}"
        if command not in self.flushes:
            self.flushes.append(command)

    def lines(self) -> tuple[str, ...]:
        out = ["reloadacl"] if self.reloadacl else []
        for profile, names in self.killgw.items():
            out += [f"sofia profile {_arg(profile)} killgw {_arg(name)}" for name in names]
            out.append(f"sofia profile {_arg(profile)} rescan")
        out += [f"hash_remote kill {_arg(name)}" for name in self.remote_kills]
        if self.remote_rescan:
            out.append("hash_remote rescan")
        # With no arguments xml_flush_cache clears every cached user (mod_commands.c).
        return tuple(out + (["xml_flush_cache"] if self.flush_all else self.flushes))


def _arg(value: str) -> str:
    if not SAFE_ARG.fullmatch(value):
        raise PlanError(f"{value!r} cannot be sent on an event-socket command line")
    return value


def _check(change: Change) -> None:
    for value in vars(change).values():
        if isinstance(value, str):
            _arg(value)


def plan(changes: Iterable[Change], cluster: Cluster, settings: Mapping[str, Any]) -> list[NodePlan]:
    """The commands each node needs after CHANGES, nodes in cluster order; nodes with nothing to do left out."""
    per_node: dict[int, _Commands] = {}

    def on(node: NodeInfo) -> _Commands:
        return per_node.setdefault(node.id, _Commands())

    carrier, cluster_profile = settings["CARRIER_PROFILE"], settings["CLUSTER_PROFILE"]
    prefix = settings["ROUTER_GATEWAY_PREFIX"]
    for change in changes:
        try:
            _check(change)
        except PlanError as exc:
            # Plain SQL can store what the schemas refuse: skip that change, push the others.
            log.warning("push: change skipped: %s", exc)
            continue
        if isinstance(change, GatewayChange):
            for router in cluster.enabled("router"):
                if change.acl:
                    on(router).reloadacl = True
                for name in dict.fromkeys(n for n in (change.old_name, change.name) if n):
                    on(router).kill(carrier, name)
        elif isinstance(change, UserChange):
            domain = cluster.tenant_domains.get(change.tenant_id)
            if domain is None:
                continue
            for node in cluster.enabled("media"):
                if node.id in cluster.tenant_media.get(change.tenant_id, ()):
                    on(node).flush(change.username, domain)
        elif isinstance(change, NodeChange):
            names = tuple(dict.fromkeys(n for n in (change.old_name, change.name) if n))
            # A media node is in the routers' `media-nodes` list and, for the media nodes sharing a
            # tenant with it, in their `cluster` profile's list; a router is in the media nodes'
            # `routers` list and is their cluster-profile gateway `router-<name>`.
            if change.role == "media":
                for router in cluster.enabled("router"):
                    on(router).reloadacl = True
                for media in cluster.enabled("media"):
                    if media.name not in names:
                        on(media).reloadacl = True
            elif change.role == "router":
                for media in cluster.enabled("media"):
                    on(media).reloadacl = True
                    for name in names:
                        on(media).kill(cluster_profile, prefix + name)
            # Every node of the role has the others as mod_hash remotes (hash.conf).
            for peer in cluster.enabled(change.role):
                if peer.name not in names:
                    on(peer).remotes(*names)
        elif isinstance(change, EslChange):
            for peer in cluster.enabled(change.role):
                if peer.name != change.name:
                    on(peer).remotes(change.name)
        elif isinstance(change, PinningChange):
            # The media nodes that share the tenant admit each other on their cluster profile.
            for media in cluster.enabled("media"):
                if media.id == change.node_id or media.id in cluster.tenant_media.get(change.tenant_id, ()):
                    on(media).reloadacl = True
                if media.id == change.node_id and settings.get("DIRECTORY_CACHEABLE_MS"):
                    # Users of a tenant unpinned from this node must not stay cached on it.
                    on(media).flush_all = True
        else:
            raise TypeError(f"not a change: {change!r}")
    return [NodePlan(node, per_node[node.id].lines()) for node in cluster.nodes if node.id in per_node]


def expected_remotes(cluster: Cluster, node: NodeInfo) -> frozenset[str]:
    """The remotes hash.conf gives NODE: the other enabled nodes of its role with event-socket credentials."""
    return frozenset(n.name for n in cluster.enabled(node.role)
                     if n.id != node.id and n.esl_port and n.esl_password_enc)


def full_resync(cluster: Cluster, settings: Mapping[str, Any], node_name: str | None = None) -> list[NodePlan]:
    """The manual push: every enabled node (or NODE) reloads its ACLs, every gateway it holds and its remotes.

    Routers kill and rescan all carrier gateways, media nodes all cluster-profile gateways
    (`killgw _all_` then `rescan`), so deleted gateways go and changed ones come back changed.
    mod_hash remotes the node should not have (deleted, disabled, renamed nodes) are killed, then
    `hash_remote rescan` adds the missing ones. Remotes are not all killed and re-added: each kill
    waits for the remote's poll thread (up to its interval), and a killed remote counts nothing until
    it is back. Cached directory users are not flushed here: they expire after XMLCURL_DIRECTORY_CACHEABLE_MS.
    """
    profiles = {"router": settings["CARRIER_PROFILE"], "media": settings["CLUSTER_PROFILE"]}
    plans = []
    for node in cluster.nodes:
        if node_name is not None and node.name != node_name:
            continue
        if not node.enabled and node_name is None:
            continue
        profile = _arg(profiles[node.role])
        plans.append(NodePlan(node, ("reloadacl", f"sofia profile {profile} killgw _all_",
                                     f"sofia profile {profile} rescan", LIST_REMOTES, "hash_remote rescan"),
                              keep_remotes=expected_remotes(cluster, node)))
    return plans
