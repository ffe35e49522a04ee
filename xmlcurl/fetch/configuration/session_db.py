"""A node's shared session database: `odbc-dsn` and `track-calls` on every sofia profile it is served.

With one DSN on several media nodes, sofia keeps registrations and dialogs in that database
(`sofia_contact` finds a user registered on another node) and `track-calls` records each call for
`sofia recover` on a standby node. The DSN is stored encrypted (it holds a password).
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Mapping

from ...push.secret import EslKeyError, decrypt_secret
from .sofia import ProfileConf

log = logging.getLogger("xmlcurl.fetch.configuration")

def usable_dsn(token: str | None, node_name: str, settings: Mapping[str, Any]) -> str | None:
    """The node's stored DSN (`token`, encrypted) in plaintext, or None (none stored, or it does not decrypt: logged)."""
    if not token:
        return None
    try:
        return decrypt_secret(settings, token, "session database DSN")
    except EslKeyError as exc:
        log.error("sofia.conf for %s is served without its session database: %s", node_name, exc)
        return None


def session_db_settings(dsn: str | None) -> tuple[tuple[str, str], ...]:
    """sofia.c's profile params for a shared database; nothing when the node has none."""
    if not dsn:
        return ()
    return (("odbc-dsn", dsn), ("track-calls", "true"))


def with_session_db(profile: ProfileConf, dsn: str | None) -> ProfileConf:
    """The profile with the node's session database params added (the same profile when there is none)."""
    extra = session_db_settings(dsn)
    return dataclasses.replace(profile, settings=profile.settings + extra) if extra else profile
