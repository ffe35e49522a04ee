"""What each resource's pages show and ask: form fields, list columns, filters. The rules stay in the services."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Callable, Mapping

from xmlcurl import db
from xmlcurl.models import ADMIN_ROLES, KINDS, MEDIA_MODES, ROLES, TRANSPORTS, SipUser
from xmlcurl.services import (Actor, ListParams, admin_users, caller_ids, dids, gateways, nodes, routes,
                              sip_users, tenants)
from xmlcurl.services.errors import Invalid

Choices = Callable[[Actor], list[tuple[str, str]]]


@dataclass(frozen=True)
class Field:
    """One form input; `kind` is text, password, number, checkbox, select, cidrs or variables."""

    name: str
    label: str
    kind: str = "text"
    help: str = ""
    choices: Choices | None = None
    required: bool = False
    create_only: bool = False
    edit_only: bool = False
    superadmin_only: bool = False
    initial: Any = None  # shown on the create form

    def shown_to(self, actor: Actor, creating: bool) -> bool:
        if self.superadmin_only and not actor.is_superadmin:
            return False
        return not ((self.create_only and not creating) or (self.edit_only and creating))


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any, Mapping[str, Any]], Any]
    link: bool = False  # the cell links to the row's edit page
    superadmin_only: bool = False
    sort: str | None = None  # the service's sort key: the header then sorts by it


@dataclass(frozen=True)
class Filter:
    name: str
    label: str
    kind: str = "text"
    choices: Choices | None = None
    superadmin_only: bool = False


@dataclass(frozen=True)
class Resource:
    slug: str
    title: str
    noun: str
    service: ModuleType
    fields: tuple[Field, ...]
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...]
    describe: Callable[[Any], str]
    superadmin_only: bool = True
    #: Only a superadmin creates rows (DIDs: the operator assigns numbers to tenants).
    create_superadmin_only: bool = False
    export_kind: str | None = None
    # Turns form values the service does not take as such (a DID's username) into its input.
    prepare: Callable[[dict[str, Any], Actor], None] | None = None
    # Form values of a stored row, for fields not read straight from its columns.
    current: Callable[[Any], dict[str, Any]] | None = None
    #: The services.bulk entity name when rows can be selected for bulk actions.
    bulk_entity: str | None = None
    bulk_actions: tuple[str, ...] = ("enable", "disable", "delete")

    def visible_fields(self, actor: Actor, creating: bool) -> list[Field]:
        return [f for f in self.fields if f.shown_to(actor, creating)]


# --- choices (read through the services, so a tenant admin is offered only what it may use) ----

def _options(service: ModuleType, actor: Actor, label: Callable[[Any], str], **filters: str) -> list[tuple[str, str]]:
    page = service.search(db.session(), actor, ListParams(per_page=500, filters=filters))
    return [(str(row.id), label(row)) for row in page.items]


def tenant_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "— choose a tenant —")] + _options(tenants, actor, lambda t: f"{t.code} ({t.name})")


def route_tenant_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "all tenants")] + _options(tenants, actor, lambda t: f"{t.code} ({t.name})")


def admin_tenant_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "— none (superadmin) —")] + _options(tenants, actor, lambda t: f"{t.code} ({t.name})")


def gateway_choices(actor: Actor) -> list[tuple[str, str]]:
    return [("", "— choose a gateway —")] + _options(gateways, actor, lambda g: f"{g.name} ({g.proxy})")


def media_node_choices(actor: Actor) -> list[tuple[str, str]]:
    return _options(nodes, actor, lambda n: f"{n.name} ({n.sip_address})", role="media")


def node_choices(actor: Actor) -> list[tuple[str, str]]:
    return _options(nodes, actor, lambda n: f"{n.name} ({n.role}, {n.sip_address})")


def _fixed(*values: str) -> Choices:
    return lambda actor: [(v, v) for v in values]


def _any(*values: str) -> Choices:
    return lambda actor: [("", "any")] + [(v, v) for v in values]


ENABLED_FILTER = Filter("enabled", "Enabled", "select", _any("true", "false"))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _tenant(row: Any, ctx: Mapping[str, Any]) -> str:
    return ctx["tenants"].get(row.tenant_id, "all tenants" if row.tenant_id is None else f"#{row.tenant_id}")


# --- nodes: the session database DSN is write-only, so removing it is a box of its own ------------

def _node_dsn(payload: dict[str, Any], actor: Actor) -> None:
    """A ticked 'remove' box sends null (the service then drops the stored DSN); a blank DSN keeps it."""
    if payload.pop("clear_session_db_dsn", "false") == "true":
        payload["session_db_dsn"] = None


# --- DIDs name their user by username in the form -----------------------------------------------

def _did_user(payload: dict[str, Any], actor: Actor) -> None:
    """The form names the user (empty: nobody); the service takes its id (looked up through the SIP user service)."""
    username = str(payload.pop("username", "")).strip()
    if not username:
        payload["user_id"] = None  # in the tenant's stock, ringing nobody
        return
    tenant_id = payload.get("tenant_id") or (None if actor.is_superadmin else actor.tenant_id)
    if tenant_id in (None, ""):
        raise Invalid("the tenant is missing", {"tenant_id": ["choose a tenant"]})
    found = sip_users.search(db.session(), actor, ListParams(per_page=1, filters={
        "tenant_id": str(tenant_id), "username": username}))
    if not found.items:
        raise Invalid("no such user in this tenant", {"username": ["no user with this username in this tenant"]})
    payload["user_id"] = found.items[0].id


def _did_current(did: Any) -> dict[str, Any]:
    user = db.session().get(SipUser, did.user_id) if did.user_id is not None else None
    return {"username": user.username if user else ""}


def _user_current(user: Any) -> dict[str, Any]:
    return {"variables": "\n".join(f"{v.name}={v.value}" for v in user.variables)}


# --- the resources -----------------------------------------------------------------------------

TENANTS = Resource(
    "tenants", "Tenants", "tenant", tenants,
    fields=(
        Field("code", "Code", required=True, help="2-32 lowercase letters, digits or '-'; sent to the routers as X-Tenant"),
        Field("name", "Name", required=True),
        Field("sip_domain", "SIP domain", required=True, help="the domain its users register to, e.g. acme.example.com"),
        Field("confirm_new_domain", "Change the SIP domain even though users exist", "checkbox", edit_only=True,
              help="a user's SIP credential is a hash of username, domain and password: changing the domain clears "
                   "every user's credential and disables them until each gets a new password (CSV import can set them)"),
        Field("context", "Dialplan context", help="empty: tenant-<code>"),
        Field("max_calls", "Most concurrent calls", "number", initial=100),
        Field("max_cps", "Most calls per second", "number", initial=10),
        Field("default_cid_number", "Default caller ID number"),
        Field("default_cid_name", "Default caller ID name"),
        Field("country_code", "Country code", help="digits, e.g. 86"),
        Field("national_prefix", "National prefix", help="e.g. 0"),
        Field("international_prefix", "International prefix", initial="00"),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Code", lambda t, c: t.code, link=True, sort="code"), Column("Name", lambda t, c: t.name, sort="name"),
        Column("SIP domain", lambda t, c: t.sip_domain, sort="sip_domain"), Column("Context", lambda t, c: t.context),
        Column("Calls / CPS", lambda t, c: f"{t.max_calls} / {t.max_cps}"),
        Column("Enabled", lambda t, c: _yes(t.enabled)),
    ),
    filters=(Filter("q", "Search code, name or domain"), ENABLED_FILTER),
    describe=lambda t: f"tenant {t.code}",
)

NODES = Resource(
    "nodes", "Nodes", "node", nodes,
    fields=(
        Field("name", "Name (switchname)", required=True, help="FreeSWITCH's switchname; the fetch body's hostname"),
        Field("role", "Role", "select", choices=_fixed(*ROLES), required=True),
        Field("sip_address", "SIP address", required=True, help="IPv4 or IPv6 address"),
        Field("sip_port", "SIP port", "number", initial=5060),
        Field("cluster_port", "Cluster port", "number", initial=5080),
        Field("http_username", "xml_curl HTTP username", help="empty: the name"),
        Field("http_secret", "xml_curl HTTP secret", "password",
              help="16+ characters; stored hashed. Leave empty when editing to keep the current one"),
        Field("allowed_sources", "Allowed source addresses", "cidrs",
              help="addresses or CIDRs the node fetches from, space separated; empty: anywhere"),
        Field("esl_port", "Event socket port", "number"),
        Field("session_db_dsn", "Session database DSN", "password",
              help="optional, e.g. mariadb://Server=db;Database=fs_cluster;Uid=fs;Pwd=...: every sofia profile of the "
                   "node then keeps registrations and calls there (odbc-dsn, track-calls). Stored encrypted, never "
                   "shown; leave empty to keep the current one"),
        Field("clear_session_db_dsn", "Remove the session database DSN", "checkbox", edit_only=True),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Name", lambda n, c: n.name, link=True, sort="name"), Column("Role", lambda n, c: n.role, sort="role"),
        Column("SIP address", lambda n, c: f"{n.sip_address}:{n.sip_port}"),
        Column("Cluster port", lambda n, c: n.cluster_port),
        Column("Session DB", lambda n, c: "set" if n.session_db_dsn_enc else ""),
        Column("Enabled", lambda n, c: _yes(n.enabled)),
    ),
    filters=(Filter("q", "Search name or address"), Filter("role", "Role", "select", _any(*ROLES)), ENABLED_FILTER),
    describe=lambda n: f"node {n.name}",
    prepare=_node_dsn,
)

SIP_USERS = Resource(
    "sip-users", "SIP users", "SIP user", sip_users,
    fields=(
        Field("tenant_id", "Tenant", "select", choices=tenant_choices, required=True, superadmin_only=True, create_only=True),
        Field("username", "Username", required=True, help="letters, digits, '_', '.', '+' or '-'"),
        Field("password", "SIP password", "password",
              help="8+ characters; stored only as the a1-hash. Empty on a new user: one is generated and shown once. "
                   "Leave empty when editing to keep it (a new username needs it again)"),
        Field("kind", "Kind", "select", choices=_fixed(*KINDS), initial="agent"),
        Field("cid_name", "Caller ID name"),
        Field("cid_number", "Caller ID number"),
        Field("outbound_cid_name", "Outbound caller ID name"),
        Field("outbound_cid_number", "Outbound caller ID number"),
        Field("variables", "Extra channel variables", "variables", help="one name=value per line"),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Tenant", _tenant, sort="tenant_id"), Column("Username", lambda u, c: u.username, link=True, sort="username"),
        Column("Kind", lambda u, c: u.kind, sort="kind"), Column("Caller ID", lambda u, c: " ".join(filter(None, [u.cid_name, u.cid_number]))),
        Column("Credential", lambda u, c: "set" if u.a1_hash else "NONE (set a password)"),
        Column("Enabled", lambda u, c: _yes(u.enabled)),
    ),
    filters=(Filter("q", "Search username or caller ID name"),
             Filter("tenant_id", "Tenant", "select", lambda a: [("", "any")] + tenant_choices(a)[1:], superadmin_only=True),
             Filter("kind", "Kind", "select", _any(*KINDS)), ENABLED_FILTER),
    describe=lambda u: f"SIP user {u.username}",
    superadmin_only=False,
    export_kind="sip_users",
    current=_user_current,
    bulk_entity="sip_user",
)

GATEWAYS = Resource(
    "gateways", "Gateways", "gateway", gateways,
    fields=(
        Field("name", "Name", required=True, help="letters, digits, '_', '.' or '-'; used in dial strings"),
        Field("proxy", "Proxy", required=True, help="host[:port] of the carrier"),
        Field("realm", "Realm"),
        Field("username", "Username"),
        Field("password", "Password", "password", help="leave empty when editing to keep the current one"),
        Field("register", "Register", "checkbox", help="a registering gateway needs a username and a password"),
        Field("expire_seconds", "Registration expiry (s)", "number", initial=3600),
        Field("retry_seconds", "Retry after failure (s)", "number", initial=30),
        Field("caller_id_in_from", "Caller ID in From", "checkbox", initial=True),
        Field("ping_seconds", "OPTIONS ping every (s)", "number", help="empty: no ping"),
        Field("transport", "Transport", "select", choices=_fixed(*TRANSPORTS), initial="udp"),
        Field("strip_digits", "Strip leading digits", "number", initial=0),
        Field("prepend", "Prepend digits"),
        Field("media_mode", "Media", "select", choices=_fixed(*MEDIA_MODES), initial="bypass"),
        Field("source_cidrs", "Carrier source addresses", "cidrs", help="addresses or CIDRs calls arrive from"),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Name", lambda g, c: g.name, link=True, sort="name"), Column("Proxy", lambda g, c: g.proxy, sort="proxy"),
        Column("Transport", lambda g, c: g.transport), Column("Register", lambda g, c: _yes(g.register)),
        Column("Media", lambda g, c: g.media_mode), Column("Enabled", lambda g, c: _yes(g.enabled)),
    ),
    filters=(Filter("q", "Search name or proxy"), ENABLED_FILTER),
    describe=lambda g: f"gateway {g.name}",
    bulk_entity="gateway",
)

ROUTES = Resource(
    "routes", "Routes", "route", routes,
    fields=(
        Field("tenant_id", "Tenant", "select", choices=route_tenant_choices, help="empty: a route for all tenants"),
        Field("prefix", "Number prefix", help="digits; empty matches every number (the longest matching prefix wins)"),
        Field("gateway_id", "Gateway", "select", choices=gateway_choices, required=True),
        Field("priority", "Priority", "number", initial=10, help="lower is tried first"),
        Field("weight", "Weight", "number", initial=100, help="share among equal priorities; 0 = standby"),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Tenant", _tenant, sort="tenant_id"), Column("Prefix", lambda r, c: r.prefix or "(any)", link=True, sort="prefix"),
        Column("Gateway", lambda r, c: c["gateways"].get(r.gateway_id, f"#{r.gateway_id}")),
        Column("Priority", lambda r, c: r.priority, sort="priority"), Column("Weight", lambda r, c: r.weight, sort="weight"),
        Column("Enabled", lambda r, c: _yes(r.enabled)),
    ),
    filters=(Filter("tenant_id", "Tenant", "select", lambda a: [("", "any"), ("all", "routes of all tenants")]
                    + tenant_choices(a)[1:]),
             Filter("applies_to", "Used by tenant", "select", lambda a: [("", "any")] + tenant_choices(a)[1:]),
             Filter("gateway_id", "Gateway", "select", lambda a: [("", "any")] + gateway_choices(a)[1:]),
             Filter("prefix", "Exact prefix"), ENABLED_FILTER),
    describe=lambda r: f"route {r.prefix or '(any)'} #{r.id}",
    export_kind="routes",
    bulk_entity="route",
)

DIDS = Resource(
    "dids", "DIDs", "DID", dids,
    fields=(
        Field("number", "DID number", required=True,
              help="3-32 digits, as the carrier sends it; numbers are assigned to tenants by a superadmin"),
        Field("tenant_id", "Tenant", "select", choices=tenant_choices, required=True, superadmin_only=True),
        Field("username", "Rings SIP user", help="username of one of the tenant's SIP users; empty: rings nobody"),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("DID", lambda d, c: d.number, link=True, sort="number"), Column("Tenant", _tenant, sort="tenant_id"),
        Column("Rings SIP user", lambda d, c: "(nobody)" if d.user_id is None else c["users"].get(d.user_id, f"#{d.user_id}")),
        Column("Enabled", lambda d, c: _yes(d.enabled)),
    ),
    filters=(Filter("number", "Number starts with"),
             Filter("tenant_id", "Tenant", "select", lambda a: [("", "any")] + tenant_choices(a)[1:], superadmin_only=True),
             ENABLED_FILTER),
    describe=lambda d: f"DID {d.number}",
    superadmin_only=False,
    create_superadmin_only=True,
    export_kind="dids",
    prepare=_did_user,
    current=_did_current,
    bulk_entity="did",
)

ADMIN_USERS = Resource(
    "admin-users", "Admin users", "admin user", admin_users,
    fields=(
        Field("username", "Username", required=True),
        Field("password", "Password", "password", required=True,
              help="12+ characters; stored as argon2. Leave empty when editing to keep it"),
        Field("role", "Role", "select", choices=_fixed(*ADMIN_ROLES), required=True,
              help="superadmin: everything; tenant_admin: its tenant's SIP users and DIDs only"),
        Field("tenant_id", "Tenant (tenant admins)", "select", choices=admin_tenant_choices),
        Field("enabled", "Enabled", "checkbox", initial=True),
    ),
    columns=(
        Column("Username", lambda u, c: u.username, link=True, sort="username"), Column("Role", lambda u, c: u.role, sort="role"),
        Column("Tenant", lambda u, c: c["tenants"].get(u.tenant_id, "") if u.tenant_id else ""),
        Column("Last login", lambda u, c: u.last_login_at or "never"), Column("Enabled", lambda u, c: _yes(u.enabled)),
    ),
    filters=(Filter("q", "Search username"), Filter("role", "Role", "select", _any(*ADMIN_ROLES)), ENABLED_FILTER),
    describe=lambda u: f"admin user {u.username}",
)

CALLER_IDS = Resource(
    "caller-ids", "Approved caller IDs", "approved caller ID", caller_ids,
    fields=(
        Field("tenant_id", "Tenant", "select", choices=tenant_choices, required=True),
        Field("number", "Number", required=True,
              help="digits; the tenant's users may present it (besides the tenant's DIDs) as caller ID"),
        Field("note", "Note", help="why it is approved, e.g. the carrier's confirmation"),
    ),
    columns=(
        Column("Tenant", _tenant, sort="tenant_id"), Column("Number", lambda a, c: a.number, link=True, sort="number"),
        Column("Note", lambda a, c: a.note or ""),
    ),
    filters=(Filter("tenant_id", "Tenant", "select", lambda a: [("", "any")] + tenant_choices(a)[1:]),
             Filter("number", "Exact number")),
    describe=lambda a: f"approved caller ID {a.number}",
    bulk_entity="approved_caller_id",
    bulk_actions=("delete",),
)

RESOURCES: dict[str, Resource] = {r.slug: r for r in (TENANTS, NODES, SIP_USERS, GATEWAYS, ROUTES, DIDS, CALLER_IDS,
                                                      ADMIN_USERS)}

#: Where a delete's dependents (the services' labels) are listed.
DEPENDENT_PAGES = {"sip_users": "sip-users", "dids": "dids", "routes": "routes", "admin_users": "admin-users",
                   "pinned_tenants": "tenants", "caller_ids": "caller-ids"}
