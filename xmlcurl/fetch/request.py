"""Parsing a mod_xml_curl POST body exactly as FreeSWITCH writes it.

mod_xml_curl writes ``hostname=..&section=..&tag_name=..&key_name=..&key_value=..`` without
URL-encoding those five values, then appends the request's event headers URL-encoded
(``%20`` for a space, never ``+``). Some fetches (acl.conf, console.conf) carry nothing else.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator, Mapping
from urllib.parse import unquote

LEADING_FIELDS = ("hostname", "section", "tag_name", "key_name", "key_value")

_LEADING = re.compile(
    r"hostname=(?P<hostname>[^&]*)"
    r"&section=(?P<section>[^&]*)"
    r"&tag_name=(?P<tag_name>[^&]*)"
    r"&key_name=(?P<key_name>[^&]*)"
    # key_value is raw, so it ends at the first "&<name>=" that starts the encoded part.
    r"&key_value=(?P<key_value>.*?)"
    r"(?:&(?=[A-Za-z0-9_][A-Za-z0-9_.:-]*=)(?P<rest>.*))?",
    re.DOTALL,
)
_PARAM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SECTION = re.compile(r"[a-z_]{1,32}")
_HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

#: Every encoded field a handler reads (through `FetchRequest.get`); tests/fetch/test_request.py checks
#: the handlers ask for nothing else. FreeSWITCH serialises each of these event headers once, so a
#: repeat means a forged body and is refused. Any other field may repeat: sofia copies every X-*
#: header of a REGISTER into the sip_auth fetch as it came (sofia_reg.c), so the caller decides.
READ_PARAMS = frozenset({
    # dialplan
    "Hunt-Context", "Caller-Context", "Hunt-Destination-Number", "Caller-Destination-Number",
    "variable_sip_h_X-Tenant", "variable_sip_network_ip", "variable_sofia_profile_name",
    "variable_user_name", "variable_tenant",
    # configuration (sofia.conf)
    "profile",
    # directory
    "purpose", "action", "domain", "user", "key", "sip_auth_method", "sip_to_host", "sip_from_host",
})


class BadFetch(ValueError):
    """The body is not a mod_xml_curl fetch; the message says why."""


class EncodedParams(Mapping[str, str]):
    """The encoded part's fields, each URL-decoded only when read.

    A dialplan fetch carries some two hundred event headers of which a handler reads a handful:
    decoding them all would cost more than answering. Names that are not event-header names
    (caller SIP headers, read by nobody) are not part of the mapping.
    """

    __slots__ = ("_raw",)

    def __init__(self, raw: dict[str, str]) -> None:
        self._raw = raw

    def __getitem__(self, name: str) -> str:
        value = self._raw[name]
        if not _is_param_name(name):
            raise KeyError(name)
        return unquote(value, encoding="utf-8", errors="replace") if "%" in value else value

    def get(self, name: str, default: str = "") -> str:  # type: ignore[override]
        try:
            return self[name]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._raw if _PARAM_NAME.fullmatch(name))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"EncodedParams({dict(self)!r})"


NO_PARAMS = EncodedParams({})


@lru_cache(maxsize=512)
def _is_param_name(name: str) -> bool:
    # Handlers ask for a few dozen fixed names: checked once each.
    return _PARAM_NAME.fullmatch(name) is not None


@dataclass(frozen=True)
class FetchRequest:
    hostname: str
    section: str
    tag_name: str
    key_name: str
    key_value: str
    params: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        """A URL-decoded parameter of the encoded part, or ``default``."""
        return self.params.get(name, default)


def parse_fetch(body: bytes) -> FetchRequest:
    """Parse a raw fetch body; raise BadFetch with a clear reason when it is not one."""
    text = body.decode("utf-8", errors="replace")
    match = _LEADING.fullmatch(text)
    if match is None:
        if not text.startswith("hostname="):
            raise BadFetch("body does not start with hostname= (not a mod_xml_curl fetch)")
        raise BadFetch("body lacks one of section, tag_name, key_name, key_value in FreeSWITCH's order")
    hostname = match["hostname"]
    if not _HOSTNAME.fullmatch(hostname):
        raise BadFetch("hostname is empty or not a switchname")
    section = match["section"]
    if not _SECTION.fullmatch(section):
        raise BadFetch("section is empty or malformed")
    rest = match["rest"]
    return FetchRequest(
        hostname=hostname,
        section=section,
        tag_name=match["tag_name"],
        key_name=match["key_name"],
        key_value=match["key_value"],
        params=EncodedParams(_split_params(rest)) if rest else NO_PARAMS,
    )


def _split_params(rest: str) -> dict[str, str]:
    """The encoded part as name -> raw value, checked as strictly as `_checked_params` but in C loops.

    Anything unusual (an empty field, a field without '=', a repeated name, a '%' that starts no
    escape) is handed to `_checked_params`, which decides field by field and says what is wrong.
    """
    pairs = rest.split("&")
    if "" not in pairs and not ("%" in rest and _BAD_PERCENT.search(rest)):
        try:
            raw = dict(pair.split("=", 1) for pair in pairs)  # type: ignore[misc]
        except ValueError:
            raw = None  # a field without '='
        if raw is not None and len(raw) == len(pairs):
            return raw
    return _checked_params(pairs)


def _checked_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        if not pair:
            raise BadFetch("empty field in the encoded part")
        name, sep, value = pair.partition("=")
        if not sep:
            raise BadFetch(f"field without '=' in the encoded part: {name[:40]!r}")
        if not _PARAM_NAME.fullmatch(name):
            # Caller SIP headers (X-*) arrive under their own names, unencoded, and a SIP token may
            # hold '!', '%', '*', ... xmlcurl never reads such a field: refusing the fetch would let
            # any caller push its node onto the static files.
            continue
        if _BAD_PERCENT.search(value):
            raise BadFetch(f"invalid percent-encoding in {name}")
        if name in params:
            if name in READ_PARAMS:
                raise BadFetch(f"field {name} is repeated")
            continue  # the first one stands, as for switch_event_get_header
        params[name] = value
    return params
