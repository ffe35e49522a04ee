"""The dispatcher views are the pinning: one set per tenant, enabled media nodes only, both layouts."""
from __future__ import annotations

from sqlalchemy import text

from xmlcurl import dispatcher

DEMO_KAMAILIO = [
    (1, "sip:127.0.0.11:5060", 0, 100, "weight=100", "media-1"),
    (2, "sip:127.0.0.12:5060", 0, 100, "weight=100", "media-2"),
    (3, "sip:127.0.0.11:5060", 0, 100, "weight=100", "media-1"),
    (3, "sip:127.0.0.12:5060", 0, 50, "weight=50", "media-2"),
]


def kamailio(session) -> list[tuple]:
    return [(r["setid"], r["destination"], r["flags"], r["priority"], r["attrs"], r["description"])
            for r in dispatcher.rows(session, "kamailio")]


def test_demo_data_gives_one_set_per_tenant_with_its_media_nodes(session):
    assert kamailio(session) == DEMO_KAMAILIO


def test_opensips_layout_carries_weight_priority_and_active_state(session):
    rows = dispatcher.rows(session, "opensips")
    assert [(r["setid"], r["destination"], r["socket"], r["state"], r["probe_mode"], str(r["weight"]),
             r["priority"], r["attrs"], r["description"]) for r in rows] == [
        (1, "sip:127.0.0.11:5060", None, 0, 0, "100", 100, "", "media-1"),
        (2, "sip:127.0.0.12:5060", None, 0, 0, "100", 100, "", "media-2"),
        (3, "sip:127.0.0.11:5060", None, 0, 0, "100", 100, "", "media-1"),
        (3, "sip:127.0.0.12:5060", None, 0, 0, "50", 50, "", "media-2"),
    ]


def test_ids_are_unique_across_sets(session):
    ids = [r["id"] for r in dispatcher.rows(session, "kamailio")]
    assert len(ids) == len(set(ids)) == 4


def test_a_disabled_media_node_leaves_every_set(session):
    session.execute(text("UPDATE nodes SET enabled = 0 WHERE name = 'media-2'"))
    assert kamailio(session) == [DEMO_KAMAILIO[0], DEMO_KAMAILIO[2]]


def test_plain_sql_pinning_changes_show_at_once(session):
    session.execute(text("UPDATE tenant_nodes SET weight = 200 WHERE tenant_id = 3 AND node_id = 3"))
    session.execute(text("DELETE FROM tenant_nodes WHERE tenant_id = 1"))
    session.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (2, 2, 10)"))
    assert kamailio(session) == [
        (2, "sip:127.0.0.12:5060", 0, 100, "weight=100", "media-2"),
        (2, "sip:127.0.0.11:5060", 0, 10, "weight=10", "media-1"),
        (3, "sip:127.0.0.12:5060", 0, 200, "weight=100", "media-2"),
        (3, "sip:127.0.0.11:5060", 0, 100, "weight=100", "media-1"),
    ]


def test_readdressed_node_and_ipv6_addresses_are_bracketed(session):
    session.execute(text("UPDATE nodes SET sip_address = '2001:db8::11', sip_port = 5070 WHERE name = 'media-1'"))
    destinations = {r["destination"] for r in dispatcher.rows(session, "kamailio")}
    assert destinations == {"sip:[2001:db8::11]:5070", "sip:127.0.0.12:5060"}


def test_disabled_tenants_and_routers_get_no_destinations(session):
    session.execute(text("UPDATE tenants SET enabled = 0 WHERE code = 'globex'"))
    session.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (1, 1, 100)"))
    assert kamailio(session) == [DEMO_KAMAILIO[0], DEMO_KAMAILIO[2], DEMO_KAMAILIO[3]]


def test_proxies_find_their_table_versions(session):
    versions = dict(session.execute(text("SELECT table_name, table_version FROM version")).all())
    assert versions == {"dispatcher_kamailio": 4, "dispatcher_opensips": 9}


def test_dispatcher_show_prints_the_rows(app):
    result = app.test_cli_runner().invoke(args=["dispatcher", "show", "--layout", "kamailio"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "setid", "destination", "flags", "priority", "attrs", "description"]
    assert lines[1].split()[1:] == ["1", "sip:127.0.0.11:5060", "0", "100", "weight=100", "media-1"]
    assert len(lines) == 5


def test_the_proxy_maps_enabled_tenant_domains_to_their_sets(session):
    session.execute(text("UPDATE tenants SET enabled = 0 WHERE code = 'globex'"))
    rows = session.execute(text("SELECT domain, setid FROM dispatcher_domains ORDER BY setid")).all()
    assert [tuple(r) for r in rows] == [("acme.example.com", 1), ("initech.example.com", 3)]
