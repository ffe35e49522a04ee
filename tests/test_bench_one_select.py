"""The one-SELECT reference server of the bench answers the directory case as the cold rows are read against."""
from __future__ import annotations

import importlib
import shutil
import sys

from lxml import etree

from tests.conftest import cluster_body


def test_the_one_select_reference_answers_a_sip_auth_with_the_users_a1_hash(sqlite_template, tmp_path, monkeypatch):
    path = tmp_path / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("XMLCURL_DATABASE_URL", f"sqlite:///{path}")
    sys.modules.pop("bench.one_select", None)
    reference = importlib.import_module("bench.one_select")
    try:
        client = reference.app.test_client()
        answer = client.post("/freeswitch", data=cluster_body("media-1_directory_sip_auth_acme-1000"),
                             content_type="application/x-www-form-urlencoded")
        assert answer.status_code == 200
        user = etree.fromstring(answer.data).find("section/domain/groups/group/users/user")
        assert user.get("id") == "1000" and user.find("params/param").get("name") == "a1-hash"
        unknown = client.post("/freeswitch", data=b"hostname=media-1&section=directory&key_value=nowhere.example&user=1",
                              content_type="application/x-www-form-urlencoded")
        assert b'status="not found"' in unknown.data
    finally:
        reference.engine.dispose()
        sys.modules.pop("bench.one_select", None)
