"""Caller values: strict patterns, and per-tenant normalisation to international digits."""
from __future__ import annotations

import re

import pytest

from xmlcurl.fetch.dialplan.numbers import (
    CID_NAME, CONTEXT, DIALLED, NUMBER, TENANT_CODE, InvalidValue, NumberingPlan, anchored, is_ip, matches,
    normalise, sip_host,
)

CHINA = NumberingPlan("86", "0", "00")
NANP = NumberingPlan("1", "1", "011")
UK = NumberingPlan("44", "0", "00")

HOSTILE = [
    "8613800138000,999", "86138|0", "86138${x}", "86138{x}", "${api(system id)}", "$${hostname}",
    "8613800138000 ", " 8613800138000", "86 138", "86138\n0", "8613800138000\x00", "++86138", "86+138",
    "", "+", "٨٦١٣٨٠٠١٣٨٠٠٠", "86138'", "86138\\", "1" * 25,
]


@pytest.mark.parametrize("dialled, plan, expected", [
    ("8613800138000", CHINA, "8613800138000"),
    ("+8613800138000", CHINA, "8613800138000"),
    ("008613800138000", CHINA, "8613800138000"),
    ("013800138000", CHINA, "8613800138000"),
    ("15551234567", NANP, "15551234567"),
    ("011442012345678", NANP, "442012345678"),
    ("+15551234567", NANP, "15551234567"),
    ("4420123", UK, "4420123"),
    ("02012345678", UK, "442012345678"),
])
def test_normalise_gives_international_digits(dialled, plan, expected):
    assert normalise(dialled, plan) == expected


@pytest.mark.parametrize("dialled", HOSTILE)
def test_normalise_refuses_anything_but_digits_with_an_optional_plus(dialled):
    with pytest.raises(InvalidValue) as info:
        normalise(dialled, CHINA)
    # The message names the rule, never the caller's text.
    assert str(info.value) == r"dialled number does not match \+?[0-9]{1,24}"


@pytest.mark.parametrize("dialled", ["12", "+12", "1" * 21])
def test_normalise_refuses_numbers_outside_the_length_bounds(dialled):
    with pytest.raises(InvalidValue):
        normalise(dialled, NumberingPlan())


def test_a_stored_country_code_that_is_not_digits_cannot_leak_into_the_number():
    with pytest.raises(InvalidValue):
        normalise("013800138000", NumberingPlan("${x}", "0", "00"))


@pytest.mark.parametrize("pattern", [DIALLED, NUMBER, TENANT_CODE, CONTEXT, CID_NAME])
@pytest.mark.parametrize("value", HOSTILE + ["acme\n", "x" * 100])
def test_no_pattern_accepts_expansion_or_separator_characters(pattern, value):
    if matches(pattern, value):
        assert not set(value) & set("${}|,\n\x00\\")


def test_patterns_match_whole_values_only():
    assert matches(TENANT_CODE, "acme")
    assert not matches(TENANT_CODE, "acme\n")
    assert not matches(TENANT_CODE, "Acme")
    assert not matches(TENANT_CODE, None)


@pytest.mark.parametrize("value", ["8613800138000", "+8610000001", "agent_1-a"])
def test_anchored_expression_matches_exactly_the_value(value):
    expression = anchored(value)
    assert expression.startswith("^") and expression.endswith("$")
    assert re.fullmatch(expression[1:-1], value)
    assert not re.search(expression, value + "0")


def test_sip_host_brackets_ipv6_and_refuses_names():
    assert sip_host("127.0.0.11") == "127.0.0.11"
    assert sip_host("fd00::2") == "[fd00::2]"
    with pytest.raises(InvalidValue):
        sip_host("media.example.com")
    assert is_ip("::1") and not is_ip("127.0.0.1;x") and not is_ip("")


def test_address_text_longer_than_any_address_is_neither_parsed_nor_remembered():
    from xmlcurl.fetch.dialplan.numbers import _normal_ip, normal_ip

    long_text = "1" * 46
    before = _normal_ip.cache_info().currsize
    assert normal_ip(long_text) == long_text and not is_ip(long_text)
    assert _normal_ip.cache_info().currsize == before
    assert normal_ip("2001:DB8:0:0::1") == "2001:db8::1" and is_ip("2001:DB8:0:0::1")
    assert normal_ip("not-an-address") == "not-an-address" and not is_ip("not-an-address")
