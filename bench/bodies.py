"""Fetch bodies for the benchmark: the captured cluster bodies, re-aimed at the generated data.

A captured body names the demo cluster (media-1, acme, user 1000, 127.0.0.11, ...). `derive`
replaces those names wherever they stand as whole tokens, in the five raw leading fields and in
every URL-encoded parameter (decoded, replaced, encoded again the way FreeSWITCH encodes).
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

CLUSTER = Path(__file__).resolve().parent.parent / "tests" / "conformance" / "cluster"
LEADING = ("hostname", "section", "tag_name", "key_name", "key_value")

#: Benchmark case -> the captured body it is derived from.
CAPTURES = {
    "directory sip_auth": "media-1_directory_sip_auth_acme-1000",
    "media dialplan": "media-1_dialplan_acme-outbound",
    "router dialplan": "router-1_dialplan_from-media",
    "sofia.conf": "media-1_sofia.conf_profile-internal",
    "acl.conf": "router-1_acl.conf",
}

#: The demo names a captured body may carry, most specific first (a domain before its tenant code).
DEMO = {
    "domain": "acme.example.com",
    "context": "tenant-acme",
    "tenant": "acme",
    "user": "1000",
    "number": "8613800138000",
    "did": "8610000001",
    "media_address": "127.0.0.11",
    "router_address": "127.0.0.10",
    "media": "media-1",
    "router": "router-1",
}


def captured(name: str) -> bytes:
    return (CLUSTER / f"{name}.body").read_bytes().rstrip(b"\n")


def _encode(value: str) -> str:
    """FreeSWITCH's encoding: %20 for a space, never '+'."""
    return quote(value, safe="-_.!~*'()")


def derive(body: bytes, **values: str) -> bytes:
    """The body with each demo name given in `values` (keys of DEMO) replaced by its new value."""
    rules = [(re.compile(rf"(?<![\w.-]){re.escape(DEMO[key])}(?![\w-]|\.\d)"), values[key])
             for key in DEMO if key in values]

    def replace(text: str) -> str:
        for pattern, new in rules:
            text = pattern.sub(new, text)
        return text

    out = []
    for index, pair in enumerate(body.decode("utf-8").split("&")):
        name, sep, value = pair.partition("=")
        if index < len(LEADING) and name == LEADING[index]:
            out.append(f"{name}{sep}{replace(value)}")
        else:
            out.append(f"{name}{sep}{_encode(replace(unquote(value)))}")
    return "&".join(out).encode("utf-8")
