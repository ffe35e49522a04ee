"""Fetch answers that carry credentials are marked `Cache-Control: no-store`, so no cache on the way keeps them."""
from __future__ import annotations

import pytest

from tests.conftest import cluster_body


@pytest.mark.parametrize("name", ["media-1_directory_sip_auth_acme-1000", "media-1_directory_user_call_acme-1000",
                                  "media-1_sofia.conf", "router-1_sofia.conf_profile-carrier"])
def test_fetch_answers_with_a1_hashes_or_gateway_passwords_are_no_store(fetch, name):
    node = name.split("_", 1)[0]
    response = fetch(cluster_body(name), node=node)
    assert response.status_code == 200 and b"not found" not in response.data
    assert response.headers["Cache-Control"] == "no-store"
