"""A real Kamailio (Debian's package) running deploy/kamailio/kamailio.cfg loads the tenant sets from
the dispatcher_kamailio view on MariaDB and reloads them on request (`kamcmd dispatcher.reload`)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.dispatcher.conftest import kamcmd

pytestmark = pytest.mark.mysql


def sets_without_flags(proxy):
    return {setid: [(uri, priority, attrs) for uri, priority, attrs, _flags in rows]
            for setid, rows in proxy.sets().items()}


def test_kamailio_loads_one_set_per_tenant_from_the_demo_pinning(start_proxy):
    proxy = start_proxy()
    assert sets_without_flags(proxy) == {
        1: [("sip:127.0.0.11:5060", 100, "weight=100")],
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.11:5060", 100, "weight=100"), ("sip:127.0.0.12:5060", 50, "weight=50")],
    }
    # every node starts active
    assert {flags[0] for rows in proxy.sets().values() for *_rest, flags in rows} == {"A"}


def test_kamailio_follows_a_plain_sql_pinning_change_after_reload(start_proxy, kamailio_db):
    proxy = start_proxy()
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE tenant_nodes SET weight = 200 WHERE tenant_id = 3 AND node_id = 3"))
        conn.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (1, 3, 30)"))
        conn.execute(text("UPDATE nodes SET sip_address = '127.0.0.13', sip_port = 5062 WHERE name = 'media-1'"))
        conn.execute(text("UPDATE tenants SET enabled = 0 WHERE code = 'globex'"))
    kamcmd(proxy.ctl, "dispatcher.reload")
    assert sets_without_flags(proxy) == {
        1: [("sip:127.0.0.13:5062", 100, "weight=100"), ("sip:127.0.0.12:5060", 30, "weight=30")],
        3: [("sip:127.0.0.12:5060", 200, "weight=100"), ("sip:127.0.0.13:5062", 100, "weight=100")],
    }


def test_kamailio_drops_a_disabled_media_node_after_reload(start_proxy, kamailio_db):
    proxy = start_proxy()
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE nodes SET enabled = 0 WHERE name = 'media-1'"))
    kamcmd(proxy.ctl, "dispatcher.reload")
    assert sets_without_flags(proxy) == {
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.12:5060", 50, "weight=50")],
    }
