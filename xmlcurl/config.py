"""Settings: one table of defaults, overridden by ``XMLCURL_*`` variables, then by test overrides."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping


class ConfigError(RuntimeError):
    """The settings do not allow the service to start safely."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class Setting:
    default: Any
    parse: Callable[[str], Any]
    help: str


#: Every setting xmlcurl reads. The environment variable is ``XMLCURL_<NAME>``.
SETTINGS: dict[str, Setting] = {
    "ENV": Setting("production", str, "production, development or testing"),
    "SECRET_KEY": Setting(None, str, "signs admin sessions; 32+ characters outside development"),
    "DATABASE_URL": Setting(None, str, "SQLAlchemy URL, e.g. mysql+pymysql://u:p@host/db; SQLite in the instance folder when unset"),
    "READ_DATABASE_URL": Setting(None, str, "replica URL for the fetch path; the primary when unset"),
    "MAX_BODY_BYTES": Setting(262144, int, "largest fetch body accepted (413 above)"),
    "MAX_REQUEST_BYTES": Setting(1024 * 1024, int, "largest API or admin request body (JSON, forms) accepted (413 above)"),
    "MAX_UPLOAD_BYTES": Setting(32 * 1024 * 1024, int, "largest CSV import (API or admin) accepted (413 above)"),
    # Off by default: FreeSWITCH answers from its user cache before fetching, which would skip the
    # directory's sip_auth host checks (cross-tenant REGISTER) for a cached user.
    "DIRECTORY_CACHEABLE_MS": Setting(0, int, "cacheable= on directory users, in ms; 0 (default) leaves it off"),
    "LOG_LEVEL": Setting("INFO", str, "logging level"),
    "DB_CONNECT_TIMEOUT": Setting(2, int, "seconds to connect to MySQL"),
    "DB_READ_TIMEOUT": Setting(5, int, "seconds to wait for a MySQL answer"),
    "DB_POOL_SIZE": Setting(5, int, "connections kept per worker"),
    "FETCH_BUDGET_MS": Setting(1500, int, "time budget of one fetch: database waits are cut to fit, then 503 (set the xml_curl binding timeout above it)"),
    "PROXY_HOPS": Setting(0, int, "reverse proxies in front of gunicorn whose X-Forwarded-For/-Proto are trusted (0: the TCP peer is the client)"),
    "DB_POOL_RECYCLE": Setting(1800, int, "seconds before a pooled connection is replaced"),
    "DB_PREPARED_STATEMENTS": Setting(True, _bool, "prepare the fetch path's statements once per MariaDB connection "
                                      "(off: send their text each time, e.g. behind a proxy that cannot keep them)"),
    # Off by default: the demo's admin and node secrets are public (README); `xmlcurl serve --demo` asks for them.
    "SEED_DEMO": Setting(False, _bool, "load the demo data (public credentials) into an empty database at start"),
    "CACHE": Setting(True, _bool, "per-worker cache of the fetch path's data (off: every fetch queries the database)"),
    "CACHE_MAX_ENTRIES": Setting(200_000, int, "most entries the fetch cache holds per worker (LRU)"),
    "CACHE_MAX_BYTES": Setting(64 * 1024 * 1024, int, "most bytes (pickled size) the fetch cache holds per worker (LRU)"),
    "CACHE_POLL_SECONDS": Setting(0.5, float, "how often a worker reads config_version; changes are served within this"),
    "LAST_GOOD_DIR": Setting("", str, "directory of the last-good store the workers share for outages "
                             "(default: <instance dir>/last-good; 'off': none, an outage serves only fresh entries)"),
    "AUTH_VERIFY_BURST": Setting(10, int, "argon2 verifications of node secrets one source address may cause at once, per worker (then one per 5 s)"),
    # Names the cluster layout uses; kept configurable so an existing cluster can adopt xmlcurl.
    "MEDIA_USER_PROFILE": Setting("internal", str, "media node profile where tenant users register"),
    "CLUSTER_PROFILE": Setting("cluster", str, "profile between media nodes and routers"),
    "CARRIER_PROFILE": Setting("carrier", str, "router profile facing the carriers"),
    "FROM_ROUTER_CONTEXT": Setting("from-router", str, "media node context for calls from routers"),
    "FROM_MEDIA_CONTEXT": Setting("from-media", str, "router context for calls from media nodes"),
    "FROM_CARRIER_CONTEXT": Setting("from-carrier", str, "router context for calls from carriers"),
    "ROUTER_GATEWAY_PREFIX": Setting("router-", str, "media node gateway name = prefix + router name"),
    "ROUTER_GATEWAY_PING_SECONDS": Setting(15, int, "OPTIONS ping interval of a media node's gateways to the routers (5 or more)"),
    "NO_TENANT_CONTEXT": Setting("no-tenant", str, "context of the users profile; a user's own context wins"),
    "USER_CALL_TIMEOUT": Setting(30, int, "seconds a tenant user or DID destination rings (dialplan call_timeout)"),
    "CLUSTER_LEG_PROGRESS_TIMEOUT": Setting(10, int, "seconds a call to a user on another media node may go without ringing before the next node is tried (0: no limit)"),
    "DISPATCHER_LAYOUT": Setting("kamailio", str, "dispatcher rows shown by `xmlcurl dispatcher show`: kamailio or opensips"),
    "ESL_KEY": Setting(None, str, "Fernet key encrypting node event-socket passwords and session database DSNs; derived from SECRET_KEY when unset"),
    "PUSH_AUTO": Setting(False, _bool, "push live changes (killgw/rescan, xml_flush_cache, reloadacl) to nodes after each commit"),
    "PUSH_TIMEOUT": Setting(5.0, float, "seconds to connect to / wait for a node's event socket"),
    "PUSH_ATTEMPTS": Setting(4, int, "tries per node before a push is logged as failed"),
    "PUSH_BACKOFF": Setting(1.0, float, "seconds before the first retry; doubled for each further retry"),
    "HASH_REMOTE_INTERVAL_MS": Setting(1000, int, "how often (ms) each node's mod_hash polls the other nodes' limit usage (hash.conf remotes)"),
    "MONITOR_INTERVAL": Setting(5.0, float, "seconds between two polls of every node by `xmlcurl monitor`"),
    "MONITOR_TIMEOUT": Setting(2.0, float, "seconds one node may take to answer a whole poll (then it counts as missed)"),
    "MONITOR_PARALLEL": Setting(64, int, "nodes `xmlcurl monitor` polls at once"),
    # Shown to tenant admins with their SIP domain: what a phone or a robot is configured with.
    "SIP_PROXY_ADDRESS": Setting(None, str, "registrar/outbound proxy address phones and robots use (e.g. sip.example.com), shown on each tenant's page; unset: 'ask your operator'"),
    "SIP_PROXY_PORTS": Setting("5060/udp, 5060/tcp, 5061/tls", str, "ports and transports of that address, as shown on each tenant's page"),
    "MONITOR_METRICS": Setting(True, _bool, "cluster gauges in /metrics (they name nodes, gateways and tenants)"),
}

MIN_SECRET_LENGTH = 32


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the settings dict from defaults, the environment and explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, setting in SETTINGS.items():
        raw = environ.get(f"XMLCURL_{name}")
        if raw is None or raw == "":
            values[name] = setting.default
            continue
        try:
            values[name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"XMLCURL_{name}: {exc}") from None
    values.update(overrides or {})
    _check(values)
    return values


def _check(values: dict[str, Any]) -> None:
    env = values["ENV"]
    if env not in {"production", "development", "testing"}:
        raise ConfigError(f"XMLCURL_ENV must be production, development or testing, not {env!r}")
    secret = values.get("SECRET_KEY") or ""
    if env == "production" and len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"XMLCURL_SECRET_KEY must be set to at least {MIN_SECRET_LENGTH} random characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
            "or set XMLCURL_ENV=development on a development machine"
        )
    if not 0 <= values["PROXY_HOPS"] <= 5:
        raise ConfigError("XMLCURL_PROXY_HOPS must be between 0 and 5")
    if not 100 <= values["FETCH_BUDGET_MS"] <= 60_000:
        raise ConfigError("XMLCURL_FETCH_BUDGET_MS must be between 100 and 60000")
    if values["MAX_BODY_BYTES"] < 1024:
        raise ConfigError("XMLCURL_MAX_BODY_BYTES must be at least 1024")
    if values["MAX_REQUEST_BYTES"] < 4096 or values["MAX_UPLOAD_BYTES"] < 4096:
        raise ConfigError("XMLCURL_MAX_REQUEST_BYTES and XMLCURL_MAX_UPLOAD_BYTES must be at least 4096")
    if values["CACHE_MAX_ENTRIES"] < 1 or values["CACHE_MAX_BYTES"] < 1:
        raise ConfigError("XMLCURL_CACHE_MAX_ENTRIES and XMLCURL_CACHE_MAX_BYTES must be positive")
    if values["DISPATCHER_LAYOUT"] not in {"kamailio", "opensips"}:
        raise ConfigError("XMLCURL_DISPATCHER_LAYOUT must be kamailio or opensips")
    if values["PUSH_ATTEMPTS"] < 1 or values["PUSH_TIMEOUT"] <= 0 or values["PUSH_BACKOFF"] < 0:
        raise ConfigError("XMLCURL_PUSH_ATTEMPTS must be at least 1, XMLCURL_PUSH_TIMEOUT positive, XMLCURL_PUSH_BACKOFF not negative")
    if values["CLUSTER_LEG_PROGRESS_TIMEOUT"] < 0:
        raise ConfigError("XMLCURL_CLUSTER_LEG_PROGRESS_TIMEOUT must not be negative")
    if not 100 <= values["HASH_REMOTE_INTERVAL_MS"] <= 60_000:
        # mod_hash sleeps `interval` ms between polls: 0 would be a busy loop on every node.
        raise ConfigError("XMLCURL_HASH_REMOTE_INTERVAL_MS must be between 100 and 60000")
    if values["MONITOR_INTERVAL"] < 1 or not 0 < values["MONITOR_TIMEOUT"] < values["MONITOR_INTERVAL"] \
            or values["MONITOR_PARALLEL"] < 1:
        raise ConfigError("XMLCURL_MONITOR_INTERVAL must be at least 1, XMLCURL_MONITOR_TIMEOUT positive and below it, "
                          "XMLCURL_MONITOR_PARALLEL at least 1")
    if not 0 <= values["CACHE_POLL_SECONDS"] <= 5:
        raise ConfigError("XMLCURL_CACHE_POLL_SECONDS must be between 0 and 5 (changes must reach the nodes fast)")
