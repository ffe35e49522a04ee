"""A corpus of hostile and broken fetch bodies, built from the captured requests.

Each entry: (id, body, marker). `marker` is text that must never reach an action's data
(None where the entry is only about the body's form).
"""
from __future__ import annotations

from tests.conftest import captured_request, cluster_body, fs_encode, make_body, retarget

SIP_AUTH = cluster_body("media-1_directory_sip_auth_acme-1000")
MEDIA_DIALPLAN = cluster_body("media-1_dialplan_acme-outbound")
ROUTER_DIALPLAN = cluster_body("router-1_dialplan_from-media")
CARRIER_DIALPLAN = cluster_body("router-1_dialplan_from-carrier_did")
FROM_ROUTER = cluster_body("media-1_dialplan_from-router_did")
SOFIA = cluster_body("media-1_sofia.conf")
ACL = cluster_body("media-1_acl.conf")

INJECTIONS = [
    ("dollar-brace", "${hostname}", "${hostname}"),
    ("api", "${api(system rm -rf /)}", "rm -rf"),
    ("api-bgapi", "${bgapi(originate sofia/gateway/x/1 &park)}", "originate"),
    ("global-var", "$${hostname}", "$${"),
    ("preprocess-exec", '<X-PRE-PROCESS cmd="exec" data="touch /tmp/pwned"/>', "pwned"),
    ("preprocess-set", '<X-PRE-PROCESS cmd="set" data="x=y"/>', "X-PRE-PROCESS"),
    ("include", "<include>evil</include>", "evil"),
    ("pi", "<?xml version='1.0'?>", "<?"),
    ("sql-or", "' OR '1'='1", "OR '1'='1"),
    ("sql-drop", "1000'; DROP TABLE sip_users; --", "DROP TABLE"),
    ("sql-union", "1 UNION SELECT a1_hash FROM sip_users", "UNION"),
    ("xml-close", '"/><action application="system" data="id"/>', 'application="system"'),
    ("cdata", "]]><evil/>", "<evil"),
    ("comment", "<!--# exec rm -->", "<!--#"),
    ("pipe-leg", "8613800138000|sofia/gateway/evilgw/1", "evilgw"),
    ("comma-leg", "8613800138000,999", ",999"),
    ("comma-only", ",", None),
    ("brace-var", "{origination_caller_id_number=666}8613800138000", "origination_caller_id_number"),
    ("colon", "8613800138000:_:sofia/gateway/evilgw/1", "evilgw"),
    ("space", "86138 00138000", None),
    ("newline", "8613800138000\n<evil/>", "<evil"),
    ("nul", "8613800138000\x00evil", "evil"),
    ("percent", "%00%0a", None),
    ("unicode-digits", "８６１３８", None),
    ("long-digits", "8" * 1000, "8" * 100),
    ("empty", "", None),
    ("plus-only", "+", None),
    ("star-hash", "*86#", None),
    ("at", "8613800138000@evil.example.com", "evil.example.com"),
    ("sip-uri", "sip:8613800138000@evil.example.com", "evil.example.com"),
]

DIALPLAN_FIELDS = ["Hunt-Destination-Number", "Caller-Destination-Number", "variable_sip_h_X-Tenant",
                   "Hunt-Caller-ID-Number", "Caller-Caller-ID-Number", "Hunt-Caller-ID-Name",
                   "variable_sip_network_ip", "Hunt-Context"]


def _dialplan_entries():
    for body_name, body in (("media", MEDIA_DIALPLAN), ("router", ROUTER_DIALPLAN),
                            ("carrier", CARRIER_DIALPLAN), ("from-router", FROM_ROUTER)):
        for field in DIALPLAN_FIELDS:
            for inj_id, payload, marker in INJECTIONS:
                if field == "Hunt-Context" and inj_id not in {"dollar-brace", "api", "global-var", "pipe-leg", "xml-close"}:
                    continue
                replacements = {field: payload}
                if field == "Hunt-Destination-Number":
                    replacements["Caller-Destination-Number"] = payload
                yield (f"dialplan-{body_name}-{field}-{inj_id}", retarget(body, **replacements), marker)


def _directory_entries():
    for field in ("user", "domain", "key", "action", "sip_auth_username", "purpose"):
        for inj_id, payload, marker in INJECTIONS:
            yield (f"directory-{field}-{inj_id}", retarget(SIP_AUTH, **{field: payload}), marker)
    for inj_id, payload, marker in INJECTIONS:
        if "&" in payload or "\n" in payload:
            continue
        yield (f"directory-key_value-{inj_id}", retarget(SIP_AUTH, key_value=fs_encode(payload)), marker)


def _form_entries():
    base = SIP_AUTH.decode()
    leading = ["hostname", "section", "tag_name", "key_name", "key_value"]
    for name in leading:
        parts = [p for p in base.split("&") if not p.startswith(f"{name}=")]
        yield (f"missing-{name}", "&".join(parts).encode(), None)
    yield ("repeated-user", SIP_AUTH + b"&user=1001", None)
    yield ("repeated-action", SIP_AUTH + b"&action=user_call", None)
    yield ("repeated-x-tenant", ROUTER_DIALPLAN + b"&variable_sip_h_X-Tenant=globex", "globex")
    yield ("repeated-destination", MEDIA_DIALPLAN + b"&Hunt-Destination-Number=15551234567", "15551234567")
    for section in ("phrases", "chatplan", "languages", "result", "configuration2", "DIRECTORY", "x" * 40):
        yield (f"section-{section[:12]}", make_body("media-1", section, "domain", "name", "acme.example.com"), None)
    for action in ("nope", "sip_auth2", "user_call;", "group_call", "reverse-auth-lookup", "message-count"):
        yield (f"action-{action}", retarget(SIP_AUTH, action=action), None)
    for config_name in ("console.conf", "event_socket.conf", "switch.conf", "../etc/passwd", "sofia.conf%00",
                        "acl.conf.xml", "ACL.CONF", "post_load_modules.conf"):
        yield (f"config-{config_name}", retarget(ACL, key_value=config_name), None)
    for bad in (b"%zz", b"%4", b"%", b"%g0", b"100%"):
        yield (f"bad-percent-{bad.decode()}", SIP_AUTH + b"&extra=" + bad, None)
    for position, body in (
        ("hostname", SIP_AUTH.replace(b"hostname=media-1", b"hostname=media-1\xff")),
        ("key_value", SIP_AUTH.replace(b"key_value=acme.example.com", b"key_value=acme\xff.example.com")),
        ("user", retarget(SIP_AUTH, user="x").replace(b"user=x", b"user=\xc3\x28")),
        ("section", SIP_AUTH.replace(b"section=directory", b"section=direct\xfe")),
        ("param-name", SIP_AUTH + b"&na\xffme=1"),
        ("encoded-invalid", SIP_AUTH + b"&extra=%ff%fe"),
    ):
        yield (f"non-utf8-{position}", body, None)
    yield ("field-without-equals", SIP_AUTH + b"&lonely", None)
    yield ("empty-field", SIP_AUTH + b"&&x=1", None)
    yield ("only-ampersands", b"&&&&", None)
    yield ("garbage", b"\x00\x01\x02binary", None)
    yield ("json", b'{"hostname": "media-1"}', None)
    yield ("xml-body", b"<document/>", None)
    yield ("huge-key-value", retarget(SIP_AUTH, key_value="a" * 20000), None)
    yield ("huge-user", retarget(SIP_AUTH, user="1" * 30000), None)
    yield ("oversized-body", SIP_AUTH + b"&pad=" + b"x" * 300000, None)
    yield ("oversized-many-fields", SIP_AUTH + b"".join(b"&f%d=1" % i for i in range(20000)), None)
    yield ("hostname-other-node", retarget(SIP_AUTH, hostname="media-2"), None)
    yield ("hostname-router", retarget(SIP_AUTH, hostname="router-1"), None)
    yield ("hostname-injection", SIP_AUTH.replace(b"hostname=media-1", b"hostname=media-1${x}"), None)
    yield ("hostname-empty", SIP_AUTH.replace(b"hostname=media-1", b"hostname="), None)


def corpus() -> list[tuple[str, bytes, str | None]]:
    entries = list(_form_entries()) + list(_directory_entries()) + list(_dialplan_entries())
    ids = [entry[0] for entry in entries]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    return entries


# --- API and admin input: numbers and shapes past what the database and parsers hold -------------

#: Integers no id or INT column holds: SQLite raises OverflowError from 2**63, MySQL refuses past 2**31-1.
HUGE_INTEGERS = [2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]
#: The same as text (paths, query strings, form fields), plus digits int() or \d take that ASCII does not.
HUGE_INTEGER_TEXTS = [str(n) for n in HUGE_INTEGERS] + [
    "9" * 5000,      # past int()'s 4300-digit limit: ValueError, not a number
    "\u00b2",        # superscript two: str.isdigit() is true, int() refuses it
    "\u0661\u0662",  # Arabic-Indic digits: \d matches, int() takes them
    "1_000", "1e3", "0x10", "-1",
]
#: Past the csv module's default field_size_limit (131072 characters).
LONG_CSV_CELL = "x" * 131_073


def deep_json(depth: int = 50_000) -> list[bytes]:
    """JSON bodies nested `depth` levels: arrays, objects, and an object whose field holds the nesting."""
    return [b"[" * depth + b"]" * depth,
            b'{"a":' * depth + b"1" + b"}" * depth,
            b'{"name":' + b"[" * depth + b"]" * depth + b"}"]


#: Caller ID and variable text an admin (or a stolen admin token) might store: what the API accepts must be
#: servable unchanged, what it refuses is refused with a 422. Each: (id, text).
CALLER_TEXT = [(f"injection-{inj_id}", payload) for inj_id, payload, _ in INJECTIONS] + [
    ("from-display-breakout", 'x" <sip:boss@evil.test>;'),
    ("from-quoted", '"Boss"'),
    ("backslash", "Boss\\"),
    ("angle", "<sip:boss@evil.test>"),
    ("semicolon-param", "Boss;tag=1"),
    ("crlf-header", "Boss\r\nVia: SIP/2.0/UDP evil.test"),
    ("trailing-newline", "Boss\n"),
    ("tab", "Boss\tDesk"),
    ("preprocess-lower", "x-pre-process"),
    ("preprocess-mixed", "Team X-Pre-Process"),
    ("xml-noncharacter", "Boss\ufffe"),
    ("del", "Boss\x7f"),
    ("formula", "=HYPERLINK(\"http://evil.test\")"),
    ("leading-space", " Boss"),
    ("unicode-name", "Zoë Ångström"),
    ("cjk-name", "客服中心"),
    ("apostrophe-name", "O'Brien-Smith Jr."),
    ("underscore-name", "desk_2"),
    ("at-name", "sales@acme"),
    ("plus-name", "Team+1"),
    ("long-name", "N" * 65),
]
