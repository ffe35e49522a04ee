"""Ask every node what it is doing, in parallel, each within its own time limit (a dead node delays no other)."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..push.esl import EslClient, EslError
from ..push.secret import EslKeyError, decrypt_password
from . import parse

#: The commands one poll sends, in this order, on one event-socket connection.
COMMANDS = ("status", "version", "sofia xmlstatus", "sofia xmlstatus gateway", "show registrations as json",
            "hash_dump limit", "show calls count")

Connect = Callable[[str, int, str, float], EslClient]


@dataclass(frozen=True)
class Target:
    """A node to poll: where its event socket is and its encrypted password."""

    node_id: int
    name: str
    role: str
    address: str
    esl_port: int | None
    esl_password_enc: str | None


@dataclass
class Reading:
    """What one node answered to one poll; `error` set when it did not answer in full."""

    target: Target
    error: str | None = None
    monitored: bool = True
    status: parse.Status | None = None
    version: str | None = None
    profiles: list[tuple[str, str]] = field(default_factory=list)
    gateways: list[parse.GatewayStatus] = field(default_factory=list)
    registrations: list[parse.Registration] = field(default_factory=list)
    limits: list[parse.LimitCounter] = field(default_factory=list)
    calls: int | None = None
    #: Commands the node answered with a refusal (e.g. `-ERR SQL disabled` without a core database):
    #: the node is up, those parts of its reading are empty.
    notes: list[str] = field(default_factory=list)
    at_epoch: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.monitored and self.error is None


class _Deadline:
    """The node's time limit: every socket wait gets what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self.end - time.monotonic()
        if remaining <= 0:
            raise EslError("no complete answer within the time limit")
        return remaining


def _ask(client: EslClient, command: str, deadline: _Deadline) -> str:
    # A poll's answers wait only for what is left of the node's time, not the connection's own timeout.
    return client.api(command, timeout=deadline.left())


#: What each answer fills in; `status` is the node's own word that it runs, so its failure fails the poll.
_PARTS = (
    ("version", "version", parse.parse_version),
    ("sofia xmlstatus", "profiles", parse.parse_profiles),
    ("sofia xmlstatus gateway", "gateways", parse.parse_gateways),
    ("show registrations as json", "registrations", parse.parse_registrations),
    ("hash_dump limit", "limits", parse.parse_limits),
    ("show calls count", "calls", parse.parse_count),
)


def read_node(client: EslClient, reading: Reading, deadline: _Deadline) -> None:
    """Send COMMANDS and parse every answer into READING (raises EslError or AnswerError).

    A node that refuses a command other than `status` (a module not loaded, no core database) is still
    up: that part stays empty and the refusal is kept in `reading.notes`. Garbage fails the poll.
    """
    answers = {command: _ask(client, command, deadline) for command in COMMANDS}
    reading.status = parse.parse_status(answers["status"])
    for command, attribute, parser in _PARTS:
        try:
            setattr(reading, attribute, parser(answers[command]))
        except parse.Refused as exc:
            reading.notes.append(f"{command}: {exc}")


def poll_node(target: Target, settings: Mapping[str, Any], connect: Connect = EslClient) -> Reading:
    """One node's reading; never raises (a failure is the reading's error)."""
    reading = Reading(target)
    if not target.esl_port or not target.esl_password_enc:
        reading.monitored, reading.error = False, "no event socket configured (esl_port and password)"
        return reading
    try:
        password = decrypt_password(settings, target.esl_password_enc)
    except EslKeyError as exc:
        reading.error = str(exc)
        return reading
    timeout = float(settings["MONITOR_TIMEOUT"])
    deadline = _Deadline(timeout)
    try:
        with connect(target.address, target.esl_port, password, timeout) as client:
            read_node(client, reading, deadline)
    except (EslError, parse.AnswerError) as exc:
        reading.error = str(exc)[:255]
    except OSError as exc:  # a socket error the client did not wrap (e.g. a timeout while setting up)
        reading.error = f"event socket error: {exc}"[:255]
    reading.at_epoch = time.time()
    return reading


def poll_all(targets: Sequence[Target], settings: Mapping[str, Any], connect: Connect = EslClient) -> list[Reading]:
    """Every target's reading, nodes in parallel (at most MONITOR_PARALLEL at once)."""
    if not targets:
        return []
    workers = max(1, min(int(settings["MONITOR_PARALLEL"]), len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="xmlcurl-monitor") as pool:
        return list(pool.map(lambda t: poll_node(t, settings, connect), targets))
