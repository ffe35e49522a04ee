"""Node authentication hardening: equal cost for unknown nodes, source allow-lists, quiet refusal logs."""
from __future__ import annotations

import secrets

import pytest
from sqlalchemy import update

from tests.conftest import basic_auth, cluster_body, make_body
from xmlcurl import db, metrics
from xmlcurl import secrets as xsecrets
from xmlcurl.fetch import auth
from xmlcurl.models import Node

SIP_AUTH = cluster_body("media-1_directory_sip_auth_acme-1000")


def set_sources(app, node: str, sources: str) -> None:
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == node).values(allowed_sources=sources))
        sess.commit()


def failures(reason: str) -> float:
    return metrics.AUTH_FAILURES.labels(reason)._value.get()


# --- an unknown node costs what a wrong secret costs --------------------------------------------

def _count_argon2(monkeypatch) -> list[str]:
    verified: list[str] = []
    real = xsecrets._verify_node_secret
    monkeypatch.setattr(xsecrets, "_verify_node_secret", lambda stored, secret: verified.append(stored) or real(stored, secret))
    return verified


def test_unknown_nodes_and_wrong_secrets_cost_no_argon2_once_the_right_secret_is_known(fetch, monkeypatch):
    assert fetch(SIP_AUTH).status_code == 200  # this worker now knows media-1's right secret
    verified = _count_argon2(monkeypatch)
    for _ in range(20):
        assert fetch(SIP_AUTH, node="media-9", secret=secrets.token_hex(8)).status_code == 401
        assert fetch(SIP_AUTH, secret=secrets.token_hex(8)).status_code == 401
    assert verified == []
    assert fetch(SIP_AUTH).status_code == 200


def test_a_source_sending_undecidable_secrets_gets_fast_refusals_and_others_are_not_held_back(app, fetch, monkeypatch):
    app.extensions["xmlcurl.auth_sources"] = auth.SourceLimiter(burst=3, refill_seconds=3600)
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "media-1").values(http_secret_hash=xsecrets.hash_node_secret("new-secret-1")))
        sess.commit()
    verified = _count_argon2(monkeypatch)
    before = failures(auth.SOURCE_THROTTLED)
    statuses = [fetch(SIP_AUTH, secret=secrets.token_hex(8)).status_code for _ in range(10)]
    assert statuses == [401] * 10
    assert len(verified) == 3  # the rest were refused without argon2
    assert failures(auth.SOURCE_THROTTLED) == before + 7
    # Another address still gets its secret verified; once known, it passes from anywhere, this one included.
    assert fetch(SIP_AUTH, secret="new-secret-1", environ_base={"REMOTE_ADDR": "127.0.0.7"}).status_code == 200
    assert fetch(SIP_AUTH, secret="new-secret-1").status_code == 200
    assert len(verified) == 4


def test_the_source_limiter_refills_and_counts_ipv6_per_slash_64():
    now = [0.0]
    limiter = auth.SourceLimiter(burst=2, refill_seconds=10, clock=lambda: now[0])
    assert [limiter.allow("2001:db8::1"), limiter.allow("2001:db8::2"), limiter.allow("2001:db8::3")] == [True, True, False]
    assert limiter.allow("2001:db8:0:1::1") and limiter.allow("192.0.2.1")
    now[0] += 10
    assert limiter.allow("2001:db8::4") and not limiter.allow("2001:db8::5")


# --- source allow-list -------------------------------------------------------------------------

def test_fetch_from_outside_the_allow_list_is_forbidden_and_logged(app, fetch, xmlcurl_log):
    set_sources(app, "media-1", "10.0.0.0/8 192.0.2.7")
    before = failures(auth.SOURCE_NOT_ALLOWED)
    response = fetch(SIP_AUTH)
    assert response.status_code == 403
    assert b"<" not in response.data
    assert failures(auth.SOURCE_NOT_ALLOWED) == before + 1
    [line] = xmlcurl_log.messages("fetch refused")
    assert "result=source not allowed username=media-1 peer=127.0.0.1" in line


@pytest.mark.parametrize("sources,peer", [
    ("", "198.51.100.1"),
    ("127.0.0.1", "127.0.0.1"),
    ("10.0.0.0/8 127.0.0.0/8", "127.0.0.5"),
    ("10.1.2.3, 127.0.0.9", "127.0.0.9"),
    ("2001:db8::/32", "2001:db8::5"),
    ("127.0.0.0/8", "::ffff:127.0.0.1"),
])
def test_fetch_from_an_allowed_source_is_answered(app, fetch, sources, peer):
    set_sources(app, "media-1", sources)
    assert fetch(SIP_AUTH, environ_base={"REMOTE_ADDR": peer}).status_code == 200


@pytest.mark.parametrize("sources,peer", [
    ("127.0.0.2", "127.0.0.1"),
    ("2001:db8::/32", "127.0.0.1"),
    ("10.0.0.0/8", "::ffff:127.0.0.1"),
    ("not-an-address", "127.0.0.1"),
])
def test_fetch_from_elsewhere_is_forbidden(app, fetch, sources, peer):
    set_sources(app, "media-1", sources)
    assert fetch(SIP_AUTH, environ_base={"REMOTE_ADDR": peer}).status_code == 403


def test_wrong_secret_from_outside_the_allow_list_says_nothing_about_the_list(app, fetch):
    set_sources(app, "media-1", "10.0.0.0/8")
    assert fetch(SIP_AUTH, secret="media-1-wrong").status_code == 401


def test_other_nodes_keep_fetching_from_anywhere(app, fetch):
    set_sources(app, "media-1", "10.0.0.0/8")
    body = make_body("media-2", "directory", "domain", "name", "globex.example.com",
                     user="1000", domain="globex.example.com", action="sip_auth")
    assert fetch(body, node="media-2").status_code == 200


# --- refusals: logged once a minute per source, counted every time -------------------------------

def test_a_flood_of_refusals_logs_one_line_and_counts_them_all(fetch, xmlcurl_log):
    before = failures(auth.WRONG_SECRET)
    for _ in range(40):
        assert fetch(SIP_AUTH, secret="media-1-wrong").status_code == 401
    assert failures(auth.WRONG_SECRET) == before + 40
    assert len(xmlcurl_log.messages("fetch refused")) == 1
    assert not xmlcurl_log.messages("fetch node=")


def test_refusals_from_another_peer_or_for_another_reason_get_their_own_line(fetch, xmlcurl_log):
    fetch(SIP_AUTH, secret="media-1-wrong")
    fetch(SIP_AUTH, secret="media-1-wrong", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    fetch(SIP_AUTH, node="media-9")
    fetch(SIP_AUTH, node=None)
    assert len(xmlcurl_log.messages("fetch refused")) == 4


def test_after_the_window_the_next_line_says_how_many_were_not_logged(xmlcurl_log):
    now = [0.0]
    log = auth.FailureLog(window_seconds=60, clock=lambda: now[0])
    failure = auth.AuthFailure(401, auth.WRONG_SECRET, "media-1")
    for _ in range(10):
        log.record(failure, "127.0.0.1")
    now[0] = 61
    log.record(failure, "127.0.0.1")
    lines = xmlcurl_log.messages("fetch refused")
    assert len(lines) == 2
    assert lines[1].endswith("; 9 like it not logged in the last 60s")


def test_the_failure_log_forgets_the_oldest_sources_first_and_says_what_it_dropped(xmlcurl_log):
    log = auth.FailureLog(max_keys=3, clock=lambda: 0.0)
    for peer in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"):
        log.record(auth.AuthFailure(401, auth.UNKNOWN_NODE, "x"), peer)
    assert len(log._seen) == 3
    assert any("peer=10.0.0.1: 1 more not logged" in line for line in xmlcurl_log.messages())


def test_a_username_cannot_forge_log_lines(fetch, xmlcurl_log):
    response = fetch(SIP_AUTH, headers=basic_auth("evil\nfetch node=media-1 status=200", "x"), node=None)
    assert response.status_code == 401
    [record] = [r for r in xmlcurl_log.records if "fetch refused" in r.getMessage()]
    assert "\n" not in record.getMessage()
    assert "username=evil\\nfetch\\x20node=media-1" in record.getMessage()


# --- secrets and digest fields never reach the log ------------------------------------------------

MARKERS = {"sip_auth_response": "RESPONSEc0ffee", "sip_auth_nonce": "NONCEc0ffee", "sip_auth_cnonce": "CNONCEc0ffee",
           "sip_auth_password": "PASSWORDc0ffee", "sip_auth_uri": "sip:URIc0ffee@acme.example.com"}


@pytest.mark.parametrize("case", ["answered", "bad body", "wrong secret", "unknown node", "hostname mismatch"])
def test_no_secret_or_digest_field_is_ever_logged(fetch, xmlcurl_log, case):
    body = make_body("media-1", "directory", "domain", "name", "acme.example.com", user="1000",
                     domain="acme.example.com", action="sip_auth", **MARKERS)
    secret = None
    node = "media-1"
    if case == "bad body":
        body += b"&sip_auth_response=REPEATc0ffee&broken%zz"
    elif case == "wrong secret":
        secret = "SECRETc0ffee"
    elif case == "unknown node":
        node, secret = "NODEUSER", "SECRETc0ffee"
    elif case == "hostname mismatch":
        node = "media-2"
    response = fetch(body, node=node, secret=secret)
    assert response.status_code in {200, 400, 401, 403}
    assert xmlcurl_log.records, "the fetch was logged"
    assert "c0ffee" not in xmlcurl_log.text
    assert "-secret" not in xmlcurl_log.text


def test_a_rotated_secret_takes_effect_at_once(app, fetch):
    assert fetch(SIP_AUTH).status_code == 200
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "media-1").values(http_secret_hash=xsecrets.hash_node_secret("rotated")))
        sess.commit()
    assert fetch(SIP_AUTH).status_code == 401
    assert fetch(SIP_AUTH, secret="rotated").status_code == 200


# --- behind a reverse proxy -------------------------------------------------------------------------

def allow_only(app, sources: str) -> None:
    set_sources(app, "media-1", sources)


def test_behind_a_trusted_proxy_the_allow_list_sees_the_forwarded_address(make_sqlite_app):
    app = make_sqlite_app(PROXY_HOPS=1)
    allow_only(app, "10.1.2.3")
    client = app.test_client()
    headers = {**basic_auth("media-1", "media-1-secret"), "X-Forwarded-For": "10.1.2.3"}
    ok = client.post("/freeswitch", data=SIP_AUTH, headers=headers, content_type="application/x-www-form-urlencoded")
    assert ok.status_code == 200
    headers["X-Forwarded-For"] = "10.9.9.9"
    refused = client.post("/freeswitch", data=SIP_AUTH, headers=headers, content_type="application/x-www-form-urlencoded")
    assert refused.status_code == 403


def test_a_forwarded_address_counts_only_one_hop_back(make_sqlite_app):
    """A node cannot forge its address: the proxy appends the real peer, and only the last hop is believed."""
    app = make_sqlite_app(PROXY_HOPS=1)
    allow_only(app, "10.1.2.3")
    headers = {**basic_auth("media-1", "media-1-secret"), "X-Forwarded-For": "10.1.2.3, 192.0.2.66"}
    response = app.test_client().post("/freeswitch", data=SIP_AUTH, headers=headers,
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403


def test_without_proxy_hops_a_forwarded_header_is_ignored(make_sqlite_app):
    app = make_sqlite_app()
    allow_only(app, "10.1.2.3")
    headers = {**basic_auth("media-1", "media-1-secret"), "X-Forwarded-For": "10.1.2.3"}
    response = app.test_client().post("/freeswitch", data=SIP_AUTH, headers=headers,
                                      content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403
