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
    kwargs.setdefault("headers", {"Contact": f"<sip:1000@{phone.address}:{phone.port}>"})
    return phone.send_request("INVITE", f"sip:{number}@{domain}", proxy.address,
                              from_uri=f"sip:1000@{domain}", **kwargs)


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


def test_a_keepalive_options_to_the_proxy_itself_is_answered_without_a_tenant(start_proxy, media, phone):
    proxy = start_proxy()
    host, port = proxy.address
    sent = phone.send_request("OPTIONS", f"sip:{host}:{port}", proxy.address)
    reply = phone.final_reply(sent["call_id"], "OPTIONS", timeout=5)
    assert reply is not None and reply.first_line == "SIP/2.0 200 Keepalive"
    assert not media["media-1"].requests("OPTIONS", sent["call_id"])


def test_a_failed_tenant_lookup_gets_503_with_retry_after_not_404(start_proxy, media, phone, kamailio_db):
    engine, _url = kamailio_db
    proxy = start_proxy()
    with engine.begin() as conn:
        conn.execute(text("RENAME TABLE dispatcher_domains TO dispatcher_domains_away"))
    try:
        sent = register(phone, proxy, "acme.example.com")
        reply = phone.final_reply(sent["call_id"], "REGISTER", timeout=10)
    finally:
        with engine.begin() as conn:
            conn.execute(text("RENAME TABLE dispatcher_domains_away TO dispatcher_domains"))
    assert reply is not None and reply.first_line == "SIP/2.0 503 Tenant lookup failed"
    assert reply.header("retry-after") == "5"
    assert not media["media-1"].requests("REGISTER")


@pytest.mark.parametrize("method", ["REGISTER", "INVITE"])
def test_a_silent_preferred_node_fails_over_to_the_next_within_the_no_reply_timer(start_proxy, media, phone, method):
    proxy = start_proxy()
    media["media-1"].mode = "silent"
    started = time.monotonic()
    sent = register(phone, proxy, "initech.example.com") if method == "REGISTER" else invite(
        phone, proxy, "initech.example.com")
    reply = phone.final_reply(sent["call_id"], method, timeout=20)
    took = time.monotonic() - started
    print(f"\n{method} failover past a silent media node took {took:.2f} s")
    assert reply is not None and reply.status == 200, proxy.log_text()[-3000:]
    first = media["media-1"].requests(method, sent["call_id"])
    second = media["media-2"].wait_request(method, sent["call_id"], timeout=1)
    assert first and second and second.at > first[0].at
    # the silent node is out of the set at once: the next request goes straight to media-2
    assert proxy.flags(3, media["media-1"].uri).startswith("I")
    again = register(phone, proxy, "initech.example.com")
    assert phone.final_reply(again["call_id"], "REGISTER", timeout=5).status == 200
    assert not media["media-1"].requests("REGISTER", again["call_id"])
    assert media["media-2"].requests("REGISTER", again["call_id"])


@pytest.mark.parametrize("method", ["REGISTER", "INVITE"])
def test_a_preferred_node_answering_503_fails_over_to_the_next(start_proxy, media, phone, method):
    proxy = start_proxy()
    media["media-1"].mode = "503"
    started = time.monotonic()
    sent = register(phone, proxy, "initech.example.com") if method == "REGISTER" else invite(
        phone, proxy, "initech.example.com")
    reply = phone.final_reply(sent["call_id"], method, timeout=20)
    print(f"\n{method} failover past a media node answering 503 took {time.monotonic() - started:.2f} s")
    assert reply is not None and reply.status == 200, proxy.log_text()[-3000:]
    first = media["media-1"].requests(method, sent["call_id"])
    second = media["media-2"].requests(method, sent["call_id"])
    assert first and second and second[0].at > first[0].at


def test_a_503_after_ringing_is_the_calls_answer_and_does_not_ring_again_elsewhere(start_proxy, media, phone):
    proxy = start_proxy()
    media["media-1"].mode = "ring-503"
    sent = invite(phone, proxy, "initech.example.com")
    reply = phone.final_reply(sent["call_id"], "INVITE", timeout=10)
    # a proxy passes a 503 on as 500 (RFC 3261 16.7): the proxy itself is not unavailable
    assert reply is not None and reply.status == 500
    assert media["media-1"].requests("INVITE", sent["call_id"])
    assert not media["media-2"].requests("INVITE", sent["call_id"])


def test_with_every_node_of_the_tenant_down_the_phone_gets_an_answer_not_silence(start_proxy, media, phone):
    proxy = start_proxy(media_fr_ms=1000)
    media["media-1"].mode = media["media-2"].mode = "silent"
    sent = register(phone, proxy, "initech.example.com")
    assert phone.final_reply(sent["call_id"], "REGISTER", timeout=10).status == 408
    again = register(phone, proxy, "initech.example.com")
    reply = phone.final_reply(again["call_id"], "REGISTER", timeout=5)
    assert reply.status == 503 and reply.header("retry-after") == "5"


def test_register_carries_path_and_a_call_from_the_media_node_comes_back_through_the_proxy(start_proxy, media, phone):
    proxy = start_proxy()
    # a Contact the media node could never reach directly (a phone behind NAT)
    sent = register(phone, proxy, "acme.example.com", contact="sip:1000@10.99.0.7:5060")
    assert phone.final_reply(sent["call_id"], "REGISTER").status == 200
    filed = media["media-1"].requests("REGISTER", sent["call_id"])[0]
    path = filed.header("path")
    assert path is not None, filed.raw
    assert host_port(uri_of(path)) == proxy.address
    assert f"received=sip:{phone.address}:{phone.port}" in path.replace("%3a", ":").replace("%3A", ":")

    # media-1 calls the user the way FreeSWITCH does with a Path: Route = the Path, R-URI = Contact
    node = media["media-1"]
    call = node.send_request("INVITE", "sip:1000@10.99.0.7:5060", proxy.address, from_uri="sip:1001@acme.example.com",
                             to_uri="sip:1000@acme.example.com",
                             headers={"Route": path, "Contact": f"<sip:media-1@{node.address}:{node.port}>"})
    arrived = phone.wait_request("INVITE", call["call_id"])
    assert arrived is not None, proxy.log_text()[-3000:]
    assert arrived.uri == "sip:1000@10.99.0.7:5060"
    assert arrived.source == proxy.address
    assert any(host_port(uri_of(rr)) == proxy.address for rr in arrived.all("record-route"))
    answer = node.final_reply(call["call_id"], "INVITE")
    assert answer is not None and answer.status == 200

    # and the media node's BYE for that call follows the Record-Route to the phone
    route = ", ".join(answer.all("record-route"))
    node.send_request("ACK", uri_of(answer.header("contact")), proxy.address, call_id=call["call_id"],
                      from_tag=call["from_tag"], from_uri=call["from_uri"], to_uri=call["to_uri"],
                      to_tag=answer.header("to").split("tag=")[1], headers={"Route": route})
    node.send_request("BYE", uri_of(answer.header("contact")), proxy.address, call_id=call["call_id"], cseq=2,
                      from_tag=call["from_tag"], from_uri=call["from_uri"], to_uri=call["to_uri"],
                      to_tag=answer.header("to").split("tag=")[1], headers={"Route": route})
    assert phone.wait_request("ACK", call["call_id"]) is not None
    assert phone.wait_request("BYE", call["call_id"]) is not None
    assert node.final_reply(call["call_id"], "BYE").status == 200


def test_a_digest_challenge_passes_through_and_the_authenticated_retry_reaches_the_same_node(
        start_proxy, media, phone):
    proxy = start_proxy()
    media["media-1"].mode = "challenge"
    sent = invite(phone, proxy, "acme.example.com")
    challenge = phone.final_reply(sent["call_id"], "INVITE")
    assert challenge.status == 407
    assert challenge.header("proxy-authenticate") == (
        'Digest realm="acme.example.com", nonce="media-1-nonce", algorithm=MD5, qop="auth"')
    # the phone's ACK to the 407 is the transaction's: absorbed by the proxy, not answered
    phone.send_request("ACK", "sip:1001@acme.example.com", proxy.address, call_id=sent["call_id"],
                       branch=sent["branch"], from_tag=sent["from_tag"], from_uri=sent["from_uri"],
                       to_tag=challenge.header("to").split("tag=")[1])
    retry = invite(phone, proxy, "acme.example.com", call_id=sent["call_id"], cseq=2, from_tag=sent["from_tag"],
                   headers={"Contact": f"<sip:1000@{phone.address}:{phone.port}>",
                            "Proxy-Authorization": 'Digest username="1000", realm="acme.example.com", '
                                                   'nonce="media-1-nonce", uri="sip:1001@acme.example.com", '
                                                   'response="0123456789abcdef0123456789abcdef"'})
    answer = phone.wait_for(lambda m: m.status == 200 and m.call_id == sent["call_id"] and m.cseq == (2, "INVITE"))
    assert answer is not None, proxy.log_text()[-3000:]
    invites = media["media-1"].requests("INVITE", sent["call_id"])
    assert [i.header("proxy-authorization") is not None for i in invites] == [False, True]
    assert not media["media-2"].requests(call_id=sent["call_id"])
    assert not phone.wait_for(lambda m: m.status == 404 and m.call_id == sent["call_id"], timeout=0.5)


def established_call(phone, proxy, domain: str):
    """An INVITE from the phone answered through the proxy, ACKed; returns (ids, 200 OK)."""
    sent = invite(phone, proxy, domain)
    answer = phone.final_reply(sent["call_id"], "INVITE")
    assert answer is not None and answer.status == 200, (answer, proxy.log_text()[-3000:])
    phone.send_request("ACK", uri_of(answer.header("contact")), proxy.address, call_id=sent["call_id"],
                       from_tag=sent["from_tag"], from_uri=sent["from_uri"], to_uri=sent["to_uri"],
                       to_tag=answer.header("to").split("tag=")[1],
                       headers={"Route": ", ".join(reversed(answer.all("record-route")))})
    return sent, answer


def phone_bye(phone, proxy, sent, answer, route: bool = True) -> None:
    headers = {"Route": ", ".join(reversed(answer.all("record-route")))} if route else {}
    phone.send_request("BYE", uri_of(answer.header("contact")), proxy.address, call_id=sent["call_id"], cseq=2,
                       from_tag=sent["from_tag"], from_uri=sent["from_uri"], to_uri=sent["to_uri"],
                       to_tag=answer.header("to").split("tag=")[1], headers=headers)


def test_bye_follows_the_record_route_to_the_media_node_that_has_the_call(start_proxy, media, phone):
    proxy = start_proxy()
    sent, answer = established_call(phone, proxy, "globex.example.com")
    assert answer.all("record-route"), answer.raw
    assert media["media-2"].wait_request("ACK", sent["call_id"]) is not None
    phone_bye(phone, proxy, sent, answer)
    assert media["media-2"].wait_request("BYE", sent["call_id"]) is not None
    assert phone.final_reply(sent["call_id"], "BYE").status == 200
    assert not media["media-1"].requests(call_id=sent["call_id"])


def test_the_dialog_stays_on_its_media_node_after_the_tenant_fails_over(start_proxy, media, phone):
    proxy = start_proxy(ping_s=1)
    sent, answer = established_call(phone, proxy, "initech.example.com")
    assert media["media-1"].requests("INVITE", sent["call_id"])
    media["media-1"].mode = "silent"
    assert proxy.wait_flags(3, media["media-1"].uri, "I", timeout=15) is not None
    # new calls of the tenant go to media-2, but this call's BYE still goes to media-1, which has it
    phone_bye(phone, proxy, sent, answer)
    assert media["media-1"].wait_request("BYE", sent["call_id"], timeout=5) is not None
    assert not media["media-2"].requests(call_id=sent["call_id"])


def test_an_in_dialog_request_without_route_is_relayed_to_a_media_node_or_refused_with_a_reason(
        start_proxy, media, phone):
    proxy = start_proxy()
    sent, answer = established_call(phone, proxy, "acme.example.com")
    phone_bye(phone, proxy, sent, answer, route=False)
    assert media["media-1"].wait_request("BYE", sent["call_id"]) is not None
    assert phone.final_reply(sent["call_id"], "BYE").status == 200

    stray = phone.send_request("BYE", "sip:1001@198.51.100.9:5060", proxy.address, to_tag="gone", cseq=2)
    reply = phone.final_reply(stray["call_id"], "BYE", timeout=5)
    assert reply is not None and reply.first_line == "SIP/2.0 404 Not here: in-dialog request without Route"


@pytest.mark.parametrize("preferred_silent", [False, True])
def test_cancel_reaches_the_media_node_that_has_the_invite(start_proxy, media, phone, preferred_silent):
    proxy = start_proxy()
    if preferred_silent:
        media["media-1"].mode = "silent"
    media["media-1"].ring = media["media-2"].ring = True
    ringing = "media-2" if preferred_silent else "media-1"
    sent = invite(phone, proxy, "initech.example.com")
    assert media[ringing].wait_request("INVITE", sent["call_id"], timeout=10) is not None
    assert phone.wait_for(lambda m: m.status == 180 and m.call_id == sent["call_id"], timeout=5) is not None
    phone.send_request("CANCEL", "sip:1001@initech.example.com", proxy.address, call_id=sent["call_id"],
                       branch=sent["branch"], from_tag=sent["from_tag"], from_uri=sent["from_uri"])
    assert media[ringing].wait_request("CANCEL", sent["call_id"], timeout=5) is not None
    assert phone.final_reply(sent["call_id"], "CANCEL").status == 200
    assert phone.final_reply(sent["call_id"], "INVITE").status == 487
    other = "media-1" if ringing == "media-2" else "media-2"
    assert not media[other].requests("CANCEL", sent["call_id"])


def test_a_retransmitted_register_is_absorbed_not_relayed_twice(start_proxy, media, phone):
    proxy = start_proxy(media_fr_ms=2000)
    media["media-2"].mode = "silent"
    sent = register(phone, proxy, "globex.example.com")
    assert media["media-2"].wait_request("REGISTER", sent["call_id"], timeout=5) is not None
    # the phone's retransmission (same branch) while the proxy still waits for the media node
    phone.send_request("REGISTER", "sip:globex.example.com", proxy.address, call_id=sent["call_id"],
                       branch=sent["branch"], from_tag=sent["from_tag"], from_uri=sent["from_uri"],
                       to_uri=sent["to_uri"], headers={"Contact": f"<sip:1000@{phone.address}:{phone.port}>"})
    reply = phone.final_reply(sent["call_id"], "REGISTER", timeout=10)
    assert reply is not None and reply.status == 408
    copies = media["media-2"].requests("REGISTER", sent["call_id"])
    # one transaction towards the node: tm's own copies at 0 s, 0.5 s and 1.5 s, all one branch
    assert len({copy.header("via") for copy in copies}) == 1
    assert len(copies) == 3


def test_probing_takes_a_dead_node_out_and_brings_it_back(start_proxy, media, phone):
    proxy = start_proxy(ping_s=1)
    node = media["media-1"]
    assert proxy.wait_flags(3, node.uri, "AP", timeout=5) is not None
    node.mode = "silent"
    started = time.monotonic()
    assert proxy.wait_flags(3, node.uri, "I", timeout=15) is not None
    print(f"\nprobing marked the silent node inactive after {time.monotonic() - started:.1f} s")
    sent = register(phone, proxy, "initech.example.com")
    assert phone.final_reply(sent["call_id"], "REGISTER", timeout=5).status == 200
    assert not node.requests("REGISTER", sent["call_id"])
    node.mode = "answer"
    started = time.monotonic()
    assert proxy.wait_flags(3, node.uri, "A", timeout=15) is not None
    print(f"probing brought it back after {time.monotonic() - started:.1f} s")
    sent = register(phone, proxy, "initech.example.com")
    assert phone.final_reply(sent["call_id"], "REGISTER", timeout=5).status == 200
    assert node.requests("REGISTER", sent["call_id"])


def test_a_plain_sql_pinning_change_is_followed_and_unchanged_sets_keep_their_state(
        start_proxy, media, phone, kamailio_db):
    engine, _url = kamailio_db
    proxy = start_proxy(sets_check_s=1)
    media["media-1"].mode = "silent"
    sent = register(phone, proxy, "initech.example.com")
    assert phone.final_reply(sent["call_id"], "REGISTER", timeout=10).status == 200
    assert proxy.flags(3, media["media-1"].uri).startswith("I")
    # several checks of unchanged sets later the dead node is still out (no reload, no reset)
    time.sleep(3)
    assert proxy.flags(3, media["media-1"].uri).startswith("I")

    with engine.begin() as conn:
        conn.execute(text("UPDATE tenant_nodes SET weight = 200 WHERE tenant_id = 3 AND node_id = 3"))
        conn.execute(text("DELETE FROM tenant_nodes WHERE tenant_id = 1"))
        conn.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (1, 3, 100)"))
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proxy.sets().get(3, [(None,)])[0][0] != media["media-2"].uri:
        time.sleep(0.2)
    sets = proxy.sets()
    assert [(uri, priority) for uri, priority, _a, _f in sets[3]] == [
        (media["media-2"].uri, 200), (media["media-1"].uri, 100)], proxy.log_text()[-3000:]
    assert [uri for uri, *_ in sets[1]] == [media["media-2"].uri]
    sent = register(phone, proxy, "acme.example.com")
    assert phone.final_reply(sent["call_id"], "REGISTER", timeout=5).status == 200
    assert media["media-2"].requests("REGISTER", sent["call_id"])
