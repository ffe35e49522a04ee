"""deploy/kamailio/kamailio.cfg in a real Kamailio relays real SIP between phone and media-node doubles.

The database is MariaDB with the demo data (acme -> media-1, globex -> media-2, initech -> media-1
then media-2); the media doubles listen on the demo addresses 127.0.0.11/12, on free ports written
into the nodes table with plain SQL.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.dispatcher.sip_doubles import host_port, uri_of

pytestmark = pytest.mark.mysql


def register(phone, proxy, domain: str, user: str = "1000", contact: str | None = None) -> dict[str, str]:
    contact = contact or f"sip:{user}@{phone.address}:{phone.port}"
    return phone.send_request("REGISTER", f"sip:{domain}", proxy.address, from_uri=f"sip:{user}@{domain}",
                              to_uri=f"sip:{user}@{domain}", headers={"Contact": f"<{contact}>", "Expires": "300"})


def invite(phone, proxy, domain: str, number: str = "1001", **kwargs) -> dict[str, str]:
    return phone.send_request("INVITE", f"sip:{number}@{domain}", proxy.address,
                              from_uri=f"sip:1000@{domain}",
                              headers={"Contact": f"<sip:1000@{phone.address}:{phone.port}>"}, **kwargs)


def test_register_for_each_demo_domain_reaches_that_tenants_media_node(start_proxy, media, phone):
    proxy = start_proxy()
    for domain, node in [("acme.example.com", "media-1"), ("globex.example.com", "media-2"),
                         ("initech.example.com", "media-1")]:
        sent = register(phone, proxy, domain)
        reply = phone.final_reply(sent["call_id"], "REGISTER")
        assert reply is not None and reply.status == 200, (domain, reply, proxy.log_text()[-3000:])
        assert media[node].requests("REGISTER", sent["call_id"]), domain
        other = "media-2" if node == "media-1" else "media-1"
        assert not media[other].requests("REGISTER", sent["call_id"]), domain


def test_unknown_domain_gets_404(start_proxy, media, phone):
    proxy = start_proxy()
    sent = register(phone, proxy, "unknown.example.com")
    reply = phone.final_reply(sent["call_id"], "REGISTER")
    assert reply is not None and reply.status == 404
    assert reply.first_line == "SIP/2.0 404 No media node for this domain"
    sent = invite(phone, proxy, "unknown.example.com")
    assert phone.final_reply(sent["call_id"], "INVITE").status == 404
    assert not media["media-1"].requests() and not media["media-2"].requests()
