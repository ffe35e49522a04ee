"""Hostile caller text through the API: refused with a 422 that says why, or accepted and then served as is.

A stored value that FreeSWITCH's answer builders would refuse made the user vanish (`not found`);
this proves that whatever the API accepts, the directory serves, with the user still there.
"""
from __future__ import annotations

import pytest
from lxml import etree

from tests.api.conftest import api, assert_error  # noqa: F401 (fixtures)
from tests.conftest import make_body
from tests.hostile.corpus import CALLER_TEXT

FIELDS = ("cid_name", "outbound_cid_name", "variable", "username")


def _directory(fetch, username: str):
    body = make_body("media-1", "directory", "domain", "name", "acme.example.com", user=username,
                     domain="acme.example.com", action="user_call")
    return etree.fromstring(fetch(body).data)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("entry_id, text", CALLER_TEXT, ids=[e[0] for e in CALLER_TEXT])
def test_caller_text_the_api_accepts_is_served_unchanged(api, fetch, field, entry_id, text):
    payload = {"username": "3000", "password": "password-3000"}
    if field == "variable":
        payload["variables"] = [{"name": "x_note", "value": text}]
    else:
        payload[field] = text
    response = api.post("/sip-users", as_="acme", json=payload)
    if response.status_code == 422:
        body = assert_error(response, 422, "invalid", "variables" if field == "variable" else field)
        assert body["message"]
        return
    assert response.status_code == 201, response.get_json()
    doc = _directory(fetch, payload["username"])
    user = doc.find(".//user")
    assert user is not None, f"{entry_id}: accepted (201) but the user is not served"
    if text == "":
        return  # an empty optional field means none: the defaults are served
    variables = {v.get("name"): v.get("value") for v in user.iter("variable")}
    expected = {"cid_name": "effective_caller_id_name", "outbound_cid_name": "outbound_caller_id_name",
                "variable": "x_note"}
    if field in expected:
        assert variables[expected[field]] == text, entry_id
    else:
        assert user.get("id") == text


def test_the_corpus_holds_names_that_must_stay_accepted(api):
    for text in ("Zoë Ångström", "客服中心", "O'Brien-Smith Jr.", "desk_2", "sales@acme", "Team+1"):
        response = api.post("/sip-users", as_="acme", json={"username": f"u{abs(hash(text)) % 10**6}",
                                                            "password": "password-3000", "cid_name": text})
        assert response.status_code == 201, (text, response.get_json())
