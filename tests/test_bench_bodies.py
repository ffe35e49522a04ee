"""The benchmark's request bodies: captured bodies re-aimed at other names, still parsed as FreeSWITCH's."""
from __future__ import annotations

import pytest

from bench.bodies import CAPTURES, DEMO, captured, derive
from xmlcurl.fetch.request import parse_fetch

NEW = {"domain": "t00042.example.net", "context": "tenant-t00042", "tenant": "t00042", "user": "1017",
       "number": "4420123456789", "did": "445000000001", "media_address": "127.2.0.7",
       "router_address": "127.1.0.2", "media": "media-7", "router": "router-2"}


@pytest.mark.parametrize("case", sorted(CAPTURES))
def test_derived_bodies_parse_and_keep_no_demo_name(case):
    body = derive(captured(CAPTURES[case]), **NEW)
    request = parse_fetch(body)
    assert request.hostname in {"media-7", "router-2"}
    text = body.decode()
    for key, old in DEMO.items():
        assert f"={old}&" not in text and not text.endswith(f"={old}"), (key, old)


def test_derive_replaces_whole_names_only():
    body = b"hostname=media-1&section=dialplan&tag_name=&key_name=&key_value=&a=media-10&b=8610000001&c=1000%40acme.example.com"
    derived = derive(body, media="media-7", user="2001", domain="t1.example.net", did="4450001")
    assert derived == (b"hostname=media-7&section=dialplan&tag_name=&key_name=&key_value=&a=media-10&b=4450001"
                       b"&c=2001%40t1.example.net")


def test_directory_body_names_the_new_user_and_domain():
    request = parse_fetch(derive(captured(CAPTURES["directory sip_auth"]), **NEW))
    assert request.key_value == "t00042.example.net"
    assert request.get("user") == "1017" and request.get("domain") == "t00042.example.net"
    assert request.get("sip_auth_username") == "1017"
