"""The session database DSN through the API and the admin: write-only, stored encrypted, masked in the audit log."""
from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet

from tests.admin.conftest import SUPER, login, post
from tests.api.conftest import assert_error
from xmlcurl import db
from xmlcurl.models import AuditEntry, Node

DSN = "mariadb://Server=db.internal;Port=3306;Database=fs_cluster;Uid=fs;Pwd=very-secret-pw"


@pytest.fixture(autouse=True)
def esl_key(app):
    app.config["XMLCURL"]["ESL_KEY"] = Fernet.generate_key().decode()


def stored_dsn(app, node_id: int) -> str | None:
    with app.app_context():
        return db.session().get(Node, node_id).session_db_dsn_enc


def test_the_dsn_is_accepted_but_never_shown(api, app):
    response = api.patch("/nodes/2", json={"session_db_dsn": DSN})
    assert response.status_code == 200, response.get_json()
    for text in (response.get_data(as_text=True), api.get("/nodes/2").get_data(as_text=True),
                 api.get("/nodes").get_data(as_text=True)):
        assert "very-secret-pw" not in text and '"session_db_dsn"' not in text and "_enc" not in text
    assert api.get("/nodes/2").get_json()["has_session_db_dsn"] is True
    assert api.get("/nodes/3").get_json()["has_session_db_dsn"] is False
    assert stored_dsn(app, 2) and "very-secret-pw" not in stored_dsn(app, 2)


def test_a_new_node_may_be_created_with_a_dsn(api):
    body = api.post("/nodes", json={"name": "media-3", "role": "media", "sip_address": "127.0.0.13",
                                    "http_secret": "media-3-secret-long-enough", "session_db_dsn": DSN}).get_json()
    assert body["has_session_db_dsn"] is True and "session_db_dsn" not in body


def test_null_removes_the_dsn_and_leaving_it_out_keeps_it(api, app):
    api.patch("/nodes/2", json={"session_db_dsn": DSN})
    api.patch("/nodes/2", json={"sip_port": 5070})
    assert stored_dsn(app, 2)
    assert api.patch("/nodes/2", json={"session_db_dsn": None}).get_json()["has_session_db_dsn"] is False
    assert stored_dsn(app, 2) is None


@pytest.mark.parametrize("dsn", ["not a dsn", "mariadb://Server=x;Pwd=$${secret}", "odbc://x\ny", "x" * 1100])
def test_a_bad_dsn_answers_422_and_changes_nothing(api, app, dsn):
    assert_error(api.patch("/nodes/2", json={"session_db_dsn": dsn}), 422, "invalid", "session_db_dsn")
    assert stored_dsn(app, 2) is None


def test_without_a_key_the_dsn_is_refused_with_the_reason(api, app):
    app.config["XMLCURL"].update(ESL_KEY=None, SECRET_KEY=None)
    body = assert_error(api.patch("/nodes/2", json={"session_db_dsn": DSN}), 422, "invalid", "session_db_dsn")
    assert "XMLCURL_ESL_KEY" in json.dumps(body)


def test_the_audit_log_masks_the_dsn(api, app):
    api.patch("/nodes/2", json={"session_db_dsn": DSN})
    text = api.get("/audit?entity=node&entity_id=2").get_data(as_text=True)
    assert "very-secret-pw" not in text
    with app.app_context():
        entry = db.session().query(AuditEntry).filter_by(entity="node", entity_id="2").order_by(AuditEntry.id.desc()).first()
        assert json.loads(entry.after_json)["session_db_dsn_enc"] == "***"
        assert json.loads(entry.before_json)["session_db_dsn_enc"] is None


def test_the_admin_form_sets_and_removes_the_dsn_without_showing_it(app):
    client = app.test_client()
    assert login(client, *SUPER).status_code == 302
    form = {"name": "media-1", "role": "media", "sip_address": "127.0.0.11", "sip_port": "5060",
            "cluster_port": "5080", "http_username": "media-1", "enabled": "true"}
    response = post(client, "/admin/nodes/2", {**form, "session_db_dsn": DSN}, follow_redirects=True)
    assert response.status_code == 200 and stored_dsn(app, 2)
    for path in ("/admin/nodes/2", "/admin/nodes/", "/admin/audit/"):
        assert "very-secret-pw" not in client.get(path).get_data(as_text=True)
    post(client, "/admin/nodes/2", form, follow_redirects=True)  # blank: kept
    assert stored_dsn(app, 2)
    post(client, "/admin/nodes/2", {**form, "clear_session_db_dsn": "true"}, follow_redirects=True)
    assert stored_dsn(app, 2) is None
