"""The one definition of a valid caller ID name and number, for the schemas and the answer builders alike.

sofia writes the name into the From header's display-name and the number into its user part
without escaping either (sofia_glue.c: ``"\"%s\" <sip:%s%s%s>"``), and
FreeSWITCH expands ``${...}`` in action data and splits bridge strings on ``|`` and ``,``. A name
is therefore letters (any script), digits, spaces and ``. ' @ + - _``, starting with a letter or
digit: no quotes, backslashes, ``<`` ``>``, ``;``, control characters, ``$ { }``, ``|`` or ``,``,
and never the pre-processor's ``X-PRE-PROCESS``. A number is 1-32 digits, as DIDs are stored.
"""
from __future__ import annotations

import logging
import re
from typing import Collection

log = logging.getLogger("xmlcurl.callerid")

NAME_MAX = 64
NUMBER_MAX = 32
#: Starts with a letter or digit (so never like a spreadsheet formula), then the safe set.
NAME = re.compile(rf"[^\W_][\w .'@+-]{{0,{NAME_MAX - 1}}}")
NUMBER = re.compile(rf"[0-9]{{1,{NUMBER_MAX}}}")
#: FreeSWITCH's pre-processor acts on any line holding this, in any case.
_PREPROCESS = "x-pre-process"

NAME_RULE = (f"must be at most {NAME_MAX} letters, digits, spaces or . ' @ + - _, starting with a letter or "
             "digit (no quotes, <, >, \\, $, {, }, |, commas or control characters: sofia puts it in the "
             "From header)")
NUMBER_RULE = f"must be 1 to {NUMBER_MAX} digits"


def is_name(value: str | None) -> bool:
    """True for a caller ID name that may go into a From header and a dialplan action as is."""
    return value is not None and NAME.fullmatch(value) is not None and _PREPROCESS not in value.lower()


def is_number(value: str | None) -> bool:
    """True for a caller ID number of the accepted form (digits only)."""
    return value is not None and NUMBER.fullmatch(value) is not None


def bare(number: str) -> str:
    """A number without its leading '+', the form approvals are compared in."""
    return number.lstrip("+")


def usable_name(value: str | None, owner: str, what: str) -> str | None:
    """A stored name if valid; a bad one is logged (never its text) and left out."""
    if value is None or value == "":
        return None
    if is_name(value):
        return value
    log.warning("%s: stored %s is not a valid caller ID name: left out", owner, what)
    return None


def usable_number(value: str | None, approved: Collection[str], owner: str, what: str) -> str | None:
    """A stored number if valid and approved for its tenant; anything else is logged and left out."""
    if value is None or value == "":
        return None
    if not is_number(value):
        log.warning("%s: stored %s is not a valid caller ID number: left out", owner, what)
        return None
    if bare(value) not in approved:
        log.warning("%s: stored %s %s is not approved for the tenant: left out", owner, what, value)
        return None
    return value
