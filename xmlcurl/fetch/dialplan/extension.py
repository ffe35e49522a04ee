"""Dialplan documents: one context holding one extension computed for this call, or a rejection.

Action data is checked once more here, whatever built it: FreeSWITCH expands ``${...}`` in it and
splits bridge strings on ``|`` and ``,``, so ``$`` and ``,`` never appear, ``|`` only separates
bridge legs and braces only open the bridge's leading ``{name=value}`` block.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from ..xmldoc import UnsafeValue, document, element, safe
from .numbers import CONTEXT, checked
from .routing import Rejection

_BRIDGE_VARS = re.compile(r"\{[A-Za-z0-9_-]+=[A-Za-z0-9_.-]+\}")
_PLAIN_DATA = re.compile(r"[^${}|,\\]*")


#: Answers that end the call instead of trying the next bridge leg. Without it a busy callee, an
#: unknown number or a router's own refusal (its limits, no route) would be retried on every other
#: router or carrier. originate reads it from the calling channel and matches cause names as
#: substrings, so ':' separates them (a ',' would split the action data).
FINAL_CAUSES = ":".join([
    "USER_BUSY", "CALL_REJECTED", "UNALLOCATED_NUMBER", "NO_ROUTE_DESTINATION",
    "INVALID_NUMBER_FORMAT", "NUMBER_CHANGED", "NO_ANSWER", "ORIGINATOR_CANCEL",
])

#: A call to a user of the tenant also ends when a leg rang for its whole `leg_timeout`: the user
#: was found and did not answer, so no other media node is tried. No other cause name contains it.
USER_FINAL_CAUSES = FINAL_CAUSES + ":ALLOTTED_TIMEOUT"


@dataclass(frozen=True)
class Action:
    application: str
    data: str


def check_action(action: Action) -> Action:
    """The action if its data cannot be expanded or split by FreeSWITCH, else UnsafeValue."""
    data = action.data
    if action.application == "bridge":
        block = _BRIDGE_VARS.match(data)
        if block:
            data = data[block.end():]
        legs = data.split("|")
        if any(not leg for leg in legs) or any(not _PLAIN_DATA.fullmatch(leg) for leg in legs):
            raise UnsafeValue("bridge data carries characters FreeSWITCH would expand or split on")
    elif not _PLAIN_DATA.fullmatch(data):
        raise UnsafeValue(f"{action.application} data carries characters FreeSWITCH would expand or split on")
    return action


def build_extension(context: str, name: str, expression: str, shared: Sequence[Action],
                    own: Sequence[Action] = ()) -> etree._Element:
    """``<context name=..><extension name=..><condition field="destination_number" expression=..>`` + actions.

    ``shared`` are the actions that repeat from call to call (a tenant's settings): built and
    checked once per distinct value, then copied, since building elements costs more than copying
    them. ``own`` are this call's own actions (its caller ID, its bridge), appended after them.
    """
    doc = copy.deepcopy(_shared_part(context, name, tuple(shared)))
    condition = doc[0][0][0][0]
    condition.set("expression", safe(expression))
    for action in own:
        _append_action(condition, action)
    return doc


# About 8 KB each: room for a thousand tenants' outbound and inbound extensions on a node.
@lru_cache(maxsize=2048)
def _shared_part(context: str, name: str, actions: tuple[Action, ...]) -> etree._Element:
    """The document with the shared actions, checked; never handed out (callers copy it)."""
    checked(CONTEXT, context, "context")
    doc, section = document("dialplan")
    ctx = element(section, "context", name=context)
    ext = element(ctx, "extension", name=name)
    condition = element(ext, "condition", field="destination_number", expression="")
    for action in actions:
        _append_action(condition, action)
    return doc


def _append_action(condition: etree._Element, action: Action) -> None:
    check_action(action)
    element(condition, "action", application=action.application, data=action.data)


def build_rejection(context: str, rejection: Rejection) -> etree._Element:
    """Refuse the call in its own context (any number), with a log line and a SIP response."""
    text = f"{rejection.status} {rejection.reason}"
    return build_extension(context, "reject", "^", [
        Action("log", f"WARNING xmlcurl reject {text}"),
        Action("respond", text),
    ])
