"""acl.conf: every list the node's profiles name, one host or stored CIDR per entry, and never an empty list."""
from __future__ import annotations

import logging

import pytest
from lxml import etree
from sqlalchemy import update

from tests.conftest import captured_request, cluster_body, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from xmlcurl import db
from xmlcurl.fetch.configuration.acl import (AclList, CarrierSource, NodeAddress, build_acl, carrier_cidrs,
                                             node_cidrs, proxy_host)
from xmlcurl.models import Gateway, Node
from tests.fetch.test_reference_answers import reference

LISTS = {"media-1": ["routers", "media-peers"], "media-2": ["routers", "media-peers"],
         "router-1": ["media-nodes", "carriers"]}


def lists(xml: bytes) -> dict[str, list[tuple[str, str]]]:
    """What switch_load_network_lists reads: list name -> [(type, cidr)], after checking every list denies by default."""
    doc = assert_freeswitch_can_read(xml)
    conf = doc.find("section[@name='configuration']/configuration[@name='acl.conf']")
    out = {}
    for acl in conf.findall("network-lists/list"):
        assert acl.get("default") == "deny"
        out[acl.get("name")] = [(n.get("type"), n.get("cidr")) for n in acl.findall("node")]
    return out


def _acl(fetch, node: str) -> dict[str, list[tuple[str, str]]]:
    response = fetch(retarget(cluster_body("media-1_acl.conf"), hostname=node), node=node)
    assert response.status_code == 200
    return lists(response.data)


@pytest.mark.parametrize("name", ["media-1_acl.conf", "router-1_acl.conf"])
def test_answer_matches_what_the_real_cluster_accepted(fetch, name):
    response = fetch(cluster_body(name), node=name.split("_")[0])
    assert lists(response.data) == lists(reference(name))


@pytest.mark.parametrize("node", sorted(LISTS))
def test_captured_request_gets_exactly_the_lists_the_profiles_name(fetch, node):
    response = fetch(retarget(captured_request("config-acl.conf"), hostname=node), node=node)
    assert list(lists(response.data)) == LISTS[node]
    sofia = fetch(retarget(cluster_body("media-1_sofia.conf"), hostname=node), node=node)
    named = {p.get("value") for p in assert_freeswitch_can_read(sofia.data).iter("param")
             if p.get("name") == "apply-inbound-acl"}
    assert named == set(LISTS[node])


def test_disabled_nodes_and_gateways_leave_the_lists(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "media-2").values(enabled=False))
        sess.execute(update(Gateway).where(Gateway.name == "carrier-b").values(enabled=False))
        sess.commit()
    acl = _acl(fetch, "router-1")
    assert acl == {"media-nodes": [("allow", "127.0.0.11/32")], "carriers": [("allow", "127.0.0.20/32")]}


def test_a_list_with_no_addresses_still_exists_and_denies_everything(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Gateway).values(enabled=False))
        sess.commit()
    assert _acl(fetch, "router-1")["carriers"] == [("deny", "0.0.0.0/0")]
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.role == "router").values(enabled=False))
        sess.commit()
    assert _acl(fetch, "media-1")["routers"] == [("deny", "0.0.0.0/0")]


def test_carrier_entries_come_from_source_cidrs_or_a_literal_proxy_address(app, fetch, caplog):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Gateway).where(Gateway.name == "carrier-a")
                     .values(source_cidrs="203.0.113.0/28 2001:db8::5 bogus 203.0.113.0/28"))
        sess.execute(update(Gateway).where(Gateway.name == "carrier-b").values(source_cidrs=""))
        sess.add(Gateway(name="carrier-dns", proxy="sip.example.net:5060"))
        sess.commit()
    with caplog.at_level(logging.WARNING, logger="xmlcurl.fetch.configuration"):
        carriers = _acl(fetch, "router-1")["carriers"]
    assert carriers == [("allow", "203.0.113.0/28"), ("allow", "2001:db8::5/128"), ("allow", "127.0.0.21/32")]
    assert "bogus" in caplog.text and "carrier-dns" in caplog.text


# --- pure helpers and builder ----------------------------------------------------------------------

def test_node_addresses_are_single_hosts_for_ipv4_and_ipv6():
    nodes = [NodeAddress("a", "192.0.2.1"), NodeAddress("b", "2001:db8::1"), NodeAddress("c", "nope"),
             NodeAddress("d", "192.0.2.1")]
    assert node_cidrs(nodes) == ("192.0.2.1/32", "2001:db8::1/128")


@pytest.mark.parametrize("stored, expected", [
    ("192.0.2.7", ("192.0.2.7/32",)),
    ("192.0.2.7/24", ("192.0.2.0/24",)),  # host bits set: the stored width, never wider
    ("192.0.2.0/30,198.51.100.1", ("192.0.2.0/30", "198.51.100.1/32")),
    ("2001:db8::/64", ("2001:db8::/64",)),
    ("192.0.2.300 ${x} 192.0.2.1/33", ()),
])
def test_stored_source_cidrs_are_validated_and_normalised(stored, expected):
    assert carrier_cidrs([CarrierSource("g", "sip.example.net", stored)]) == expected


@pytest.mark.parametrize("proxy, host", [("192.0.2.9:5060", "192.0.2.9"), ("192.0.2.9", "192.0.2.9"),
                                         ("[2001:db8::9]:5060", "2001:db8::9"), ("sip.example.net", "sip.example.net")])
def test_proxy_host_is_the_address_without_the_port(proxy, host):
    assert proxy_host(proxy) == host


def test_proxy_address_stands_in_only_when_no_sources_are_stored():
    sources = [CarrierSource("a", "[2001:db8::9]:5060", ""), CarrierSource("b", "192.0.2.9:5060", "198.51.100.0/29")]
    assert carrier_cidrs(sources) == ("2001:db8::9/128", "198.51.100.0/29")


def test_builder_denies_by_default_and_keeps_empty_lists_defined():
    doc = build_acl([AclList("x", ("192.0.2.1/32",)), AclList("empty", ())])
    assert lists(etree.tostring(doc)) == {"x": [("allow", "192.0.2.1/32")], "empty": [("deny", "0.0.0.0/0")]}
