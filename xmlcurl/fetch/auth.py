"""Who is asking: the node behind a fetch's HTTP Basic credentials, from an address it may use."""
from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..logging_setup import loggable
from ..models import Node
from ..secrets import GOOD, UNDECIDED, NodeSecretCache
from .cache import POLL, changes_lost
from .context import NodeIdentity, Reads
from .kept import kept

log = logging.getLogger("xmlcurl.fetch")

_secret_cache = NodeSecretCache()
# What an unknown username's secret is checked against: a stored value no node has, whose "right"
# secret is random, so the check costs what a wrong secret for a real node costs (one digest).
_UNKNOWN_NODE_HASH = "unknown-node"

#: Every reason a fetch is refused for who or where it comes from (the metric's label values).
NO_CREDENTIALS = "no credentials"
UNKNOWN_NODE = "unknown node"
WRONG_SECRET = "wrong secret"
NODE_DISABLED = "node disabled"
SOURCE_NOT_ALLOWED = "source not allowed"
HOSTNAME_MISMATCH = "hostname mismatch"
SOURCE_THROTTLED = "source throttled"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class AuthFailure:
    """Why a fetch was refused; `status` is the HTTP status to answer, `detail` is for the log only."""

    status: int
    reason: str
    username: str = ""
    detail: str = ""


@dataclass(frozen=True)
class NodeCredentials:
    """A node's stored credentials and identity, as plain data (what the fetch cache may keep)."""

    identity: NodeIdentity
    secret_hash: str
    enabled: bool
    #: Where the node's fetches may come from; empty: anywhere.
    allowed_sources: tuple[Network, ...] = ()


#: How a caller may remember credentials: (key parts, loader) -> the loader's result.
CredentialLookup = Callable[[tuple[str, str], Callable[[], "NodeCredentials | None"]], "NodeCredentials | None"]


def parse_sources(text: str) -> tuple[Network, ...]:
    """The networks of a space (or comma) separated list of addresses and CIDRs; an unparsable entry allows nothing."""
    networks = []
    for item in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            # A typo must not open the node to everyone: keep an entry that matches no address.
            log.error("nodes.allowed_sources entry %s is not an address or CIDR; it allows nothing", loggable(item))
            networks.append(ipaddress.ip_network("0.0.0.0/32"))
    return tuple(networks)


def source_allowed(allowed: tuple[Network, ...], peer: str | None) -> bool:
    """Whether `peer` is inside the allow-list (an empty list allows any address)."""
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == net.version and address in net for net in allowed)


#: The node behind an HTTP username (unique key); compiled once, columns only (no ORM objects).
_NODE_BY_USERNAME = select(
    Node.id, Node.name, Node.role, Node.sip_address, Node.sip_port, Node.cluster_port,
    Node.http_secret_hash, Node.enabled, Node.allowed_sources,
).where(Node.http_username == bindparam("username"))


def load_credentials(conn: Reads, username: str) -> NodeCredentials | None:
    """The node with this HTTP username (unique key lookup), enabled or not."""
    node = conn.execute(_NODE_BY_USERNAME, {"username": username}).first()
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
    return NodeCredentials(identity, node.http_secret_hash, bool(node.enabled),
                           parse_sources(node.allowed_sources or ""))


#: `since` for the first poll, which needs no changes.
_NO_CHANGES = 2**62


class HeldCredentials:
    """Node credentials kept by a worker whose fetch cache is off, until a change to the nodes table.

    With the cache on, credentials are cache entries scoped to the nodes table; without it this
    polls the version and what changed itself, at most every `seconds` (the cache's poll interval),
    so a disabled node or a new secret is seen within the same freshness promise while a fetch does
    not read its node's row, and changes to tenants, users or routes keep them held. A new epoch, a
    version that went back, or more changes than the ring kept drop them too. A failed poll keeps
    what is held. Only nodes found are kept (an unknown username cannot fill the worker's memory).
    """

    def __init__(self, seconds: float, max_nodes: int = 1000, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.max_nodes = max_nodes
        self._clock = clock
        self._held: dict[str, NodeCredentials] = {}
        self._version: int | None = None
        self._epoch: str | None = None
        self._poll_due = float("-inf")
        self._lock = threading.Lock()

    def _follow_version(self, open_conn: Callable[[], Reads]) -> None:
        now = self._clock()
        if now < self._poll_due:
            return
        self._poll_due = now + self.seconds
        since = self._version if self._version is not None else _NO_CHANGES
        try:
            rows = open_conn().execute(POLL, {"since": since}).all()
        except SQLAlchemyError:
            return
        with self._lock:
            if not rows:
                self._held.clear()
                self._version = self._epoch = None
                return
            version, epoch = int(rows[0].version), rows[0].epoch
            tables = [row.table_name for row in rows if row.table_name is not None]
            if self._version is None or "nodes" in tables \
                    or changes_lost(self._epoch, self._version, epoch, version, len(tables)):
                self._held.clear()
            self._version, self._epoch = version, epoch

    def lookup(self, parts: tuple[str, str], loader: Callable[[], "NodeCredentials | None"],
               open_conn: Callable[[], Reads]) -> "NodeCredentials | None":
        """The held credentials for `parts` while the version stands, else `loader()`'s."""
        self._follow_version(open_conn)
        held = self._held.get(parts[1])
        if held is not None:
            return held
        found = loader()
        if found is not None:
            with self._lock:
                if len(self._held) >= self.max_nodes:
                    self._held.clear()
                self._held[parts[1]] = found
        return found


def held_credentials(extensions: dict, seconds: float) -> HeldCredentials:
    """The app's held credentials (one per app, so per gunicorn worker), for a worker without fetch cache."""
    return kept(extensions, "xmlcurl.held_credentials", lambda: HeldCredentials(seconds))


@lru_cache(maxsize=1)
def _unknown_node_registered() -> str:
    _secret_cache.remember_good(_UNKNOWN_NODE_HASH, secrets.token_bytes(32))
    return _UNKNOWN_NODE_HASH


def _never() -> bool:
    return False


class SourceLimiter:
    """How many argon2 verifications each source address may cause: a token bucket per address.

    argon2 runs only for a secret the worker cannot decide from its cache (see NodeSecretCache);
    a source that keeps sending such secrets gets fast 401s instead of CPU time, while a node whose
    right secret is known is never held back. IPv6 sources count per /64. Bounded, per worker.
    """

    def __init__(self, burst: int = 10, refill_seconds: float = 5.0, max_sources: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.max_sources = max_sources
        self._clock = clock
        #: source -> [tokens, time of the last update]
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _source(peer: str | None) -> str:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return peer or "-"
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is not None:
                return str(address.ipv4_mapped)
            return str(ipaddress.ip_network(f"{address}/64", strict=False))
        return str(address)

    def allow(self, peer: str | None) -> bool:
        """Take one verification from the source's bucket; False when it is empty."""
        source = self._source(peer)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(source)
            if bucket is None:
                bucket = self._buckets[source] = [float(self.burst), now]
                while len(self._buckets) > self.max_sources:
                    self._buckets.popitem(last=False)
            tokens = min(float(self.burst), bucket[0] + (now - bucket[1]) / self.refill_seconds)
            self._buckets.move_to_end(source)
            if tokens < 1:
                bucket[0], bucket[1] = tokens, now
                return False
            bucket[0], bucket[1] = tokens - 1, now
            return True


def source_limiter(extensions: dict, burst: int = 10) -> SourceLimiter:
    """The app's per-source limiter of argon2 work (one per app, so per gunicorn worker)."""
    return kept(extensions, "xmlcurl.auth_sources", lambda: SourceLimiter(burst=burst))


def authenticate(open_session: Callable[[], Reads], username: str | None, secret: str | None,
                 lookup: CredentialLookup | None = None, peer: str | None = None,
                 limiter: SourceLimiter | None = None) -> NodeIdentity | AuthFailure:
    """The enabled node whose credentials these are, asking from an allowed address, or why not.

    An unknown username costs what a wrong secret costs (one keyed digest; argon2 runs only until a
    worker has seen a node's right secret, within the source's `limiter` budget), and where a node
    may fetch from is only checked, and told, once its secret is right. `open_session` is called
    only when the credentials must be loaded.
    """
    if not username or secret is None:
        return AuthFailure(401, NO_CREDENTIALS)

    def load() -> NodeCredentials | None:
        return load_credentials(open_session(), username)

    node = lookup(("node", username), load) if lookup is not None else load()
    if node is None:
        _secret_cache.check(_unknown_node_registered(), secret, _never)
        return AuthFailure(401, UNKNOWN_NODE, username)
    # The presented secret is checked on every fetch, against the hash of the current version.
    verdict = _secret_cache.check(node.secret_hash, secret,
                                  (lambda: limiter.allow(peer)) if limiter is not None else (lambda: True))
    if verdict == UNDECIDED:
        return AuthFailure(401, SOURCE_THROTTLED, username, "too many secrets to verify from this address")
    if verdict != GOOD:
        return AuthFailure(401, WRONG_SECRET, username)
    if not node.enabled:
        return AuthFailure(401, NODE_DISABLED, username)
    if not source_allowed(node.allowed_sources, peer):
        return AuthFailure(403, SOURCE_NOT_ALLOWED, username, f"{peer} is not in the node's allowed_sources")
    return node.identity


def check_hostname(node: NodeIdentity, hostname: str) -> AuthFailure | None:
    """The body's hostname (the switchname) must be the authenticated node's own."""
    if hostname != node.name:
        return AuthFailure(403, HOSTNAME_MISMATCH, node.name, f"hostname {hostname!r} is not this node's switchname")
    return None


# --- logging refusals without flooding -------------------------------------------------------

class FailureLog:
    """Logs a refusal at most once a window per (reason, username, peer), then how many were suppressed.

    Bounded: the least recently seen keys are forgotten first (their suppressed count is logged then).
    """

    def __init__(self, window_seconds: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        #: key -> [window start, refusals suppressed since]
        self._seen: OrderedDict[tuple[str, str, str], list] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, failure: AuthFailure, peer: str | None) -> None:
        """Count the refusal in the metrics and log it unless one like it was logged this window."""
        metrics.AUTH_FAILURES.labels(failure.reason).inc()
        key = (failure.reason, failure.username, peer or "-")
        now = self._clock()
        flushed: list[tuple[tuple[str, str, str], int]] = []
        with self._lock:
            state = self._seen.get(key)
            if state is not None and now - state[0] < self.window:
                state[1] += 1
                self._seen.move_to_end(key)
                return
            suppressed = state[1] if state is not None else 0
            self._seen[key] = [now, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self.max_keys:
                old_key, (_, old_count) = self._seen.popitem(last=False)
                if old_count:
                    flushed.append((old_key, old_count))
        for (reason, username, old_peer), count in flushed:
            log.warning("fetch refused result=%s username=%s peer=%s: %d more not logged",
                        reason, loggable(username), loggable(old_peer), count)
        log.warning("fetch refused status=%d result=%s username=%s peer=%s%s%s", failure.status, failure.reason,
                    loggable(failure.username) or "-", loggable(peer or "-"),
                    f" ({failure.detail})" if failure.detail else "",
                    f"; {suppressed} like it not logged in the last {self.window:g}s" if suppressed else "")


def failure_log(extensions: dict) -> FailureLog:
    """The app's refusal log (one per app, so per gunicorn worker)."""
    return kept(extensions, "xmlcurl.auth_failures", FailureLog)
