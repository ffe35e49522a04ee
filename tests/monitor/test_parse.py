"""The parsers read what FreeSWITCH 1.10 really answered, and refuse what it would never answer."""
from __future__ import annotations

import pytest

from tests.monitor.conftest import ESL
from xmlcurl.monitor import parse


def answer(folder: str, name: str) -> str:
    return (ESL / folder / f"{name}.txt").read_text(encoding="utf-8")


def test_status_gives_uptime_and_sessions():
    status = parse.parse_status(answer("media-1", "status"))
    assert status == parse.Status(uptime_seconds=22, sessions=2, sessions_per_second=0, max_sessions=200)


def test_version_is_the_release_string():
    assert parse.parse_version(answer("router-1", "version")) == "1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit"


def test_sofia_xmlstatus_lists_profiles_not_gateways():
    assert parse.parse_profiles(answer("media-1", "sofia_xmlstatus")) == [("cluster", "RUNNING (1)"),
                                                                          ("internal", "RUNNING (1)")]
    assert parse.parse_profiles(answer("router-1", "sofia_xmlstatus")) == [("cluster", "RUNNING (2)"),
                                                                           ("carrier", "RUNNING (2)")]


def test_gateways_carry_state_ping_status_and_round_trip():
    gateways = parse.parse_gateways(answer("media-1", "sofia_xmlstatus_gateway"))
    assert gateways == [parse.GatewayStatus(name="router-router-1", profile="cluster", state="NOREG", status="UP",
                                            ping_ms=1.26, calls_in=0, calls_out=1, failed_calls_in=0, failed_calls_out=0)]
    down = parse.parse_gateways(answer("media-1-router-down", "sofia_xmlstatus_gateway"))[0]
    assert (down.status, down.ping_ms, down.calls_out) == ("DOWN", None, 2)
    carriers = parse.parse_gateways(answer("router-1", "sofia_xmlstatus_gateway"))
    assert [(g.name, g.profile, g.status, g.ping_ms) for g in carriers] == [
        ("carrier-b", "carrier", "UP", None), ("carrier-a", "carrier", "UP", None)]


def test_registrations_from_json_including_the_empty_answer():
    regs = parse.parse_registrations(answer("media-2", "show_registrations_as_json"))
    assert [(r.reg_user, r.realm, r.network_ip, r.network_port, r.network_proto, r.hostname) for r in regs] == [
        ("2001", "initech.example.com", "127.0.0.1", 36992, "udp", "media-2"),
        ("1000", "globex.example.com", "127.0.0.1", 40278, "udp", "media-2")]
    assert regs[0].contact == "sip:2001@127.0.0.1:36992;transport=udp"
    assert regs[0].expires == 1796534121
    assert parse.parse_registrations(answer("router-1", "show_registrations_as_json")) == []


def test_hash_dump_limit_counters_per_realm_and_tenant():
    counters = parse.parse_limits(answer("router-1", "hash_dump_limit"))
    assert [(c.realm, c.resource, c.usage, c.rate_usage) for c in counters] == [
        ("tenant-cps", "globex", 0, 1), ("tenant-calls-router", "acme", 1, 0), ("tenant-cps", "acme", 1, 1)]
    cps = counters[2]
    assert cps.rate_now(cps.last_check + 0.5) == 1
    assert cps.rate_now(cps.last_check + 1) == 0  # the one-second window has passed
    assert parse.parse_limits("") == []


def test_hash_dump_limit_on_a_node_with_no_counters_is_no_counters_not_a_refusal():
    # A real media node with no call up answered exactly this: mod_hash wrote nothing, and the event
    # socket turns an empty output into "-ERR no reply".
    assert parse.parse_limits("-ERR no reply\n") == []
    with pytest.raises(parse.Refused):
        parse.parse_limits("-ERR hash_dump Command not found!\n")


def test_show_calls_count():
    assert parse.parse_count(answer("router-1", "show_calls_count")) == 1
    assert parse.parse_count(answer("router-1", "show_registrations")) == 0


@pytest.mark.parametrize("func, text", [
    (parse.parse_status, "-ERR status Command not found!\n"),
    (parse.parse_status, "hello world"),
    (parse.parse_version, "\x00\x01garbage"),
    (parse.parse_profiles, "<profiles><profile><name>cluster</name>"),  # half a document
    (parse.parse_profiles, "<gateways/>"),
    (parse.parse_gateways, "Invalid Profile!\n"),
    (parse.parse_registrations, '{"row_count":2,"rows":[{"reg_user":"1000","realm":"a"}]}'),
    (parse.parse_registrations, '{"row_count":1,"rows":[{"reg_'),
    (parse.parse_limits, "L/tenant-calls_acme/1/0\n"),
    (parse.parse_limits, "-ERR no such realm\n"),
    (parse.parse_count, ""),
])
def test_garbage_and_refusals_are_answer_errors(func, text):
    with pytest.raises(parse.AnswerError):
        func(text)
