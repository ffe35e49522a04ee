"""End to end: a change committed through the services reaches the running nodes (event-socket doubles)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.push.conftest import ESL_KEY
from xmlcurl.models import Gateway, Node, Route, SipUser
from xmlcurl.push import recent_results
from xmlcurl.push.secret import encrypt_password
from xmlcurl.push.worker import PUSHER
from xmlcurl.services import gateways, nodes, sip_users
from xmlcurl.services.actor import Actor

ACTOR = Actor.cli()


@pytest.fixture
def live(app, session, doubles):
    """Demo nodes pointing at their doubles, automatic push on; yields {node name: double}."""
    settings = app.config["XMLCURL"]
    settings.update(ESL_KEY=ESL_KEY, PUSH_BACKOFF=0.01, PUSH_TIMEOUT=2)
    for node in session.scalars(select(Node)):
        node.esl_port = doubles[node.name].port
        node.esl_password_enc = encrypt_password(settings, f"{node.name}-esl")
    session.commit()
    settings["PUSH_AUTO"] = True
    yield doubles
    assert PUSHER.wait_idle(10)


def received(doubles) -> dict[str, list[str]]:
    assert PUSHER.wait_idle(10)
    return {name: double.commands for name, double in doubles.items() if double.commands}


def test_gateway_password_change_kills_and_rescans_it_on_the_router(live, session):
    gateway = session.scalar(select(Gateway).where(Gateway.name == "carrier-a"))
    gateways.update(session, ACTOR, gateway.id, {"password": "new-carrier-secret"})
    session.commit()
    assert received(live) == {"router-1": ["sofia profile carrier killgw carrier-a", "sofia profile carrier rescan"]}
    assert live["router-1"].auths == ["router-1-esl"]


def test_gateway_source_address_change_also_reloads_the_routers_acl(live, session):
    gateway = session.scalar(select(Gateway).where(Gateway.name == "carrier-b"))
    gateways.update(session, ACTOR, gateway.id, {"source_cidrs": "127.0.0.21/32 127.0.0.22/32"})
    session.commit()
    assert received(live) == {"router-1": ["reloadacl", "sofia profile carrier killgw carrier-b",
                                           "sofia profile carrier rescan"]}


def test_user_password_change_flushes_the_user_on_its_tenants_media_nodes(live, session):
    sip_users.update(session, ACTOR, 1, {"password": "a-new-password"})  # acme 1000, pinned to media-1
    session.commit()
    assert received(live) == {"media-1": ["xml_flush_cache id 1000 acme.example.com"]}


def test_user_of_a_tenant_on_two_nodes_is_flushed_on_both(live, session):
    initech_2000 = session.scalar(select(SipUser).where(SipUser.tenant_id == 3, SipUser.username == "2000"))
    sip_users.update(session, ACTOR, initech_2000.id, {"variables": [{"name": "x_campaign", "value": "spring"}]})
    session.commit()
    assert received(live) == {"media-1": ["xml_flush_cache id 2000 initech.example.com"],
                              "media-2": ["xml_flush_cache id 2000 initech.example.com"]}


def test_media_node_address_change_reloads_the_acls_and_the_other_media_nodes_remote(live, session):
    nodes.update(session, ACTOR, 3, {"sip_address": "127.0.0.13"})  # media-2
    session.commit()
    assert received(live) == {"router-1": ["reloadacl"],
                              "media-1": ["reloadacl", "hash_remote kill media-2", "hash_remote rescan"]}


def test_router_address_change_reloads_acls_and_the_router_gateway_on_media_nodes(live, session):
    nodes.update(session, ACTOR, 1, {"sip_address": "127.0.0.10", "cluster_port": 5081})
    session.commit()
    expected = ["reloadacl", "sofia profile cluster killgw router-router-1", "sofia profile cluster rescan"]
    assert received(live) == {"media-1": expected, "media-2": expected}


def test_rolled_back_changes_push_nothing(live, session):
    gateway = session.scalar(select(Gateway).where(Gateway.name == "carrier-a"))
    gateways.update(session, ACTOR, gateway.id, {"password": "never-committed"})
    session.rollback()
    assert received(live) == {}


def test_results_per_node_are_kept_for_display(live, session):
    sip_users.update(session, ACTOR, 1, {"password": "a-new-password"})
    session.commit()
    assert PUSHER.wait_idle(10)
    latest = recent_results()[0]
    assert latest["node"] == "media-1" and latest["status"] == "ok" and latest["attempts"] == 1
    assert latest["replies"] == [{"command": "xml_flush_cache id 1000 acme.example.com", "reply": "+OK"}]


def test_nothing_is_pushed_when_the_automatic_option_is_off(live, app, session):
    app.config["XMLCURL"]["PUSH_AUTO"] = False
    sip_users.update(session, ACTOR, 1, {"password": "a-new-password"})
    session.commit()
    assert received(live) == {}


def test_retries_when_the_node_refuses_first(live, session):
    live["router-1"].refuse_first = 2
    gateway = session.scalar(select(Gateway).where(Gateway.name == "carrier-a"))
    gateways.update(session, ACTOR, gateway.id, {"password": "new-carrier-secret"})
    session.commit()
    assert received(live) == {"router-1": ["sofia profile carrier killgw carrier-a", "sofia profile carrier rescan"]}
    assert live["router-1"].connections == 3
    assert recent_results()[0]["attempts"] == 3


def test_removing_a_user_variable_flushes_the_user(live, session):
    user = session.scalar(select(SipUser).where(SipUser.tenant_id == 2, SipUser.username == "1001"))
    sip_users.update(session, ACTOR, user.id, {"variables": [{"name": "x_campaign", "value": "x"}]})
    session.commit()
    assert received(live) == {"media-2": ["xml_flush_cache id 1001 globex.example.com"]}
    sip_users.update(session, ACTOR, user.id, {"variables": []})
    session.commit()
    assert received(live) == {"media-2": ["xml_flush_cache id 1001 globex.example.com"] * 2}


def test_deleting_a_gateway_kills_it_and_reloads_the_acl(live, session):
    gateway = session.scalar(select(Gateway).where(Gateway.name == "carrier-b"))
    for route in list(session.scalars(select(Route).where(Route.gateway_id == gateway.id))):
        session.delete(route)
    session.flush()
    gateways.delete(session, ACTOR, gateway.id)
    session.commit()
    assert received(live) == {"router-1": ["reloadacl", "sofia profile carrier killgw carrier-b",
                                           "sofia profile carrier rescan"]}


def test_a_node_with_its_own_event_socket_address_is_reached_there_after_a_readdress(live, session):
    media2 = session.get(Node, 3)
    media2.esl_address = "127.0.0.12"
    session.commit()
    # Its event-socket address is media-1's mod_hash remote for it.
    assert received(live) == {"media-1": ["hash_remote kill media-2", "hash_remote rescan"]}
    live["media-1"].commands.clear()
    nodes.update(session, ACTOR, 3, {"sip_address": "127.0.0.13"})
    nodes.update(session, ACTOR, 1, {"cluster_port": 5081})
    session.commit()
    expected = ["reloadacl", "sofia profile cluster killgw router-router-1", "sofia profile cluster rescan"]
    assert received(live) == {"router-1": ["reloadacl"],
                              "media-1": [*expected, "hash_remote kill media-2", "hash_remote rescan"],
                              "media-2": expected}
