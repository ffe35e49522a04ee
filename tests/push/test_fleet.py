"""Routers as a fleet: adding, disabling or removing a router, or changing pinning, reaches the running
nodes (event-socket doubles) and the answers they then fetch, with no restart."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import captured_request, cluster_body, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from tests.push.conftest import ESL_KEY
from tests.push.esl_double import EslDouble
from xmlcurl.models import Node
from xmlcurl.push.secret import encrypt_password
from xmlcurl.push.worker import PUSHER
from xmlcurl.services import nodes, pinning
from xmlcurl.services.actor import Actor

ACTOR = Actor.cli()
ROUTER_2 = "127.0.0.14"
ROUTER_2_SECRET = "router-2-secret-long-enough"


@pytest.fixture
def fleet(app, session, doubles):
    """The demo nodes at their doubles, a double waiting for router-2, automatic push on."""
    settings = app.config["XMLCURL"]
    settings.update(ESL_KEY=ESL_KEY, PUSH_BACKOFF=0.01, PUSH_TIMEOUT=2)
    for node in session.scalars(select(Node)):
        node.esl_port = doubles[node.name].port
        node.esl_password_enc = encrypt_password(settings, f"{node.name}-esl")
    session.commit()
    settings["PUSH_AUTO"] = True
    doubles["router-2"] = EslDouble(ROUTER_2, "router-2-esl")
    yield doubles
    assert PUSHER.wait_idle(10)
    doubles.pop("router-2").close()


def received(doubles) -> dict[str, list[str]]:
    assert PUSHER.wait_idle(10)
    out = {name: list(double.commands) for name, double in doubles.items() if double.commands}
    for double in doubles.values():
        double.commands.clear()
    return out


def outbound_bridge(fetch, node: str) -> str:
    body = retarget(cluster_body("media-1_dialplan_acme-outbound"), hostname=node)
    doc = assert_freeswitch_can_read(fetch(body, node=node).data)
    [bridge] = [a.get("data") for a in doc.iter("action") if a.get("application") == "bridge"]
    return bridge


def cluster_gateways(fetch, node: str) -> list[tuple[str, str]]:
    body = retarget(cluster_body("media-1_sofia.conf"), hostname=node) + b"&profile=cluster"
    doc = assert_freeswitch_can_read(fetch(body, node=node).data)
    return [(g.get("name"), g.find("param[@name='proxy']").get("value")) for g in doc.iter("gateway")]


def hash_remotes(fetch, node: str) -> list[str]:
    body = retarget(captured_request("config-console.conf-startup"), hostname=node, key_value="hash.conf")
    secret = ROUTER_2_SECRET if node == "router-2" else None
    return [r.get("name") for r in assert_freeswitch_can_read(fetch(body, node=node, secret=secret).data).iter("remote")]


def test_add_router_2_then_disable_router_1(fleet, app, session, fetch):
    router2 = nodes.create(session, ACTOR, {"name": "router-2", "role": "router", "sip_address": ROUTER_2,
                                            "http_secret": ROUTER_2_SECRET})
    router2.esl_port = fleet["router-2"].port
    router2.esl_password_enc = encrypt_password(app.config["XMLCURL"], "router-2-esl")
    session.commit()

    media = ["reloadacl", "sofia profile cluster killgw router-router-2", "sofia profile cluster rescan"]
    assert received(fleet) == {"router-1": ["hash_remote kill router-2", "hash_remote rescan"],
                               "media-1": media, "media-2": media}
    # What the media nodes fetch on that rescan, and on their next call.
    for node in ("media-1", "media-2"):
        assert cluster_gateways(fetch, node) == [("router-router-1", "127.0.0.10:5080"),
                                                 ("router-router-2", "127.0.0.14:5080")]
    assert outbound_bridge(fetch, "media-1") == ("{sip_h_X-Tenant=acme}sofia/gateway/router-router-1/8613800138000|"
                                                 "sofia/gateway/router-router-2/8613800138000")
    assert hash_remotes(fetch, "router-1") == ["router-2"] and hash_remotes(fetch, "router-2") == ["router-1"]

    nodes.update(session, ACTOR, 1, {"enabled": False})
    session.commit()
    media = ["reloadacl", "sofia profile cluster killgw router-router-1", "sofia profile cluster rescan"]
    assert received(fleet) == {"router-2": ["hash_remote kill router-1", "hash_remote rescan"],
                               "media-1": media, "media-2": media}
    for node in ("media-1", "media-2"):
        assert cluster_gateways(fetch, node) == [("router-router-2", "127.0.0.14:5080")]
    assert outbound_bridge(fetch, "media-1") == "{sip_h_X-Tenant=acme}sofia/gateway/router-router-2/8613800138000"
    assert hash_remotes(fetch, "router-2") == []


def test_removing_a_router_kills_its_gateway_and_remote(fleet, session):
    router2 = nodes.create(session, ACTOR, {"name": "router-2", "role": "router", "sip_address": ROUTER_2,
                                            "http_secret": ROUTER_2_SECRET})
    session.commit()
    received(fleet)
    nodes.delete(session, ACTOR, router2.id)
    session.commit()
    media = ["reloadacl", "sofia profile cluster killgw router-router-2", "sofia profile cluster rescan"]
    assert received(fleet) == {"router-1": ["hash_remote kill router-2", "hash_remote rescan"],
                               "media-1": media, "media-2": media}


def test_pinning_a_tenant_to_another_node_reloads_the_acls_of_its_media_nodes(fleet, session):
    pinning.create(session, ACTOR, {"tenant_id": 1, "node_id": 3, "weight": 10})  # acme, already on media-1
    session.commit()
    assert received(fleet) == {"media-1": ["reloadacl"], "media-2": ["reloadacl"]}
    pinning.update(session, ACTOR, (1, 3), {"weight": 20})  # the order of dialplan legs only: nothing to push
    session.commit()
    assert received(fleet) == {}
    pinning.delete(session, ACTOR, (1, 3))
    session.commit()
    assert received(fleet) == {"media-1": ["reloadacl"], "media-2": ["reloadacl"]}


def test_new_event_socket_credentials_reach_the_other_nodes_remotes(fleet, session, app):
    media2 = session.get(Node, 3)
    media2.esl_password_enc = encrypt_password(app.config["XMLCURL"], "rotated")
    session.commit()
    assert received(fleet) == {"media-1": ["hash_remote kill media-2", "hash_remote rescan"]}
