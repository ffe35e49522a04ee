"""Strict patterns for every value that reaches dialplan action data, and per-tenant number normalisation.

FreeSWITCH expands ``${...}`` (``${api(...)}`` included) in action data and splits bridge strings on
``|`` and ``,``; a value is used only after it matched one of these patterns in full.
``anchored`` escapes a checked value, so ``^value$`` is an exact condition expression.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

from ... import callerid

#: What a caller may dial towards the outside: digits with an optional leading '+'.
DIALLED = re.compile(r"\+?[0-9]{1,24}")
#: A normalised number as the routers see it: international digits only (E.164 is at most 15).
NUMBER_MIN_DIGITS = 3
NUMBER_MAX_DIGITS = 20
NUMBER = re.compile(rf"[0-9]{{{NUMBER_MIN_DIGITS},{NUMBER_MAX_DIGITS}}}")
#: A DID as a carrier may send it.
DID = re.compile(r"\+?[0-9]{1,32}")
#: A SIP user name: what the API stores and what may be dialled to reach another user of the same tenant.
#: None of its characters is special in a bridge string; '.' and '+' are escaped by ``anchored``.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
TENANT_CODE = re.compile(r"[a-z0-9][a-z0-9-]{1,31}")
CONTEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: Gateway and node names as FreeSWITCH accepts them in a gateway name (``^[\w.-]+$``, ASCII).
GATEWAY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*")
#: Stored caller ID number and name: the one definition in xmlcurl.callerid (the schemas use it too).
CID_NUMBER = callerid.NUMBER
CID_NAME = callerid.NAME
#: A gateway's prepend (tech prefixes such as ``1234#`` included).
PREPEND = re.compile(r"[0-9+*#]{0,16}")
PREFIX = re.compile(r"[0-9]{0,32}")


class InvalidValue(ValueError):
    """A value does not match its strict pattern; the message never repeats the value."""


def matches(pattern: re.Pattern[str], value: str | None) -> bool:
    """True when the whole value matches (never a partial or multi-line match)."""
    return value is not None and pattern.fullmatch(value) is not None


def checked(pattern: re.Pattern[str], value: str | None, what: str) -> str:
    """The value if it matches in full, else InvalidValue naming what was wrong."""
    if not matches(pattern, value):
        raise InvalidValue(f"{what} does not match {pattern.pattern}")
    return value  # type: ignore[return-value]


def anchored(value: str) -> str:
    """``^value$`` for a value already checked against a pattern whose alphabet is literal in PCRE."""
    return "^" + re.escape(value) + "$"


@dataclass(frozen=True)
class NumberingPlan:
    """A tenant's dialling rules (columns of tenants)."""

    country_code: str = ""
    national_prefix: str = ""
    international_prefix: str = "00"


def normalise(dialled: str, plan: NumberingPlan) -> str:
    """International digits for a dialled number: strip '+', the international prefix, national prefix -> country code.

    Raises InvalidValue for anything but digits with an optional '+', or a result outside the
    length bounds. A number without any prefix is taken as already international.
    """
    checked(DIALLED, dialled, "dialled number")
    if dialled.startswith("+"):
        number = dialled[1:]
    elif plan.international_prefix and dialled.startswith(plan.international_prefix):
        number = dialled[len(plan.international_prefix):]
    elif plan.national_prefix and dialled.startswith(plan.national_prefix):
        number = plan.country_code + dialled[len(plan.national_prefix):]
    else:
        number = dialled
    return checked(NUMBER, number, "normalised number")


def sip_host(address: str) -> str:
    """A node address as it goes in a SIP URI (IPv6 in brackets); InvalidValue if it is not an IP address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise InvalidValue("node address is not an IP address") from None
    return f"[{ip.compressed}]" if ip.version == 6 else ip.compressed


#: Longer text is no address (the longest IPv6 text form is 45 characters); it is never parsed or remembered.
_LONGEST_ADDRESS = 45


def normal_ip(address: str | None) -> str:
    """An address in the compressed lower-case form sofia reports (and nodes are stored in); other text as is."""
    text = address or ""
    return _normal_ip(text) if len(text) <= _LONGEST_ADDRESS else text


def is_ip(address: str | None) -> bool:
    """True for a plain IPv4 or IPv6 address (as sofia reports `sip_network_ip`)."""
    text = address or ""
    return len(text) <= _LONGEST_ADDRESS and _parsed(text)


# A cluster's calls come from a few dozen addresses: parse each once.
@lru_cache(maxsize=1024)
def _normal_ip(text: str) -> str:
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        return text


@lru_cache(maxsize=1024)
def _parsed(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def did_forms(dialled: str) -> list[str]:
    """The forms a DID (already matching DID) may be stored in: with and without its '+'."""
    bare = dialled.lstrip("+")
    return sorted({dialled, bare, "+" + bare})
