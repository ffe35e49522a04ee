"""Fuzzing the body parser and the endpoint: any bytes give a FetchRequest or a BadFetch, never a crash."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import cluster_body, fs_encode, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from xmlcurl.fetch.request import BadFetch, FetchRequest, parse_fetch

FIELD = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_are_refused(raw):
    try:
        assert isinstance(parse_fetch(raw), FetchRequest)
    except BadFetch:
        pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True), FIELD, max_size=8))
def test_encoded_parameters_round_trip(params):
    body = "hostname=media-1&section=dialplan&tag_name=&key_name=&key_value="
    body += "".join(f"&{name}={fs_encode(value)}" for name, value in params.items())
    assert dict(parse_fetch(body.encode()).params) == params


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=FIELD, domain=FIELD, action=st.sampled_from(["sip_auth", "user_call", "", "message-count", "x"]))
def test_directory_answers_are_always_readable(fetch, user, domain, action):
    body = retarget(cluster_body("media-1_directory_sip_auth_acme-1000"), user=user, action=action)
    if domain and "&" not in domain:
        body = retarget(body, domain=domain)
    response = fetch(body)
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert_freeswitch_can_read(response.data)
