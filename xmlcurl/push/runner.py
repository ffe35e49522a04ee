"""Run plans against the nodes: per node, commands in order, retries with exponential backoff."""
from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .esl import EslClient, EslError
from .plan import LIST_REMOTES, SAFE_ARG, NodePlan
from .secret import EslKeyError, decrypt_password

log = logging.getLogger("xmlcurl.push")

MAX_BACKOFF = 30.0
PARALLEL_NODES = 16
# mod_hash's poll thread connects to a remote with a 5 s timeout; `hash_remote kill` joins that
# thread, so it may wait that long plus one polling interval before it answers.
HASH_CONNECT_SECONDS = 5.0


@dataclass
class NodeResult:
    """What one node was told and what it answered; status ok, failed, skipped or dry-run."""

    node: str
    status: str
    commands: tuple[str, ...]
    replies: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0
    error: str | None = None
    at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))

    def as_dict(self) -> dict[str, Any]:
        return {"node": self.node, "status": self.status, "commands": list(self.commands),
                "replies": [{"command": c, "reply": r} for c, r in self.replies], "attempts": self.attempts,
                "error": self.error, "at": self.at.isoformat()}


Connect = Callable[[str, int, str, float], EslClient]


def run_plans(plans: Sequence[NodePlan], settings: Mapping[str, Any], *, dry_run: bool = False,
              connect: Connect = EslClient, sleep: Callable[[float], None] = time.sleep) -> list[NodeResult]:
    """Execute every node's commands, nodes in parallel (a dead node never delays the others); never raises."""
    if len(plans) <= 1:
        results = [_run_node(p, settings, dry_run, connect, sleep) for p in plans]
    else:
        with ThreadPoolExecutor(max_workers=min(PARALLEL_NODES, len(plans)), thread_name_prefix="xmlcurl-push") as pool:
            results = list(pool.map(lambda p: _run_node(p, settings, dry_run, connect, sleep), plans))
    for result in results:
        level = logging.WARNING if result.status == "failed" else logging.INFO
        log.log(level, "push node=%s status=%s attempts=%d commands=%d%s", result.node, result.status,
                result.attempts, len(result.commands), f" error={result.error}" if result.error else "")
    return results


def _run_node(plan: NodePlan, settings: Mapping[str, Any], dry_run: bool, connect: Connect,
              sleep: Callable[[float], None]) -> NodeResult:
    node = plan.node
    result = NodeResult(node.name, "dry-run" if dry_run else "ok", plan.commands)
    if dry_run or not plan.commands:
        return result
    if not node.esl_port or not node.esl_password_enc:
        result.status, result.error = "skipped", "no event socket configured (esl_port and password)"
        return result
    try:
        password = decrypt_password(settings, node.esl_password_enc)
    except EslKeyError as exc:
        result.status, result.error = "failed", str(exc)
        return result
    attempts, delay = settings["PUSH_ATTEMPTS"], settings["PUSH_BACKOFF"]
    commands = list(plan.commands)
    done = 0
    while True:
        result.attempts += 1
        sent: str | None = None
        try:
            with connect(node.address, node.esl_port, password, settings["PUSH_TIMEOUT"]) as client:
                # Resume where a broken attempt stopped: commands already answered are not repeated.
                while done < len(commands):
                    command = sent = commands[done]
                    reply = client.api(command, timeout=command_timeout(command, settings)).strip()
                    sent = None
                    result.replies.append((command, reply))
                    done += 1
                    if command == LIST_REMOTES and plan.keep_remotes is not None:
                        commands[done:done] = [f"hash_remote kill {name}" for name in listed_remotes(reply)
                                               if name not in plan.keep_remotes and SAFE_ARG.fullmatch(name)]
            result.commands = tuple(commands)
            result.error = None
            return result
        except EslError as exc:
            result.error = str(exc)
            if sent is not None and sent.startswith("hash_remote kill "):
                # The node may still be carrying it out; a second kill of the same remote at the same
                # time would destroy it twice (mod_hash.c). Not repeated: the rescan after it still runs.
                log.warning("push node=%s: no answer to %r; not sent again", node.name, sent)
                result.replies.append((sent, "(no answer; not sent again)"))
                done += 1
            if result.attempts >= attempts:
                result.status = "failed"
                result.commands = tuple(commands)
                return result
            sleep(min(delay * 2 ** (result.attempts - 1), MAX_BACKOFF))


def command_timeout(command: str, settings: Mapping[str, Any]) -> float:
    """How long to wait for COMMAND's answer: PUSH_TIMEOUT, longer for a mod_hash remote kill."""
    if command.startswith("hash_remote kill "):
        return settings["PUSH_TIMEOUT"] + HASH_CONNECT_SECONDS + settings["HASH_REMOTE_INTERVAL_MS"] / 1000
    return settings["PUSH_TIMEOUT"]


def listed_remotes(reply: str) -> list[str]:
    """The remote names in `hash_remote list` output ("Remote connections:", "Name\t\t\tState", one
    "<name>\t\t\t<state>" line each, "+OK")."""
    names = []
    for line in reply.splitlines():
        name, tab, _state = line.partition("\t")
        if tab and name and name != "Name":
            names.append(name.strip())
    return names
