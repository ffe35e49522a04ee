"""SQL statements per fetch: one for the answer when cold, only the version poll when warm."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import event

from tests.conftest import cluster_body, retarget
from xmlcurl.fetch.registry import handler_for

POLL = "config_version"
#: The node credentials' lookup: held by the worker, refreshed by version (or poll interval), not per fetch.
CREDENTIALS = "http_username"
#: The per-version lists of routed prefixes a router's cache keys routes by.
ROUTED_PREFIXES = "DISTINCT routes.prefix"

#: (captured body, node, section, statements warm besides the version poll).
#: Cold: the version poll, the node, then a handful of key lookups; never a scan of a whole table.
CASES = {
    "directory sip_auth": ("media-1_directory_sip_auth_acme-1000", "media-1", "directory", 0),
    "directory user_call": ("media-1_directory_user_call_acme-1000", "media-1", "directory", 0),
    # An outbound number longer than every username of the tenant is never looked up as a user.
    "media dialplan outbound": ("media-1_dialplan_acme-outbound", "media-1", "dialplan", 0),
    "media dialplan from-router DID": ("media-1_dialplan_from-router_did", "media-1", "dialplan", 0),
    # Route candidates are cached by the prefixes that match the number, so a warm router reads nothing.
    "router dialplan from-media": ("router-1_dialplan_from-media", "router-1", "dialplan", 0),
    "router dialplan from-carrier DID": ("router-1_dialplan_from-carrier_did", "router-1", "dialplan", 0),
    "media sofia.conf": ("media-1_sofia.conf", "media-1", "configuration", 0),
    "media sofia.conf profile": ("media-1_sofia.conf_profile-internal", "media-1", "configuration", 0),
    "router sofia.conf": ("router-1_sofia.conf", "router-1", "configuration", 0),
    "router sofia.conf profile": ("router-1_sofia.conf_profile-carrier", "router-1", "configuration", 0),
    "media acl.conf": ("media-1_acl.conf", "media-1", "configuration", 0),
    "router acl.conf": ("router-1_acl.conf", "router-1", "configuration", 0),
}


def _cold_bodies() -> dict[str, tuple[bytes, str]]:
    """Every kind of fetch a node makes: each cold one is answered by exactly one statement."""
    from tests.conftest import captured_request
    from tests.fetch.test_dialplan_cluster_calls import peer_call
    from tests.fetch.test_dialplan_media import media_call

    bodies = {name: (cluster_body(body), node) for name, (body, node, _section, _warm) in CASES.items()}
    sip_auth = cluster_body("media-1_directory_sip_auth_acme-1000")
    hash_request = captured_request("config-console.conf-startup")
    bodies.update({
        "directory domain": (retarget(sip_auth, user="", sip_auth_username="", action=""), "media-1"),
        "media dialplan user call": (media_call("initech", "1000", "media-1", user="2000"), "media-1"),
        "media dialplan forwarded call": (peer_call("1000"), "media-2"),
        "media hash.conf": (retarget(hash_request, hostname="media-1", key_value="hash.conf"), "media-1"),
        "router hash.conf": (retarget(hash_request, hostname="router-1", key_value="hash.conf"), "router-1"),
    })
    return bodies


COLD = sorted(_cold_bodies())


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app's read path sends while the block runs."""
    database = app.extensions["xmlcurl.db"]
    connection = getattr(database, "test_connection", None)
    engine = connection.engine if connection is not None else database.read_engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        # The MariaDB tests wrap each session in a SAVEPOINT of the test's transaction: not the app's.
        if "SAVEPOINT" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _served(node: str, section: str) -> bool:
    return handler_for("router" if node.startswith("router") else "media", section) is not None


def _answer_statements(seen: list[str]) -> list[str]:
    return [s for s in seen if POLL not in s and CREDENTIALS not in s]


@pytest.mark.parametrize("cache", ["on", "off"])
@pytest.mark.parametrize("case", COLD)
def test_a_cold_fetch_is_answered_by_exactly_one_statement(app, fetch, case, cache):
    body, node = _cold_bodies()[case]
    if cache == "off":
        app.extensions["xmlcurl.cache"] = None  # XMLCURL_CACHE=off: every fetch is cold
    with statements(app) as cold:
        first = fetch(body, node=node)
    assert first.status_code == 200, first.data
    # A router with the cache on reads the lists of prefixes routed for all tenants and for the
    # tenant once per configuration version (its cache's keys), apart from the call.
    answer = [s for s in _answer_statements(cold) if not (cache == "on" and ROUTED_PREFIXES in s)]
    assert len(answer) == 1, cold
    # Besides the answer's statement: at most the node's credentials and the version poll.
    assert len(cold) - (len(_answer_statements(cold)) - len(answer)) <= 3, cold


def test_with_the_cache_off_a_worker_holds_node_credentials_until_a_node_changes(app, fetch, session):
    from sqlalchemy import update

    from xmlcurl.models import Node, SipUser, Tenant

    app.extensions["xmlcurl.cache"] = None
    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    assert fetch(body).status_code == 200
    with statements(app) as second:
        assert fetch(body).status_code == 200
    # The test settings poll the version on every fetch; the node's row is not read again.
    assert [s for s in second if CREDENTIALS in s] == [] and len(_answer_statements(second)) == 1, second
    # Changes to tenants' rows leave the nodes' credentials held.
    session.execute(update(SipUser).where(SipUser.username == "1001").values(cid_name="Other"))
    session.execute(update(Tenant).where(Tenant.code == "initech").values(max_calls=7))
    session.commit()
    with statements(app) as after_tenant_changes:
        assert fetch(body).status_code == 200
    assert [s for s in after_tenant_changes if CREDENTIALS in s] == [], after_tenant_changes
    # A change to a node drops them: the next fetch reads the node again and sees it disabled.
    session.execute(update(Node).where(Node.name == "media-1").values(enabled=False))
    session.commit()
    with statements(app) as after_node_change:
        assert fetch(body).status_code == 401
    assert len([s for s in after_node_change if CREDENTIALS in s]) == 1, after_node_change


def test_a_cold_answer_is_the_same_with_the_cache_on_and_off(app, fetch):
    for case in ("directory sip_auth", "media sofia.conf", "router acl.conf", "media dialplan outbound"):
        body, node = _cold_bodies()[case]
        cached = fetch(body, node=node).data
        app.extensions["xmlcurl.cache"] = None
        assert fetch(body, node=node).data == cached, case
        app.extensions.pop("xmlcurl.cache")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_warm_fetch_runs_only_the_version_poll(app, fetch, case):
    body_name, node, section, warm_extra = CASES[case]
    body = cluster_body(body_name)
    first = fetch(body, node=node)
    assert first.status_code == 200
    with statements(app) as warm:
        second = fetch(body, node=node)
    assert second.status_code == 200
    polls = [s for s in warm if POLL in s]
    assert len(polls) == 1, warm  # the test settings poll on every fetch
    assert len(warm) - len(polls) == warm_extra, warm
    if section != "dialplan":  # dialplan answers may shuffle equal-priority gateways
        assert second.data == first.data


def _cross_node_bodies() -> dict[str, tuple[bytes, str, int, int]]:
    from tests.fetch.test_dialplan_cluster_calls import peer_call
    from tests.fetch.test_dialplan_media import media_call

    return {
        # The callee is looked up by the dialled number, uncached as for every call to a user; the
        # tenant's other media nodes come from the cache.
        "user call to a tenant on two nodes": (media_call("initech", "1000", "media-1", user="2000"), "media-1", 3, 1),
        "call from another media node": (peer_call("1000"), "media-2", 3, 0),
    }


@pytest.mark.parametrize("case", ["user call to a tenant on two nodes", "call from another media node"])
def test_calls_between_media_nodes_run_a_fixed_few_statements_cold_and_at_most_the_callee_warm(app, fetch, case):
    body, node, cold_limit, warm_extra = _cross_node_bodies()[case]
    with statements(app) as cold:
        first = fetch(body, node=node)
    assert first.status_code == 200 and b"user/1000@initech.example.com" in first.data
    assert 1 <= len(cold) <= cold_limit, cold
    with statements(app) as warm:
        second = fetch(body, node=node)
    assert second.status_code == 200 and second.data == first.data
    assert len([s for s in warm if POLL not in s]) == warm_extra, warm


def test_a_warm_cache_within_the_polling_interval_sends_no_statement_at_all(app, fetch):
    from xmlcurl.fetch.cache import fetch_cache

    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    fetch(body)
    fetch_cache(app).poll_seconds = 3600
    fetch(body)  # polls once more, then not for an hour
    with statements(app) as warm:
        for _ in range(20):
            assert fetch(body).status_code == 200
    assert warm == []


def test_a_second_router_finds_the_tenants_and_routes_the_first_one_loaded(app, fetch, session):
    from sqlalchemy import insert

    from xmlcurl.models import Node
    from xmlcurl.secrets import hash_node_secret

    session.execute(insert(Node).values(name="router-2", role="router", sip_address="127.0.0.13",
                                        http_username="router-2", http_secret_hash=hash_node_secret("router-2-secret")))
    session.commit()
    body = cluster_body("router-1_dialplan_from-media")
    assert fetch(body, node="router-1").status_code == 200
    with statements(app) as second_router:
        response = fetch(retarget(body, hostname="router-2"), node="router-2")
    assert response.status_code == 200 and b"sofia/gateway/" in response.data
    # Only the version poll and router-2's own credentials: tenant, pinning and routes are shared.
    assert len([s for s in second_router if POLL not in s]) == 1, second_router
    assert "nodes" in [s for s in second_router if POLL not in s][0]


def test_with_the_cache_off_a_router_call_reads_only_the_routes_of_its_number_prefixes(app, fetch):
    app.extensions["xmlcurl.cache"] = None  # XMLCURL_CACHE=off
    with statements(app) as seen:
        response = fetch(cluster_body("router-1_dialplan_from-media"), node="router-1")
    assert response.status_code == 200 and b"sofia/gateway/carrier-b/8613800138000" in response.data
    route_reads = [s for s in seen if " routes " in s]
    # One query on the number's own prefixes, never the list of every routed prefix.
    assert len(route_reads) == 1 and "DISTINCT" not in route_reads[0], route_reads
    assert len(seen) <= 5, seen


def test_another_user_of_a_domain_the_worker_already_found_is_read_from_the_users_table_alone(app, fetch):
    first = cluster_body("media-1_directory_sip_auth_acme-1000")
    assert fetch(first).status_code == 200
    other = retarget(first, user="1001", sip_auth_username="1001", sip_from_user="1001", sip_to_user="1001")
    with statements(app) as seen:
        response = fetch(other)
    assert response.status_code == 200 and b'<user id="1001"' in response.data
    answer = _answer_statements(seen)
    assert len(answer) == 1, seen
    assert "sip_users" in answer[0] and "tenant_nodes" not in answer[0] and "FROM tenants" not in answer[0], answer
