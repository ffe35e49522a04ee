"""Parsing fetch bodies exactly as FreeSWITCH writes them."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CONFORMANCE, captured_request, cluster_body, fs_encode
from xmlcurl.fetch import request as request_module
from xmlcurl.fetch.request import READ_PARAMS, BadFetch, parse_fetch

CAPTURED = sorted(p.stem for p in (CONFORMANCE / "requests").glob("*.http"))
CLUSTER = sorted(p.stem for p in (CONFORMANCE / "cluster").glob("*.body"))


@pytest.mark.parametrize("name", CAPTURED)
def test_every_captured_request_parses(name):
    request = parse_fetch(captured_request(name))
    assert request.hostname
    assert request.section in {"configuration", "directory", "dialplan", "languages"}


@pytest.mark.parametrize("name", CLUSTER)
def test_every_cluster_body_parses_with_the_node_as_hostname(name):
    request = parse_fetch(cluster_body(name))
    assert request.hostname == name.split("_")[0]


def test_leading_fields_are_taken_raw_and_parameters_decoded():
    request = parse_fetch(captured_request("directory-sip_auth-register"))
    assert (request.section, request.tag_name, request.key_name, request.key_value) == (
        "directory", "domain", "name", "example.com")
    assert request.get("action") == "sip_auth"
    assert request.get("user") == "1000"
    assert request.get("FreeSWITCH-IPv6") == "fd00::2"
    assert request.get("Event-Date-GMT").startswith("Sat, 28 Nov 2026")


def test_fetch_with_only_the_five_basic_fields():
    request = parse_fetch(captured_request("config-acl.conf"))
    assert request.key_value == "acl.conf"
    assert dict(request.params) == {}


def test_dialplan_fetch_has_empty_key_fields_and_hunt_parameters():
    request = parse_fetch(cluster_body("media-1_dialplan_acme-outbound"))
    assert (request.tag_name, request.key_name, request.key_value) == ("", "", "")
    assert request.get("Hunt-Context") == "tenant-acme"
    assert request.get("Hunt-Destination-Number") == "8613800138000"


def test_sip_header_parameters_keep_their_case():
    request = parse_fetch(cluster_body("router-1_dialplan_from-media"))
    assert request.get("variable_sip_h_X-Tenant") == "acme"


def test_plus_in_a_parameter_stays_a_plus():
    request = parse_fetch(b"hostname=a&section=dialplan&tag_name=&key_name=&key_value=&Hunt-Destination-Number=+8613800138000")
    assert request.get("Hunt-Destination-Number") == "+8613800138000"


def test_parameter_named_like_a_leading_field_does_not_replace_it():
    request = parse_fetch(captured_request("directory-xml_locate-domain"))
    assert request.section == "directory"
    assert request.get("section") == "directory"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "hostname="),
        (b"section=directory", "hostname="),
        (b"hostname=media-1&section=directory", "lacks"),
        (b"hostname=&section=directory&tag_name=&key_name=&key_value=", "hostname"),
        (b"hostname=media-1&section=&tag_name=&key_name=&key_value=", "section"),
        (b"hostname=media-1&section=DIR%20X&tag_name=&key_name=&key_value=", "section"),
        (b"hostname=media-1&section=directory&tag_name=&key_name=&key_value=&user=1&user=2", "repeated"),
        (b"hostname=media-1&section=directory&tag_name=&key_name=&key_value=&user=%zz", "percent"),
        (b"hostname=media-1&section=directory&tag_name=&key_name=&key_value=&user=%4", "percent"),
        (b"hostname=media-1&section=directory&tag_name=&key_name=&key_value=&user=1&&x=2", "empty field"),
        (b"hostname=media 1&section=directory&tag_name=&key_name=&key_value=", "hostname"),
    ],
)
def test_bodies_that_are_not_fetches_are_refused_with_a_reason(body, reason):
    with pytest.raises(BadFetch, match=reason):
        parse_fetch(body)


def test_non_utf8_bytes_do_not_crash_the_parser():
    request = parse_fetch(b"hostname=media-1&section=directory&tag_name=domain&key_name=name&key_value=a\xff.com&user=%ff")
    assert "\ufffd" in request.key_value
    assert request.get("user") == "\ufffd"


def test_vendored_conformance_copy_matches_shared_when_present():
    shared = CONFORMANCE.parent.parent.parent / "shared" / "conformance"
    if not shared.is_dir():
        pytest.skip("no ../shared/conformance beside this checkout")
    for path in shared.rglob("*"):
        if path.is_file():
            assert (CONFORMANCE / path.relative_to(shared)).read_bytes() == path.read_bytes(), path


def test_caller_header_names_xmlcurl_never_reads_are_skipped_not_refused():
    request = parse_fetch(b"hostname=media-1&section=dialplan&tag_name=&key_name=&key_value="
                          b"&variable_sip_h_X-A!b=1&Hunt-Destination-Number=100")
    assert request.get("Hunt-Destination-Number") == "100"
    assert "variable_sip_h_X-A!b" not in request.params


# --- the encoded part: split in C loops, decoded when read ---------------------------------------

def _eager(rest: str) -> dict[str, str]:
    """Every event header decoded up front, as FreeSWITCH's fields are defined (the reference)."""
    from urllib.parse import unquote

    from xmlcurl.fetch.request import _checked_params

    return {name: unquote(value, errors="replace") for name, value in _checked_params(rest.split("&")).items()}


_fields = st.lists(st.tuples(
    st.sampled_from(["Caller-Context", "variable_tenant", "X-Caller", "X-Odd!", "user", "bad name", ""]),
    st.sampled_from(["", "acme", "a%20b", "%7B%24x%7D", "100%", "%zz", "a=b", "%E4%B8%AD"]),
), max_size=6)


@settings(max_examples=300, deadline=None)
@given(_fields)
def test_lazily_decoded_parameters_agree_with_decoding_every_field_up_front(fields):
    rest = "&".join(f"{name}={value}" for name, value in fields)
    body = f"hostname=media-1&section=dialplan&tag_name=&key_name=&key_value=&{rest}".encode() if rest else None
    if body is None:
        return
    try:
        expected = _eager(rest)
    except BadFetch as exc:
        with pytest.raises(BadFetch, match=str(exc).split(":")[0]):
            parse_fetch(body)
        return
    request = parse_fetch(body)
    assert dict(request.params) == expected
    for name in {name for name, _ in fields}:
        assert request.get(name, "<none>") == expected.get(name, "<none>")


def test_a_caller_header_smuggling_a_second_tenant_field_refuses_the_fetch():
    # A SIP header value holding '&' becomes extra fields; a field named twice is a forged body.
    body = (b"hostname=router-1&section=dialplan&tag_name=&key_name=&key_value="
            b"&variable_sip_h_X-Tenant=acme&X-Evil=1&variable_sip_h_X-Tenant=globex")
    with pytest.raises(BadFetch, match="repeated"):
        parse_fetch(body)


def test_a_caller_header_with_a_stray_percent_is_skipped_not_refused():
    request = parse_fetch(b"hostname=media-1&section=dialplan&tag_name=&key_name=&key_value="
                          b"&X-Note!=50%&Caller-Context=tenant-acme")
    assert dict(request.params) == {"Caller-Context": "tenant-acme"}


# --- repeated fields: only those xmlcurl reads are refused -----------------------------------------

def with_repeated_caller_header(body: bytes, name: str = "X-Foo", value: str = "1") -> bytes:
    """`body` as sofia_reg.c builds it for a REGISTER carrying header `name` twice.

    sofia_reg_parse_auth adds every X-* header of the request, under its own name and in order, after
    sip_request_host/sip_request_port and before sip_auth_qop; switch_event_build_param_string writes
    the name as it is and URL-encodes the value.
    """
    header = f"{name}={fs_encode(value)}".encode()
    head, sep, tail = body.partition(b"&sip_auth_qop=")
    assert sep, "the body is not a sip_auth fetch with qop"
    return head + b"&" + header + b"&" + header + sep + tail


def test_a_register_carrying_an_x_header_twice_parses_and_keeps_the_fields_xmlcurl_reads():
    body = with_repeated_caller_header(captured_request("directory-sip_auth-register"))
    assert b"&sip_request_port=5060&X-Foo=1&X-Foo=1&sip_auth_qop=auth&" in body
    request = parse_fetch(body)
    assert (request.get("action"), request.get("user"), request.get("sip_auth_method")) == ("sip_auth", "1000", "REGISTER")
    assert request.get("X-Foo") == "1"


def test_the_first_of_two_caller_headers_is_the_value_read_as_freeswitch_reads_its_events():
    body = captured_request("directory-sip_auth-register").replace(
        b"&sip_auth_qop=", b"&X-Foo=first&X-Foo=second&sip_auth_qop=")
    assert parse_fetch(body).get("X-Foo") == "first"


@pytest.mark.parametrize("name", sorted(READ_PARAMS))
def test_a_repeated_field_xmlcurl_reads_still_refuses_the_fetch(name):
    body = captured_request("directory-sip_auth-register") + f"&{name}=a&{name}=b".encode()
    with pytest.raises(BadFetch, match=f"field {name} is repeated"):
        parse_fetch(body)


def _fields_read_by_handlers() -> set[str]:
    """Every literal name passed to `<request>.get(...)` in the fetch package."""
    import ast

    package = Path(request_module.__file__).parent
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and ast.unparse(node.func.value) in {"req", "request", "ctx.request", "self.request"}
                    and node.args and isinstance(node.args[0], ast.Constant)):
                names.add(node.args[0].value)
    return names


def test_read_params_declares_exactly_the_fields_the_handlers_read():
    assert _fields_read_by_handlers() == READ_PARAMS
