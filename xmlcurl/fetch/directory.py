"""Section `directory`: a tenant's domain and one user, only for tenants pinned to the asking node."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Collection

from lxml import etree
from sqlalchemy import text

from .. import callerid
from ..logging_setup import loggable
from .callerids import presentable_numbers, presentable_sql
from . import scopes
from .context import FetchContext, Reads
from .packed import PackedQuery
from .registry import handles
from .request import FetchRequest
from .xmldoc import document, element, params, plain_text_problem, safe

log = logging.getLogger(__name__)

# The stock dial-string: bridging to user/<u>@<domain> finds the registration on any profile.
# `${...}` is expanded at call time, which is what is wanted here; only `$${` would be expanded
# when the answer is read.
DIAL_STRING = (
    "{^^:sip_invite_domain=${dialed_domain}:presence_id=${dialed_user}@${dialed_domain}}"
    "${sofia_contact(*/${dialed_user}@${dialed_domain})}"
)

#: Variables xmlcurl sets itself; a user's extra variables may not override them.
RESERVED_VARIABLES = frozenset({
    "user_context", "tenant", "accountcode", "user_kind",
    "effective_caller_id_number", "effective_caller_id_name",
    "outbound_caller_id_number", "outbound_caller_id_name",
})

#: Harmless variable names a user may carry besides its own `x_...` ones. sofia copies every user
#: variable onto the channel, where names such as api_hangup_hook or execute_on_answer run commands
#: on the shared media node; so names are allow-listed, never deny-listed.
ALLOWED_VARIABLES = frozenset({"toll_allow", "callgroup", "language", "default_language", "timezone"})
#: Prefix of a tenant's own variables. Channel variable names are case-insensitive: names are compared lower-cased.
CUSTOM_VARIABLE_PREFIX = "x_"
VARIABLES_ALLOWED_MESSAGE = (
    f"variable names must start with '{CUSTOM_VARIABLE_PREFIX}' or be one of {', '.join(sorted(ALLOWED_VARIABLES))}: "
    "FreeSWITCH copies user variables onto the call, where others (api_hangup_hook, execute_on_answer, ...) "
    "run commands on the media node"
)


def is_reserved_variable(name: str) -> bool:
    """True for a name xmlcurl sets itself, in any case."""
    return name.lower() in RESERVED_VARIABLES


def is_allowed_variable(name: str) -> bool:
    """True for a user variable name that may reach the channel (allow-listed, not reserved)."""
    lower = name.lower()
    return not is_reserved_variable(lower) and (
        lower.startswith(CUSTOM_VARIABLE_PREFIX) or lower in ALLOWED_VARIABLES)


NOT_PINNED = "domain unknown or not pinned to this node"

#: Lookup keys that name a user by its id (FreeSWITCH's `key` parameter).
USER_KEYS = frozenset({"", "id"})


@dataclass(frozen=True)
class DirectoryUser:
    username: str
    a1_hash: str
    kind: str
    cid_name: str | None = None
    cid_number: str | None = None
    outbound_cid_name: str | None = None
    outbound_cid_number: str | None = None
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DirectoryDomain:
    name: str
    tenant_code: str
    context: str
    default_cid_name: str | None = None
    default_cid_number: str | None = None
    users: tuple[DirectoryUser, ...] = field(default_factory=tuple)


# --- the statements ---------------------------------------------------------------------------

#: A user's own columns, as both statements read them.
_USER_COLUMNS = {
    "username": "u.username", "a1_hash": "u.a1_hash", "kind": "u.kind",
    "cid_name": "u.cid_name", "cid_number": "u.cid_number",
    "outbound_cid_name": "u.outbound_cid_name", "outbound_cid_number": "u.outbound_cid_number",
    "variable": "v.name", "value": "v.value",
}

#: Everything a directory answer needs, in one round trip of joined key lookups (no temporary table):
#: the tenant owning the domain, enabled and pinned to the asking node; for a user lookup the
#: enabled user, its variables (one row each, in no order: sorting them made MariaDB build a
#: temporary table; one row without a variable when it has none) and which of the caller numbers
#: the answer may present are the tenant's.
DIRECTORY_QUERY = PackedQuery(
    {
        "tenant_id": "t.id", "code": "t.code", "context": "t.context",
        "default_cid_name": "t.default_cid_name", "default_cid_number": "t.default_cid_number",
        **_USER_COLUMNS,
        **presentable_sql("u.cid_number", "u.outbound_cid_number", "t.default_cid_number"),
    },
    """
FROM tenants t
JOIN tenant_nodes tn ON tn.tenant_id = t.id AND tn.node_id = :node_id
LEFT JOIN sip_users u ON u.tenant_id = t.id AND u.username = :username AND u.enabled = 1
LEFT JOIN sip_user_variables v ON v.user_id = u.id
WHERE t.sip_domain = :domain AND t.enabled = 1
""")

#: A user of a tenant the worker already found pinned to the asking node (see `_find_user`): its user
#: columns alone, with which of its own caller numbers the tenant may present. Without the tenant, its
#: pinning and its default number, MariaDB spent 143-153 us on it where DIRECTORY_QUERY cost 197-290
#: (docs/performance.md).
USER_QUERY = PackedQuery(
    {
        **_USER_COLUMNS,
        **presentable_sql("u.cid_number", "u.outbound_cid_number", tenant_id="u.tenant_id"),
    },
    """
FROM sip_users u
LEFT JOIN sip_user_variables v ON v.user_id = u.id
WHERE u.tenant_id = :tenant_id AND u.username = :username AND u.enabled = 1
""")


_PINNED = """
SELECT t.id AS tenant_id, t.code, t.context, t.sip_domain, tn.node_id
FROM tenants t
JOIN tenant_nodes tn ON tn.tenant_id = t.id
JOIN nodes n ON n.id = tn.node_id AND n.role = 'media'
WHERE t.enabled = 1"""
#: Each enabled tenant with the media nodes it is pinned to, one row per node (filling the last-good
#: store, fill.py): a media node is asked about its own tenants' domains only.
PINNED_TENANTS_QUERY = text(_PINNED + "\nORDER BY t.id, tn.node_id")
#: The same for one tenant (no rows: disabled, or pinned to no media node).
TENANT_PINNING_QUERY = text(_PINNED + " AND t.id = :tenant_id\nORDER BY tn.node_id")

#: Every enabled user of one enabled tenant, with the tenant's columns and which caller numbers each user
#: may present: what DIRECTORY_QUERY reads for one user, for all of them at once (filling the last-good
#: store, fill.py). One row per user and variable, in no order.
_TENANT_USER_COLUMNS = {
    "tenant_id": "t.id", "code": "t.code", "context": "t.context", "sip_domain": "t.sip_domain",
    "default_cid_name": "t.default_cid_name", "default_cid_number": "t.default_cid_number",
    **_USER_COLUMNS,
    **presentable_sql("u.cid_number", "u.outbound_cid_number", "t.default_cid_number"),
}
_TENANT_USERS = """
FROM tenants t
JOIN sip_users u ON u.tenant_id = t.id AND u.enabled = 1
LEFT JOIN sip_user_variables v ON v.user_id = u.id
WHERE t.id = :tenant_id AND t.enabled = 1
"""
TENANT_USERS_QUERY = PackedQuery(_TENANT_USER_COLUMNS, _TENANT_USERS)
#: The same for the users of one name (filling again the answers a change to a user superseded).
TENANT_USER_QUERY = PackedQuery(_TENANT_USER_COLUMNS, _TENANT_USERS.rstrip() + " AND u.username = :username\n")


@dataclass(frozen=True)
class DirectoryRows:
    """What the directory query found, as plain data: the pinned tenant's domain and, if asked, the user."""

    tenant_id: int
    domain: DirectoryDomain
    user: DirectoryUser | None = None
    approved: frozenset[str] = frozenset()


def load_directory(conn: Reads, node_id: int, sip_domain: str, username: str | None) -> DirectoryRows | None:
    """The domain if its tenant is enabled and pinned to the node, with the user when `username` is given."""
    rows = DIRECTORY_QUERY.rows(conn, {"node_id": node_id, "domain": sip_domain, "username": username})
    return _found(rows, sip_domain) if rows else None


def _found(rows: list[Any], sip_domain: str) -> DirectoryRows:
    """A tenant's domain and, when the rows hold one (all of them its), a user: DIRECTORY_QUERY's rows, or
    one user's rows of TENANT_USERS_QUERY."""
    first = rows[0]
    domain = DirectoryDomain(name=sip_domain, tenant_code=first.code, context=first.context,
                             default_cid_name=first.default_cid_name, default_cid_number=first.default_cid_number)
    approved = presentable_numbers(first)
    tenant_id = int(first.tenant_id)
    user = None
    if first.username is not None:
        user = _directory_user(first, _variables(rows), tenant_id, approved)
    return DirectoryRows(tenant_id, domain, user, approved)


def load_tenant_users(conn: Reads, tenant_id: int, username: str | None = None) -> list[DirectoryRows]:
    """Each enabled user of the tenant (none when it is disabled or has none), or those named `username`,
    as `load_directory` finds it by name: the domain, the user and the numbers it may present."""
    by_user: dict[str, list[Any]] = {}
    rows = (TENANT_USERS_QUERY.rows(conn, {"tenant_id": tenant_id}) if username is None
            else TENANT_USER_QUERY.rows(conn, {"tenant_id": tenant_id, "username": username}))
    for row in rows:
        by_user.setdefault(row.username, []).append(row)
    return [_found(rows, rows[0].sip_domain) for rows in by_user.values()]


def _load_user(conn: Reads, pinned: DirectoryRows, username: str) -> DirectoryRows:
    """`pinned` (a domain as `_without_user` keeps it) with its enabled user `username`, when there is one."""
    rows = USER_QUERY.rows(conn, {"tenant_id": pinned.tenant_id, "username": username})
    if not rows:
        return pinned
    approved = pinned.approved | presentable_numbers(rows[0])
    return replace(pinned, user=_directory_user(rows[0], _variables(rows), pinned.tenant_id, approved),
                   approved=approved)


def _without_user(found: DirectoryRows) -> DirectoryRows:
    """The domain part of a lookup, to look its other users up with USER_QUERY: no user, and of the
    approved numbers only the tenant's default caller number (the user's own are the user's)."""
    default = found.domain.default_cid_number
    approved = found.approved & {callerid.bare(default)} if default else frozenset()
    return DirectoryRows(found.tenant_id, found.domain, None, approved)


def _variables(rows: list[Any]) -> list[tuple[str, str]]:
    # By name, as compared: case-insensitively (MariaDB's unique key on them is case-insensitive too).
    return sorted(((r.variable, r.value) for r in rows if r.variable is not None), key=lambda item: item[0].lower())


def _directory_user(row: Any, variables: list[tuple[str, str]], tenant_id: int,
                    approved: Collection[str]) -> DirectoryUser | None:
    """The user as served: stored caller IDs that are not valid, or numbers not in `approved` (the tenant's
    presentable numbers), and unservable variables are left out (logged); None without a credential."""
    username, a1_hash, kind = row.username, row.a1_hash, row.kind
    if not a1_hash:
        return None
    allowed = [(name, value) for name, value in variables if is_allowed_variable(name)]
    servable = tuple((name, value) for name, value in allowed if plain_text_problem(value) is None)
    skipped = sorted({name for name, _ in variables} - {name for name, _ in allowed})
    if skipped:
        log.warning("user %s of tenant %s: variables not allowed, skipped: %s", loggable(username), tenant_id,
                    ", ".join(loggable(name) for name in skipped))
    unservable = sorted({name for name, _ in allowed} - {name for name, _ in servable})
    if unservable:
        log.warning("user %s of tenant %s: variable values that cannot be served, skipped: %s",
                    loggable(username), tenant_id, ", ".join(loggable(name) for name in unservable))
    owner = f"user {loggable(username)} of tenant {tenant_id}"
    return DirectoryUser(
        username=username,
        a1_hash=a1_hash,
        kind=kind,
        cid_name=callerid.usable_name(row.cid_name, owner, "cid_name"),
        cid_number=callerid.usable_number(row.cid_number, approved, owner, "cid_number"),
        outbound_cid_name=callerid.usable_name(row.outbound_cid_name, owner, "outbound_cid_name"),
        outbound_cid_number=callerid.usable_number(row.outbound_cid_number, approved, owner, "outbound_cid_number"),
        variables=servable,
    )


def presentable_domain(domain: DirectoryDomain, approved: Collection[str],
                       users: tuple[DirectoryUser, ...] = ()) -> DirectoryDomain:
    """The domain with `users` and its default caller ID only where valid and approved (else left out, logged)."""
    owner = f"tenant {domain.tenant_code}"
    return replace(
        domain,
        default_cid_name=callerid.usable_name(domain.default_cid_name, owner, "default_cid_name"),
        default_cid_number=callerid.usable_number(domain.default_cid_number, approved, owner, "default_cid_number"),
        users=users,
    )


# --- builder ---------------------------------------------------------------------------------

#: The variables every user carries, in this order, before its optional and its own ones.
FIXED_VARIABLES = ("user_context", "tenant", "accountcode", "user_kind",
                   "effective_caller_id_number", "effective_caller_id_name")


def user_variables(domain: DirectoryDomain, user: DirectoryUser) -> list[tuple[str, str]]:
    """The channel variables a user carries, xmlcurl's own first (FIXED_VARIABLES, then the outbound caller ID)."""
    items = list(zip(FIXED_VARIABLES, (domain.context, domain.tenant_code, domain.tenant_code, user.kind,
                                       user.cid_number or user.username, user.cid_name or user.username)))
    outbound_number = user.outbound_cid_number or domain.default_cid_number
    outbound_name = user.outbound_cid_name or domain.default_cid_name
    if outbound_number:
        items.append(("outbound_caller_id_number", outbound_number))
    if outbound_name:
        items.append(("outbound_caller_id_name", outbound_name))
    items.extend(user.variables)
    return items


def _domain_skeleton() -> etree._Element:
    doc, section = document("directory")
    dom = element(section, "domain", name="")
    params(dom, "params", [("dial-string", DIAL_STRING), ("allow-empty-password", "false")])
    params(dom, "variables", [("tenant", ""), ("user_context", "")], child="variable")
    etree.SubElement(etree.SubElement(etree.SubElement(dom, "groups"), "group", name="default"), "users")
    return doc


def _user_skeleton() -> etree._Element:
    user = etree.Element("user", id="")
    params(user, "params", [("a1-hash", ""), ("allow-empty-password", "false")])
    params(user, "variables", [(name, "") for name in FIXED_VARIABLES], child="variable")
    return user


#: What every answer holds whatever the data, copied for each answer and then filled in: lxml copies
#: a tree in one C call (`__copy__` copies the subtree; copy.deepcopy only adds Python around it), where
#: building these elements one by one cost half the answer's Python time.
_DOMAIN = _domain_skeleton()
_USER = _user_skeleton()


def build_directory(domain: DirectoryDomain, cacheable_ms: int = 0) -> etree._Element:
    """The directory document for one domain and the users given (none for a domain lookup)."""
    doc = _DOMAIN.__copy__()
    dom = doc[0][0]
    dom.set("name", safe(domain.name))
    tenant, context = dom[1]
    tenant.set("value", safe(domain.tenant_code))
    context.set("value", safe(domain.context))
    users = dom[2][0][0]
    for user in domain.users:
        if not user.a1_hash:
            # An answer without a credential lets anyone register as this user: never send one.
            raise ValueError(f"user {user.username} has no a1-hash")
        node = _USER.__copy__()
        node.set("id", safe(user.username))
        if cacheable_ms > 0:
            node.set("cacheable", str(cacheable_ms))
        node[0][0].set("value", safe(user.a1_hash))
        variables = node[1]
        items = user_variables(domain, user)
        for variable, (_, value) in zip(variables, items):  # the skeleton's FIXED_VARIABLES
            variable.set("value", safe(value))
        for name, value in items[len(FIXED_VARIABLES):]:
            etree.SubElement(variables, "variable", name=safe(name), value=safe(value))
        users.append(node)
    return doc


# --- handler ---------------------------------------------------------------------------------

def foreign_host(req: FetchRequest, sip_domain: str) -> str | None:
    """Why a sip_auth lookup names a host other than the domain asked for, or None.

    sofia checks the digest against the realm but files a REGISTER under the To host, and
    inbound-reg-force-matching-username compares only user parts: without this, a user of one
    tenant could register as the same user name of another tenant sharing the node.
    """
    method = req.get("sip_auth_method").upper()
    to_host, from_host = req.get("sip_to_host").lower(), req.get("sip_from_host").lower()
    if method == "REGISTER" and to_host != sip_domain:
        return "REGISTER To host is not the domain"
    if method == "INVITE" and from_host != sip_domain:
        return "INVITE From host is not the domain"
    if from_host and from_host != sip_domain:
        return f"{method or 'request'} From host is not the domain"
    return None


@handles("directory", "media")
def directory(ctx: FetchContext) -> bytes | None:
    """Answer domain and user lookups of the asking media node's own tenants."""
    req = ctx.request
    purpose = req.get("purpose")
    action = req.get("action")
    ctx.key = "/".join(filter(None, [req.key_value, req.get("user"), action or purpose]))
    if purpose:
        # Gateways and ACL entries are never defined in the directory (sofia.conf and acl.conf hold them).
        ctx.outcome = f"purpose {loggable(purpose)} not served"
        return None
    if action == "reverse-auth-lookup":
        ctx.outcome = "no reverse-auth credentials are kept"
        return None
    if req.tag_name != "domain" or req.key_name != "name" or not req.key_value:
        ctx.outcome = "not a domain lookup"
        return None
    domain_param = req.get("domain")
    if domain_param and domain_param.lower() != req.key_value.lower():
        ctx.outcome = "domain parameter disagrees with key_value"
        return None
    # FreeSWITCH matches domain names case-insensitively; tenants' domains are stored in lower case.
    sip_domain = req.key_value.lower()
    username = req.get("user")
    if action == "group_call":
        ctx.outcome = "group_call not served"
        return None
    if username and req.get("key") not in USER_KEYS:
        ctx.outcome = f"lookup key {loggable(req.get('key'))} not served"
        return None
    if username and action == "sip_auth":
        reason = foreign_host(req, sip_domain)
        if reason is not None:
            # The domain without the user is a valid answer: FreeSWITCH answers 403 "Can't find user"
            # and does not fall back to its static files.
            username = None
            ctx.outcome = f"sip_auth refused: {reason}"
    # Set by the statement, for the answer's scope: the tenant, and the user found (its stored name).
    found: list[tuple[int, str | None]] = []
    if not username:
        return ctx.cached_document(domain_key(sip_domain), lambda: _domain_document(ctx, sip_domain, found),
                                   _answer_scope(found, user_lookup=False))
    cacheable_ms = ctx.settings["DIRECTORY_CACHEABLE_MS"]
    return ctx.cached_document(user_key(sip_domain, username, cacheable_ms),
                               lambda: _user_document(ctx, sip_domain, username, cacheable_ms, found),
                               _answer_scope(found, user_lookup=True))


def _answer_scope(found: list[tuple[int, str | None]], user_lookup: bool) -> Callable[[Any], scopes.Scope]:
    """The scope of an answer found by domain: before the statement found the tenant, any tenant row or
    pinning (a new or re-enabled tenant could take the domain); a domain's, the tenant's rows but its
    users'; a user's, those and the user's own (a change to another user leaves it). A user not found
    (unknown, disabled) depends on any row of the tenant: the user who takes the name may be stored
    under another spelling the collation takes for it."""
    def scope(_answer: Any) -> scopes.Scope:
        if not found:
            return scopes.any_of("tenants", "tenant_nodes")
        tenant_id, stored_name = found[0]
        if not user_lookup:
            return scopes.tenant_rows(tenant_id)
        return scopes.tenant(tenant_id) if stored_name is None else scopes.user(tenant_id, stored_name)
    return scope


def domain_key(sip_domain: str) -> tuple[str, ...]:
    """What a domain lookup's answer is kept under (FetchContext.cached_document), here and in fill.py."""
    return ("domain", sip_domain)


def user_key(sip_domain: str, username: str, cacheable_ms: int) -> tuple[Any, ...]:
    """What a user lookup's answer is kept under (FetchContext.cached_document), here and in fill.py."""
    return ("user", sip_domain, username, cacheable_ms)


def user_document(found: DirectoryRows, cacheable_ms: int) -> etree._Element:
    """The answer to a lookup of the user `found` holds (not None)."""
    return build_directory(presentable_domain(found.domain, found.approved, (found.user,)), cacheable_ms)


def _domain_document(ctx: FetchContext, sip_domain: str,
                     found_rows: list[tuple[int, str | None]]) -> etree._Element | None:
    found = load_directory(ctx.session, ctx.node.id, sip_domain, None)
    if found is None:
        ctx.outcome = NOT_PINNED
        return None
    found_rows.append((found.tenant_id, None))
    return build_directory(found.domain)


def _user_document(ctx: FetchContext, sip_domain: str, username: str, cacheable_ms: int,
                   found_rows: list[tuple[int, str | None]]) -> etree._Element | None:
    found = _find_user(ctx, sip_domain, username)
    if found is None:
        ctx.outcome = NOT_PINNED
        return None
    found_rows.append((found.tenant_id, None if found.user is None else found.user.username))
    if found.user is None:
        ctx.outcome = "user unknown or disabled"
        return None
    return user_document(found, cacheable_ms)


def _find_user(ctx: FetchContext, sip_domain: str, username: str) -> DirectoryRows | None:
    """The pinned domain and its user, in one statement. With the cache on, a domain this worker has found
    pinned to the node is kept (until a change to its tenant) and only the user is read (USER_QUERY): a
    worker meeting users it has not seen (more of them than its cache holds) reads a third less.
    While the worker cannot follow the changes (a failed poll), the pinning is read with every user."""
    if ctx.cache is None or ctx.cache.degraded:
        return load_directory(ctx.session, ctx.node.id, sip_domain, username)
    loaded: list[DirectoryRows | None] = []

    def load_pinned() -> DirectoryRows | None:
        found = load_directory(ctx.session, ctx.node.id, sip_domain, username)
        loaded.append(found)
        return None if found is None else _without_user(found)

    pinned = ctx.cached(("pinned", sip_domain), load_pinned,
                        scopes.found(lambda rows: rows.tenant_id, scopes.any_of("tenants", "tenant_nodes")),
                        kind="domain", last_good=False)  # during an outage the user cannot be read anyway
    if loaded:  # this fetch's statement read the user too
        return loaded[0]
    return None if pinned is None else _load_user(ctx.session, pinned, username)
