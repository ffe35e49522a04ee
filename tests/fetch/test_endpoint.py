"""POST /freeswitch: node authentication, bad bodies, dispatch and the not-found answer."""
from __future__ import annotations

import io
import logging

from lxml import etree
from sqlalchemy import update

from tests.conftest import basic_auth, captured_request, cluster_body, make_body, retarget
from xmlcurl import db
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import Node

SIP_AUTH = cluster_body("media-1_directory_sip_auth_acme-1000")


def test_known_node_with_its_secret_gets_xml(fetch):
    response = fetch(SIP_AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert etree.fromstring(response.data).find("section").get("name") == "directory"


def test_wrong_secret_is_refused_without_xml(fetch):
    response = fetch(SIP_AUTH, secret="media-1-wrong")
    assert response.status_code == 401
    assert b"<" not in response.data
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_unknown_node_is_refused(fetch):
    assert fetch(SIP_AUTH, node="media-9").status_code == 401


def test_missing_credentials_are_refused(fetch):
    assert fetch(SIP_AUTH, node=None).status_code == 401


def test_disabled_node_is_refused(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "media-1").values(enabled=False))
        sess.commit()
    assert fetch(SIP_AUTH).status_code == 401


def test_another_nodes_credentials_with_this_hostname_are_forbidden(fetch, caplog):
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        response = fetch(SIP_AUTH, node="media-2")
    assert response.status_code == 403
    assert b"<" not in response.data
    assert "hostname 'media-1' is not this node's switchname" in caplog.text


def test_refusals_are_logged_with_the_reason(fetch, caplog):
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        fetch(SIP_AUTH, secret="nope")
    assert "status=401 result=wrong secret" in caplog.text
    assert "nope" not in caplog.text


def test_each_fetch_logs_one_line_with_node_section_key_result_and_time(fetch, caplog):
    with caplog.at_level(logging.INFO, logger="xmlcurl.fetch"):
        fetch(SIP_AUTH)
    lines = [r.getMessage() for r in caplog.records if r.name == "xmlcurl.fetch"]
    assert len(lines) == 1
    assert lines[0].startswith("fetch node=media-1 section=directory key=acme.example.com/1000/sip_auth status=200 result=ok ms=")


def test_body_that_is_not_a_fetch_is_a_400_in_plain_text(fetch):
    response = fetch(b"hello=world")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert b"not a mod_xml_curl fetch" in response.data


def test_body_over_the_limit_is_a_413(fetch):
    response = fetch(SIP_AUTH + b"&pad=" + b"x" * 300000)
    assert response.status_code == 413
    assert response.mimetype == "text/plain"


def _chunked(client, body: bytes):
    """POST as a server that ends the input itself sees it (gunicorn, a chunked body: no Content-Length)."""
    return client.post("/freeswitch", input_stream=io.BytesIO(body), headers=basic_auth("media-1", "media-1-secret"),
                       content_type="application/x-www-form-urlencoded",
                       environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""})


def test_a_body_the_server_terminates_is_read_without_a_content_length(client):
    response = _chunked(client, SIP_AUTH)
    assert response.status_code == 200
    assert etree.fromstring(response.data).find("section").get("name") == "directory"


def test_a_body_the_server_terminates_is_still_cut_at_the_limit(client):
    response = _chunked(client, SIP_AUTH + b"&pad=" + b"x" * 300000)
    assert response.status_code == 413


def test_unserved_configuration_gets_the_not_found_document(fetch):
    response = fetch(retarget(captured_request("config-console.conf-startup"), hostname="media-1"))
    assert response.status_code == 200
    assert response.data == NOT_FOUND


def test_unknown_section_gets_not_found(fetch):
    response = fetch(retarget(captured_request("languages-phrase"), hostname="media-1"))
    assert response.data == NOT_FOUND


def test_not_found_document_is_exactly_what_freeswitch_expects():
    doc = etree.fromstring(NOT_FOUND)
    assert doc.tag == "document" and doc.get("type") == "freeswitch/xml"
    result = doc.find("section[@name='result']/result")
    assert result.get("status") == "not found"


def test_get_is_not_allowed(client):
    assert client.get("/freeswitch").status_code == 405


def test_health_endpoints_need_no_credentials(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ok"


def test_router_gets_not_found_for_directory(fetch):
    body = retarget(SIP_AUTH, hostname="router-1")
    response = fetch(body, node="router-1")
    assert response.status_code == 200
    assert response.data == NOT_FOUND


def test_handcrafted_body_round_trips(fetch):
    body = make_body("media-1", "directory", "domain", "name", "acme.example.com", user="1001", key="id")
    response = fetch(body)
    assert etree.fromstring(response.data).find(".//user").get("id") == "1001"


def test_fetches_and_probes_never_read_or_set_the_admin_cookie(client, fetch):
    # Only the admin pages have a session: a fetch pays for no cookie and never gets one.
    client.set_cookie("xmlcurl_admin", "forged.value.here")
    assert "Set-Cookie" not in fetch(SIP_AUTH).headers
    assert "Set-Cookie" not in client.get("/healthz").headers
    login_page = client.get("/admin/login")
    assert login_page.status_code == 200
