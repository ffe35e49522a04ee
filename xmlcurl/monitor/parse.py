"""Parsers of what FreeSWITCH 1.10 answers on its event socket (tests/conformance/esl/ holds real answers).

Each takes the body of one `api` reply and returns plain data, or raises AnswerError when the
text is not what the command answers (an -ERR, garbage, a truncated document).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lxml import etree


#: What the event socket answers for a command whose output is empty (mod_event_socket.c).
NO_REPLY = "-ERR no reply"


class AnswerError(ValueError):
    """A node's answer could not be read as the command's output."""


class Refused(AnswerError):
    """The node answered, with its own refusal (`-ERR ...`): a module not loaded, no core database."""


_UPTIME = re.compile(r"^UP (\d+) years?, (\d+) days?, (\d+) hours?, (\d+) minutes?, (\d+) seconds?")
_SESSIONS_NOW = re.compile(r"^(\d+) session\(s\) - peak", re.MULTILINE)
_SPS = re.compile(r"^(\d+) session\(s\) per Sec", re.MULTILINE)
_MAX = re.compile(r"^(\d+) session\(s\) max", re.MULTILINE)
_VERSION = re.compile(r"^FreeSWITCH Version (\S+)")
_COUNT = re.compile(r"^(\d+) total\.$", re.MULTILINE)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")


@dataclass(frozen=True)
class Status:
    """`status`: uptime, sessions up now, sessions per second now, the session limit."""

    uptime_seconds: int
    sessions: int
    sessions_per_second: int | None
    max_sessions: int | None


@dataclass(frozen=True)
class GatewayStatus:
    """One gateway of `sofia xmlstatus gateway`."""

    name: str
    profile: str
    state: str  # registration state: NOREG, REGED, FAILED, TRYING...
    status: str  # UP or DOWN from the OPTIONS pings (UP for a gateway that does not ping)
    ping_ms: float | None
    calls_in: int
    calls_out: int
    failed_calls_in: int
    failed_calls_out: int


@dataclass(frozen=True)
class Registration:
    """One row of `show registrations as json`."""

    reg_user: str
    realm: str
    contact: str
    network_ip: str
    network_port: int | None
    network_proto: str
    expires: int | None  # epoch seconds
    hostname: str


@dataclass(frozen=True)
class LimitCounter:
    """One line of `hash_dump limit`: L/<realm>_<id>/<usage>/<rate usage>/<interval>/<last check>."""

    realm: str
    resource: str
    usage: int
    rate_usage: int
    interval: int
    last_check: int

    def rate_now(self, now_epoch: float) -> int:
        """Calls counted in the current rate window (0 once the window has passed)."""
        if self.interval <= 0 or now_epoch - self.last_check >= self.interval:
            return 0
        return self.rate_usage


def _clean(text: str) -> str:
    if text is None:
        raise AnswerError("no answer")
    stripped = text.strip()
    if not stripped:
        raise AnswerError("an empty answer")
    if stripped.startswith("-ERR") or stripped.startswith("-USAGE"):
        raise Refused(f"the node refused the command: {stripped.splitlines()[0][:120]}")
    return stripped


def parse_status(text: str) -> Status:
    """`status` -> uptime in seconds and the session counts."""
    body = _clean(text)
    match = _UPTIME.match(body)
    sessions = _SESSIONS_NOW.search(body)
    if match is None or sessions is None:
        raise AnswerError("not a `status` answer: " + body.splitlines()[0][:120])
    years, days, hours, minutes, seconds = (int(g) for g in match.groups())
    uptime = (((years * 365 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    sps, most = _SPS.search(body), _MAX.search(body)
    return Status(uptime, int(sessions.group(1)), int(sps.group(1)) if sps else None, int(most.group(1)) if most else None)


def parse_version(text: str) -> str:
    """`version` -> e.g. 1.10.12-release+git~20240802T210227Z~a88d069d6f~64bit."""
    body = _clean(text)
    match = _VERSION.match(body)
    if match is None:
        raise AnswerError("not a `version` answer: " + body.splitlines()[0][:120])
    return match.group(1)[:128]


def _xml(text: str, root_tag: str) -> etree._Element:
    body = _DECLARATION.sub("", _clean(text), count=1)
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False))
    except etree.XMLSyntaxError as exc:
        raise AnswerError(f"not XML: {exc}") from None
    if root.tag != root_tag:
        raise AnswerError(f"expected <{root_tag}>, got <{root.tag}>")
    return root


def parse_profiles(text: str) -> list[tuple[str, str]]:
    """`sofia xmlstatus` -> (profile name, state) of every profile, e.g. ('internal', 'RUNNING (1)')."""
    root = _xml(text, "profiles")
    out = []
    for profile in root.iterchildren("profile"):
        name, state = profile.findtext("name"), profile.findtext("state")
        if not name or state is None:
            raise AnswerError("a <profile> without <name> or <state>")
        out.append((name, state))
    return out


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        raise AnswerError(f"not a whole number: {value!r}") from None


def parse_gateways(text: str) -> list[GatewayStatus]:
    """`sofia xmlstatus gateway` -> every gateway of every profile, with ping status and time."""
    root = _xml(text, "gateways")
    out = []
    for gw in root.iterchildren("gateway"):
        name, profile = gw.findtext("name"), gw.findtext("profile")
        if not name or not profile:
            raise AnswerError("a <gateway> without <name> or <profile>")
        pingtime = gw.findtext("pingtime")
        try:
            ping = float(pingtime) if pingtime not in (None, "") else None
        except ValueError:
            raise AnswerError(f"not a ping time: {pingtime!r}") from None
        # A gateway that has not been pinged (yet) reports 0.00: that is no round trip, not a fast one.
        if ping is not None and ping <= 0:
            ping = None
        out.append(GatewayStatus(name=name, profile=profile, state=gw.findtext("state") or "", status=gw.findtext("status") or "",
                                 ping_ms=ping, calls_in=_int(gw.findtext("calls-in")), calls_out=_int(gw.findtext("calls-out")),
                                 failed_calls_in=_int(gw.findtext("failed-calls-in")),
                                 failed_calls_out=_int(gw.findtext("failed-calls-out"))))
    return out


def parse_registrations(text: str) -> list[Registration]:
    """`show registrations as json` -> rows; `{"row_count":0}` (no rows key) is none."""
    body = _clean(text)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise AnswerError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or "row_count" not in data:
        raise AnswerError("not a `show ... as json` answer")
    rows = data.get("rows", [])
    if not isinstance(rows, list) or _int(str(data["row_count"])) != len(rows):
        raise AnswerError("row_count does not match the rows")
    out = []
    for row in rows:
        if not isinstance(row, dict) or not row.get("reg_user") or not row.get("realm"):
            raise AnswerError("a registration without reg_user or realm")
        url = str(row.get("url", ""))
        # url is sofia/<profile>/<contact>: the contact is what the user registered.
        contact = url.split("/", 2)[2] if url.count("/") >= 2 else url
        out.append(Registration(reg_user=str(row["reg_user"]), realm=str(row["realm"]), contact=contact,
                                network_ip=str(row.get("network_ip", "")),
                                network_port=_int(row.get("network_port"), 0) or None,
                                network_proto=str(row.get("network_proto", "")),
                                expires=_int(row.get("expires"), 0) or None, hostname=str(row.get("hostname", ""))))
    return out


def parse_limits(text: str) -> list[LimitCounter]:
    """`hash_dump limit` -> one counter per line (an empty answer is no counters)."""
    if text is None:
        raise AnswerError("no answer")
    body = text.strip()
    if body == NO_REPLY:
        # mod_hash writes nothing when no limit is in use, and the event socket answers an empty
        # output with this line (mod_event_socket.c, api_exec): a node with no calls, not a refusal.
        return []
    if body.startswith("-ERR") or body.startswith("-USAGE"):
        _clean(body)
    out = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.split("/")
        if len(parts) != 6 or parts[0] != "L":
            raise AnswerError(f"not a `hash_dump limit` line: {line[:120]!r}")
        key = parts[1]
        # The key is <realm>_<resource>; xmlcurl's realms hold '-' but never '_', tenant codes neither.
        realm, sep, resource = key.partition("_")
        if not sep or not realm or not resource:
            raise AnswerError(f"a limit key without realm_resource: {key[:120]!r}")
        usage, rate_usage, interval, last_check = (_int(p) for p in parts[2:])
        out.append(LimitCounter(realm, resource, usage, rate_usage, interval, last_check))
    return out


def parse_count(text: str) -> int:
    """`show calls count` -> N from 'N total.'."""
    body = _clean(text)
    match = _COUNT.search(body)
    if match is None:
        raise AnswerError("not a `show ... count` answer: " + body.splitlines()[0][:120])
    return int(match.group(1))
