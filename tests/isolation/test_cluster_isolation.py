"""Isolation over random clusters: a node only ever receives its own tenants' data, a router leg only its tenant's routes.

Each example builds a random cluster (media nodes, tenants with pinnings, users whose names collide
across tenants, DIDs, tenant and global routes on per-tenant gateways) into a fresh SQLite database,
then asks every node everything through POST /freeswitch, for every tenant, pinned or not.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import insert

from tests.conftest import BASE_SETTINGS, basic_auth, cluster_body, make_body, retarget
from xmlcurl import create_app, db
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import Did, Gateway, Node, Route, SipUser, Tenant, TenantNode
from xmlcurl.secrets import hash_node_secret

EXAMPLES = 25
# No shrinking: an example costs a database and ~150 fetches, and the failing cluster is printed whole.
CLUSTERS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                    phases=[Phase.explicit, Phase.reuse, Phase.generate])
SECRET = "node-secret"
USERNAMES = ("1000", "1001", "2000")  # shared by tenants on purpose: same names, different domains
PREFIXES = ("", "1", "44", "86")
EXTERNAL = ("8613800138000", "4420700000001", "15550100000")


@dataclass
class TenantSpec:
    index: int
    enabled: bool
    pinned: frozenset[int]  # media node indexes
    users: tuple[tuple[str, bool], ...]  # (username, enabled)
    dids: tuple[int, ...]  # index into users: the DID's destination
    routes: tuple[tuple[str, int], ...]  # (prefix, gateway index of this tenant)

    @property
    def code(self) -> str:
        return f"ten{self.index}"

    @property
    def domain(self) -> str:
        return f"ten{self.index}.example.net"

    @property
    def context(self) -> str:
        return f"tenant-ten{self.index}"

    def a1(self, username: str) -> str:
        return hashlib.md5(f"{username}:{self.domain}:pw-{self.code}-{username}".encode()).hexdigest()

    def did_number(self, k: int) -> str:
        return f"86200{self.index}{k:04d}"

    def gateway(self, k: int) -> str:
        return f"gw-{self.code}-{k}"


@dataclass
class Cluster:
    media: int
    tenants: list[TenantSpec]
    global_routes: tuple[tuple[str, int], ...]
    ids: dict = field(default_factory=dict)

    def media_name(self, n: int) -> str:
        return f"m{n}"

    def media_address(self, n: int) -> str:
        return f"127.0.1.{n}"

    def served_on(self, n: int) -> list[TenantSpec]:
        return [t for t in self.tenants if t.enabled and n in t.pinned]


@st.composite
def clusters(draw) -> Cluster:
    media = draw(st.integers(1, 3))
    tenants = []
    for index in range(1, draw(st.integers(2, 4)) + 1):
        users = draw(st.lists(st.sampled_from(USERNAMES), min_size=1, max_size=3, unique=True))
        tenants.append(TenantSpec(
            index=index,
            enabled=draw(st.booleans() | st.just(True)),
            pinned=frozenset(draw(st.sets(st.integers(1, media), max_size=media))),
            users=tuple((u, draw(st.booleans() | st.just(True))) for u in users),
            dids=tuple(draw(st.lists(st.integers(0, len(users) - 1), max_size=2))),
            routes=tuple(draw(st.lists(st.tuples(st.sampled_from(PREFIXES), st.integers(0, 1)), max_size=3,
                                       unique_by=lambda r: r))),
        ))
    global_routes = tuple(draw(st.lists(st.tuples(st.sampled_from(PREFIXES), st.integers(0, 1)), max_size=2,
                                        unique_by=lambda r: r)))
    return Cluster(media, tenants, global_routes)


# --- building the cluster into a fresh database ---------------------------------------------------

_HASH = hash_node_secret(SECRET)
_TEMPLATE: Path | None = None
# A database per example: in memory-backed storage when there is some (SQLite's syncs cost most of the time).
_TMP = "/dev/shm" if Path("/dev/shm").is_dir() else None


def template() -> Path:
    """An empty SQLite database with the schema (made once, copied per example)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = Path(tempfile.mkdtemp(prefix="xmlcurl-isolation-", dir=_TMP)) / "schema.sqlite3"
        engine = db.make_engine(f"sqlite:///{_TEMPLATE}", {})
        db.create_schema(engine)
        engine.dispose()
    return _TEMPLATE


def build(cluster: Cluster, path: Path) -> None:
    shutil.copy(template(), path)
    engine = db.make_engine(f"sqlite:///{path}", {})
    with engine.begin() as conn:
        router_id = cluster.media + 1
        nodes = [dict(id=n, name=cluster.media_name(n), role="media", sip_address=cluster.media_address(n))
                 for n in range(1, cluster.media + 1)]
        nodes.append(dict(id=router_id, name="r1", role="router", sip_address="127.0.2.1"))
        for node in nodes:
            conn.execute(insert(Node).values(**node, sip_port=5060, cluster_port=5080, http_username=node["name"],
                                             http_secret_hash=_HASH))
        gateway_id = 0
        user_id = 0
        route_id = 0
        for k in range(2):
            gateway_id += 1
            conn.execute(insert(Gateway).values(id=gateway_id, name=f"gw-all-{k}", proxy=f"127.0.3.{gateway_id}:5060"))
            cluster.ids[("gw", None, k)] = gateway_id
        for prefix, k in cluster.global_routes:
            route_id += 1
            conn.execute(insert(Route).values(id=route_id, tenant_id=None, prefix=prefix,
                                              gateway_id=cluster.ids[("gw", None, k)], priority=10 + k))
        for t in cluster.tenants:
            conn.execute(insert(Tenant).values(
                id=t.index, code=t.code, name=f"Tenant {t.index}", sip_domain=t.domain, context=t.context,
                max_calls=10, max_cps=5, default_cid_number=f"4420700{t.index:05d}", default_cid_name=f"Name {t.code}",
                country_code="44", national_prefix="0", international_prefix="00", enabled=t.enabled))
            for n in t.pinned:
                conn.execute(insert(TenantNode).values(tenant_id=t.index, node_id=n, weight=100))
            for username, enabled in t.users:
                user_id += 1
                cluster.ids[("user", t.index, username)] = user_id
                conn.execute(insert(SipUser).values(id=user_id, tenant_id=t.index, username=username, kind="agent",
                                                    a1_hash=t.a1(username), enabled=enabled,
                                                    outbound_cid_name=f"Out {t.code}"))
            for k, user_index in enumerate(t.dids):
                conn.execute(insert(Did).values(number=t.did_number(k), tenant_id=t.index,
                                                user_id=cluster.ids[("user", t.index, t.users[user_index][0])]))
            for k in range(2):
                gateway_id += 1
                conn.execute(insert(Gateway).values(id=gateway_id, name=t.gateway(k),
                                                    proxy=f"127.0.3.{gateway_id}:5060"))
                cluster.ids[("gw", t.index, k)] = gateway_id
            for prefix, k in t.routes:
                route_id += 1
                conn.execute(insert(Route).values(id=route_id, tenant_id=t.index, prefix=prefix,
                                                  gateway_id=cluster.ids[("gw", t.index, k)], priority=10 + k))
    engine.dispose()


# --- reading answers -------------------------------------------------------------------------------

def strings(xml: bytes) -> list[str]:
    """Every attribute value and text of an answer."""
    root = etree.fromstring(xml)
    out = []
    for el in root.iter():
        out.extend(el.attrib.values())
        if el.text and el.text.strip():
            out.append(el.text)
    return out


def markers(t: TenantSpec) -> list[str]:
    """Text that only this tenant's data can put into an answer."""
    return [t.domain, t.context, *(t.a1(u) for u, _ in t.users), f"Out {t.code}", f"Name {t.code}",
            *(t.gateway(k) for k in range(2))]


def foreign_text(cluster: Cluster, xml: bytes, allowed: set[int], echoed: tuple[str, ...] = ()) -> list[str]:
    """Markers (or tenant codes) of tenants outside `allowed` found in the answer, besides text echoed from the request."""
    found = []
    for value in strings(xml):
        if value in echoed:
            continue
        for t in cluster.tenants:
            if t.index in allowed:
                continue
            if any(m in value for m in markers(t)) or re.search(rf"(?<![a-z0-9-]){t.code}(?![a-z0-9-])", value):
                found.append(f"{t.code}: {value}")
    return found


def actions(xml: bytes) -> list[tuple[str, str]]:
    return [(a.get("application"), a.get("data") or "") for a in etree.fromstring(xml).iter("action")]


def bridges(xml: bytes) -> list[str]:
    return [data for app, data in actions(xml) if app == "bridge"]


# --- asking every node everything ------------------------------------------------------------------

def directory_body(node: str, domain: str, user: str, domain_param: str | None = None) -> bytes:
    return make_body(node, "directory", "domain", "name", domain, user=user, domain=domain_param or domain,
                     action="sip_auth")


def media_call(node: str, context: str, caller: str, dialled: str, tenant_var: str) -> bytes:
    return retarget(cluster_body("media-1_dialplan_acme-outbound"), hostname=node, **{
        "Caller-Context": context, "Hunt-Context": context, "variable_user_context": context,
        "Caller-Destination-Number": dialled, "Hunt-Destination-Number": dialled,
        "variable_user_name": caller, "Caller-Username": caller, "variable_tenant": tenant_var})


def did_from_router(node: str, number: str) -> bytes:
    return retarget(cluster_body("media-1_dialplan_from-router_did"), hostname=node, **{
        "Caller-Destination-Number": number, "Hunt-Destination-Number": number,
        "variable_sip_network_ip": "127.0.2.1", "Caller-Network-Addr": "127.0.2.1", "variable_sip_h_X-Tenant": ""})


def from_media_node(node: str, source_address: str, x_tenant: str, number: str) -> bytes:
    """A call arriving on `node`'s cluster profile from the node at `source_address`, as another media node sends it."""
    return retarget(cluster_body("media-1_dialplan_from-router_did"), hostname=node, **{
        "Caller-Destination-Number": number, "Hunt-Destination-Number": number,
        "variable_sip_network_ip": source_address, "Caller-Network-Addr": source_address,
        "variable_sip_h_X-Tenant": x_tenant})


def acl_lists(xml: bytes) -> dict[str, set[str]]:
    return {acl.get("name"): {n.get("cidr") for n in acl.iter("node") if n.get("type") == "allow"}
            for acl in etree.fromstring(xml).iter("list")}


def router_from_media(address: str, x_tenant: str, number: str) -> bytes:
    return retarget(cluster_body("router-1_dialplan_from-media"), hostname="r1", **{
        "variable_sip_h_X-Tenant": x_tenant, "variable_sip_network_ip": address, "Caller-Network-Addr": address,
        "Caller-Destination-Number": number, "Hunt-Destination-Number": number})


def router_from_carrier(number: str) -> bytes:
    return retarget(cluster_body("router-1_dialplan_from-carrier_did"), hostname="r1", **{
        "Caller-Destination-Number": number, "Hunt-Destination-Number": number})


@dataclass
class Counts:
    examples: int = 0
    fetches: int = 0
    served: int = 0  # answers carrying a tenant's data (users, bridges)
    crossed: int = 0  # calls from another media node that were answered with a bridge


COUNTS = Counts()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    if _TEMPLATE is not None:
        shutil.rmtree(_TEMPLATE.parent, ignore_errors=True)
    print(f"\nisolation: {COUNTS.examples} random clusters, {COUNTS.fetches} fetches, {COUNTS.served} answers with tenant data, "
          f"{COUNTS.crossed} calls between media nodes answered")


class Asker:
    def __init__(self, app) -> None:
        self.client = app.test_client()

    def __call__(self, node: str, body: bytes) -> bytes:
        response = self.client.post("/freeswitch", data=body, headers=basic_auth(node, SECRET),
                                    content_type="application/x-www-form-urlencoded")
        COUNTS.fetches += 1
        assert response.status_code == 200, (node, response.status_code, response.data[:200])
        return response.data


@contextmanager
def asker_for(cluster: Cluster) -> Iterator["Asker"]:
    """The app on a fresh SQLite file holding CLUSTER, as fetches see it; the file goes afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="xmlcurl-cluster-", dir=_TMP))
    try:
        build(cluster, workdir / "cluster.sqlite3")
        app = create_app({**BASE_SETTINGS, "DATABASE_URL": f"sqlite:///{workdir / 'cluster.sqlite3'}"})
        try:
            yield Asker(app)
        finally:
            app.extensions["xmlcurl.db"].dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@CLUSTERS
@given(cluster=clusters())
def test_no_node_receives_another_tenants_domain_user_context_did_or_route(cluster):
    COUNTS.examples += 1
    with asker_for(cluster) as ask:
        check_cluster(cluster, ask)


def check_cluster(cluster: Cluster, ask: Asker) -> None:
    by_index = {t.index: t for t in cluster.tenants}
    for n in range(1, cluster.media + 1):
        node = cluster.media_name(n)
        mine = {t.index for t in cluster.served_on(n)}
        for t in cluster.tenants:
            served = t.index in mine
            # Directory: every user name any tenant has, under this tenant's domain (names collide on purpose).
            for username in USERNAMES:
                answer = ask(node, directory_body(node, t.domain, username))
                user_enabled = dict(t.users).get(username)
                if served and user_enabled:
                    COUNTS.served += 1
                    assert foreign_text(cluster, answer, {t.index}) == []
                    assert [p.get("value") for p in etree.fromstring(answer).iter("param")
                            if p.get("name") == "a1-hash"] == [t.a1(username)]
                else:
                    assert answer == NOT_FOUND, (node, t.code, username)
                # The domain parameter naming another tenant never opens it.
                for other in cluster.tenants:
                    if other is not t:
                        crossed = ask(node, directory_body(node, t.domain, username, other.domain))
                        assert foreign_text(cluster, crossed, mine & {t.index}) == []
            # Dialplan from the tenant's context: to each user name, and out.
            for caller, _ in t.users:
                for dialled in (*USERNAMES, EXTERNAL[t.index % len(EXTERNAL)]):
                    answer = ask(node, media_call(node, t.context, caller, dialled, t.code))
                    assert foreign_text(cluster, answer, mine & {t.index}, echoed=(t.context,)) == []
                    for bridge in bridges(answer):
                        COUNTS.served += 1
                        assert served, (node, t.code, bridge)
                        if "user/" in bridge:
                            assert bridge.split("|")[0] == f"[leg_timeout=30]user/{dialled}@{t.domain}"
                    if not served:
                        assert not bridges(answer)
            # DIDs arriving from the router: only this node's tenants' DIDs ring, and only their own user.
            for k, user_index in enumerate(t.dids):
                answer = ask(node, did_from_router(node, t.did_number(k)))
                assert foreign_text(cluster, answer, mine & {t.index}) == []
                for bridge in bridges(answer):
                    COUNTS.served += 1
                    assert served
                    assert bridge == f"user/{t.users[user_index][0]}@{t.domain}"
        # Configuration answers carry no tenant's data at all.
        for name in ("media-1_sofia.conf", "media-1_acl.conf"):
            answer = ask(node, retarget(cluster_body(name), hostname=node))
            assert foreign_text(cluster, answer, set()) == []

    # The router: a tenant's calls only through its own or global routes, only from a node it is pinned to.
    for n in range(1, cluster.media + 1):
        for t in cluster.tenants:
            for number in EXTERNAL:
                answer = ask("r1", router_from_media(cluster.media_address(n), t.code, number))
                legs = [leg for bridge in bridges(answer) for leg in bridge.split("}", 1)[-1].split("|")]
                if legs:
                    COUNTS.served += 1
                    assert t.enabled and n in t.pinned, (t.code, n)
                    assert all(re.match(rf"sofia/gateway/gw-(?:{t.code}|all)-[01]/", leg) for leg in legs), legs
                assert foreign_text(cluster, answer, {t.index}) == []
    # Carrier DIDs: only to the media nodes the DID's tenant is pinned to.
    for t in cluster.tenants:
        for k in range(len(t.dids)):
            answer = ask("r1", router_from_carrier(t.did_number(k)))
            for bridge in bridges(answer):
                COUNTS.served += 1
                assert bridge.startswith(f"{{sip_h_X-Tenant={t.code}}}")
                addresses = set(re.findall(r"@([0-9.]+):", bridge))
                assert addresses and addresses <= {cluster.media_address(n) for n in t.pinned}
            assert foreign_text(cluster, answer, {t.index}) == []
    assert set(by_index) == {t.index for t in cluster.tenants}


@CLUSTERS
@given(cluster=clusters())
def test_a_call_crosses_media_nodes_only_inside_its_tenants_pinned_nodes(cluster):
    """For random pinnings: a user call leaves a node only for the tenant's other pinned nodes, a node answers
    a call from another node only for a tenant pinned to both and only with its own registration, and a
    media node's cluster profile admits exactly the media nodes that share a tenant with it."""
    COUNTS.examples += 1
    with asker_for(cluster) as ask:
        check_cross_node_calls(cluster, ask)


def check_cross_node_calls(cluster: Cluster, ask: Asker) -> None:
    nodes = range(1, cluster.media + 1)
    for n in nodes:
        node = cluster.media_name(n)
        # The calling side: its own registration first, then the tenant's other pinned nodes only.
        for t in cluster.served_on(n):
            callers = [u for u, enabled in t.users if enabled]
            if not callers:
                continue
            for username in USERNAMES:
                answer = ask(node, media_call(node, t.context, callers[0], username, t.code))
                legs = [leg for bridge in bridges(answer) for leg in bridge.split("|")]
                if dict(t.users).get(username) is not True:
                    assert not any("user/" in leg or "sofia/cluster/" in leg for leg in legs), legs
                    continue
                COUNTS.served += 1
                expected = [cluster.media_address(m) for m in sorted(t.pinned - {n})]  # equal weights: by name
                assert legs[0] == f"[leg_timeout=30]user/{username}@{t.domain}"
                assert [re.search(r"@([0-9.]+):5080$", leg).group(1) for leg in legs[1:]] == expected, legs
                assert all(f"[sip_h_X-Tenant={t.code}]sofia/cluster/{username}@" in leg for leg in legs[1:]), legs
                assert foreign_text(cluster, answer, {t.index}, echoed=(t.context,)) == []
        # The receiving side: a call from each node (itself included) for each tenant and user name.
        for source in nodes:
            for t in cluster.tenants:
                for username in USERNAMES:
                    answer = ask(node, from_media_node(node, cluster.media_address(source), t.code, username))
                    accepted = (t.enabled and source != n and {source, n} <= t.pinned
                                and dict(t.users).get(username) is True)
                    if accepted:
                        COUNTS.served += 1
                        COUNTS.crossed += 1
                        assert bridges(answer) == [f"user/{username}@{t.domain}"], (node, source, t.code, username)
                    else:
                        assert bridges(answer) == [], (node, source, t.code, username)
                    assert foreign_text(cluster, answer, {t.index} if accepted else set()) == []
        # acl.conf: the media nodes sharing a tenant with this one (enabled or not), never the router.
        peers = {cluster.media_address(m) + "/32" for m in nodes
                 if m != n and any({n, m} <= t.pinned for t in cluster.tenants)}
        answer = ask(node, retarget(cluster_body("media-1_acl.conf"), hostname=node))
        assert acl_lists(answer)["media-peers"] == peers
