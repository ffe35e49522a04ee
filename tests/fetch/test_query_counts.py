"""SQL statements per fetch: a fixed few when cold, only the version poll when warm."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import event

from tests.conftest import cluster_body
from xmlcurl.fetch.registry import handler_for

POLL = "config_version"

#: (captured body, node, section, most statements cold, statements warm besides the version poll).
#: Cold: the version poll, the node, then a handful of key lookups; never a scan of a whole table.
CASES = {
    "directory sip_auth": ("media-1_directory_sip_auth_acme-1000", "media-1", "directory", 8, 0),
    "directory user_call": ("media-1_directory_user_call_acme-1000", "media-1", "directory", 8, 0),
    # An outbound number longer than every username of the tenant is never looked up as a user.
    "media dialplan outbound": ("media-1_dialplan_acme-outbound", "media-1", "dialplan", 9, 0),
    "media dialplan from-router DID": ("media-1_dialplan_from-router_did", "media-1", "dialplan", 8, 0),
    # Route candidates are cached by the prefixes that match the number, so a warm router reads nothing.
    "router dialplan from-media": ("router-1_dialplan_from-media", "router-1", "dialplan", 10, 0),
    "router dialplan from-carrier DID": ("router-1_dialplan_from-carrier_did", "router-1", "dialplan", 8, 0),
    "media sofia.conf": ("media-1_sofia.conf", "media-1", "configuration", 8, 0),
    "media sofia.conf profile": ("media-1_sofia.conf_profile-internal", "media-1", "configuration", 8, 0),
    "router sofia.conf profile": ("router-1_sofia.conf_profile-carrier", "router-1", "configuration", 8, 0),
    "media acl.conf": ("media-1_acl.conf", "media-1", "configuration", 8, 0),
    "router acl.conf": ("router-1_acl.conf", "router-1", "configuration", 8, 0),
}


@contextmanager
def statements(app) -> Iterator[list[str]]:
    """Every SQL statement the app's read path sends while the block runs."""
    database = app.extensions["xmlcurl.db"]
    connection = getattr(database, "test_connection", None)
    engine = connection.engine if connection is not None else database.read_engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        # The MariaDB tests wrap each session in a SAVEPOINT of the test's transaction: not the app's.
        if "SAVEPOINT" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _served(node: str, section: str) -> bool:
    return handler_for("router" if node.startswith("router") else "media", section) is not None


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_fetch_runs_a_fixed_few_statements_cold_and_only_the_version_poll_warm(app, fetch, case):
    body_name, node, section, cold_limit, warm_extra = CASES[case]
    if not _served(node, section):
        pytest.skip(f"no {section} handler registered for {node}'s role yet")
    body = cluster_body(body_name)
    with statements(app) as cold:
        first = fetch(body, node=node)
    assert first.status_code == 200
    assert 1 <= len(cold) <= cold_limit, cold
    with statements(app) as warm:
        second = fetch(body, node=node)
    assert second.status_code == 200
    polls = [s for s in warm if POLL in s]
    assert len(polls) == 1, warm  # the test settings poll on every fetch
    assert len(warm) - len(polls) == warm_extra, warm
    if section != "dialplan":  # dialplan answers may shuffle equal-priority gateways
        assert second.data == first.data


def test_a_warm_cache_within_the_polling_interval_sends_no_statement_at_all(app, fetch):
    from xmlcurl.fetch.cache import fetch_cache

    body = cluster_body("media-1_directory_sip_auth_acme-1000")
    fetch(body)
    fetch_cache(app).poll_seconds = 3600
    fetch(body)  # polls once more, then not for an hour
    with statements(app) as warm:
        for _ in range(20):
            assert fetch(body).status_code == 200
    assert warm == []
