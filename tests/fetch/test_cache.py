"""The fetch cache: per node, bounded, never older than the config version allows, stale only on errors."""
from __future__ import annotations

import datetime as dt
import shutil
from types import SimpleNamespace

import pytest
from lxml import etree
from sqlalchemy import text
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.conftest import BASE_SETTINGS, basic_auth, cluster_body, retarget
from xmlcurl import create_app, db
from xmlcurl.fetch import scopes
from xmlcurl.models.version import CHANGE_SLOTS
from xmlcurl.db import FetchReader
from xmlcurl.fetch.cache import FetchCache, fetch_cache
from xmlcurl.fetch.lastgood import STORE_FILE, LastGoodStore
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.secrets import sip_a1_hash

SIP_AUTH = "media-1_directory_sip_auth_acme-1000"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class VersionSession:
    """Stands in for a session: answers the poll from a change log, or fails like a database that went away."""

    def __init__(self) -> None:
        self.version = 7
        self.epoch = "epoch-1"
        #: (table, tenant id, version, detail), one per version, as the config_changes ring holds them.
        self.changes: list[tuple[str, int, int, str | None]] = []
        self.polls = 0
        self.down = False
        self.rollbacks = 0

    def change(self, table: str, tenant_id: int, detail: str | None = None) -> None:
        """What the triggers do for one changed row."""
        self.version += 1
        self.changes.append((table, tenant_id, self.version, detail))

    def execute(self, _stmt, params=None):
        self.polls += 1
        if self.down:
            raise OperationalError("SELECT", {}, Exception("gone"))
        head = {"version": self.version, "epoch": self.epoch, "changed_at": dt.datetime(2026, 1, 1)}
        rows = [SimpleNamespace(**head, table_name=t, tenant_id=n, detail=d, change_version=v)
                for t, n, v, d in self.changes if params["since"] < v <= self.version]
        rows = rows or [SimpleNamespace(**head, table_name=None, tenant_id=None, detail=None, change_version=None)]
        return SimpleNamespace(all=lambda: rows)

    def rollback(self) -> None:
        self.rollbacks += 1


def _failing_loader():
    raise OperationalError("SELECT", {}, Exception("gone"))


def _polled(cache: FetchCache, clock: Clock, session: VersionSession) -> None:
    clock.now += 1
    cache.refresh(lambda: session)


def test_version_is_polled_at_most_once_per_interval():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    for _ in range(5):
        cache.refresh(lambda: session)
    assert session.polls == 1 and cache.version == 7
    clock.now += 0.49
    cache.refresh(lambda: session)
    assert session.polls == 1
    clock.now += 0.02
    cache.refresh(lambda: session)
    assert session.polls == 2


def test_an_entry_is_served_until_a_change_to_what_it_depends_on():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    assert cache.get_or_load(("k",), lambda: "old") == "old"
    assert cache.get_or_load(("k",), lambda: "new") == "old"
    session.change("gateways", 0)
    _polled(cache, clock, session)
    assert cache.get_or_load(("k",), lambda: "new") == "new"
    assert (cache.hits, cache.misses) == (1, 2)


def _load_all(cache: FetchCache, entries: dict, value: str) -> dict:
    """Each key's value after one lookup: the cached one, or `value` when it had to be loaded again."""
    return {key: cache.get_or_load(key, lambda: value, scope=entry_scope) for key, entry_scope in entries.items()}


ENTRIES = {
    "acme user": scopes.tenant(1),
    "acme 1000": scopes.user(1, "1000"),
    "acme domain": scopes.tenant_rows(1),
    "globex user": scopes.tenant(2),
    "routers": scopes.shared("nodes"),
    "router dialplan": scopes.tenant(1) + scopes.shared("routes", "gateways"),
    "routes of 44": scopes.routes_for_all(("", "4", "44")) + scopes.shared("gateways"),
    "routed prefixes": scopes.routed_prefixes(),
    "did lookup": scopes.any_of("dids"),
    "sofia.conf": scopes.shared("nodes", "gateways") + scopes.any_of("tenant_nodes"),
    "unscoped": scopes.EVERYTHING,
}


@pytest.mark.parametrize(("table", "tenant_id", "detail", "dropped"), [
    # A user's row without its name (renamed, or written by older triggers): every user answer of the tenant.
    ("sip_users", 1, None, {"acme user", "acme 1000", "acme domain", "router dialplan", "unscoped"}),
    # One user's row or variable: that user's answers, and the answers made from any row of the tenant.
    ("sip_users", 1, "=1000", {"acme user", "acme 1000", "router dialplan", "unscoped"}),
    ("sip_users", 1, "=1001", {"acme user", "router dialplan", "unscoped"}),
    ("sip_user_variables", 1, "=1000", {"acme user", "acme 1000", "router dialplan", "unscoped"}),
    ("dids", 1, None, {"acme user", "acme 1000", "acme domain", "router dialplan", "did lookup", "unscoped"}),
    ("sip_user_variables", 2, None, {"globex user", "unscoped"}),
    ("dids", 2, None, {"globex user", "did lookup", "unscoped"}),
    ("tenant_nodes", 2, None, {"globex user", "sofia.conf", "unscoped"}),
    # A route for all tenants whose prefix changed (or a ring row without one): every route answer.
    ("routes", 0, None, {"router dialplan", "routes of 44", "routed prefixes", "unscoped"}),
    # Changed in place: only the answers of its prefix; added or removed: the list of prefixes too.
    ("routes", 0, "=44", {"routes of 44", "unscoped"}),
    ("routes", 0, "=33", {"unscoped"}),
    ("routes", 0, "+33", {"routed prefixes", "unscoped"}),
    ("routes", 0, "+", {"routes of 44", "routed prefixes", "unscoped"}),
    # A tenant's own route is its tenant's row, whatever its prefix.
    ("routes", 1, "=44", {"acme user", "acme 1000", "acme domain", "router dialplan", "unscoped"}),
    ("gateways", 0, None, {"router dialplan", "routes of 44", "sofia.conf", "unscoped"}),
    ("nodes", 0, None, {"routers", "sofia.conf", "unscoped"}),
    # A row moved from one tenant to another: every tenant's answers, and the table's shared ones.
    ("routes", -1, None, {"acme user", "acme 1000", "acme domain", "globex user", "router dialplan", "routes of 44",
                          "routed prefixes", "unscoped"}),
], ids=lambda v: str(v) if not isinstance(v, set) else "")
def test_a_change_drops_only_the_entries_that_depend_on_it(table, tenant_id, detail, dropped):
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    _load_all(cache, ENTRIES, "old")
    session.change(table, tenant_id, detail)
    _polled(cache, clock, session)
    hits = cache.hits
    after = _load_all(cache, ENTRIES, "new")
    assert {key for key, value in after.items() if value == "new"} == dropped
    assert cache.hits - hits == len(ENTRIES) - len(dropped)


def test_a_scope_may_be_named_by_the_loaded_value():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    by_result = scopes.found(lambda tenant_id: tenant_id, scopes.any_of("tenants"))
    assert cache.get_or_load(("tenant", "acme"), lambda: 1, scope=by_result) == 1
    assert cache.get_or_load(("tenant", "nobody"), lambda: None, scope=by_result) is None
    session.change("sip_users", 2)
    _polled(cache, clock, session)
    assert cache.get_or_load(("tenant", "acme"), lambda: "again", scope=by_result) == 1
    assert cache.get_or_load(("tenant", "nobody"), lambda: "again", scope=by_result) is None
    session.change("tenants", 7)  # a new tenant may be the one not found before
    _polled(cache, clock, session)
    assert cache.get_or_load(("tenant", "acme"), lambda: "again", scope=by_result) == 1
    assert cache.get_or_load(("tenant", "nobody"), lambda: "again", scope=by_result) == "again"


@pytest.mark.parametrize("reset", ["new epoch", "version went back"])
def test_a_new_epoch_or_a_version_that_goes_back_drops_everything(reset):
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    session.version = 20
    cache.refresh(lambda: session)
    _load_all(cache, ENTRIES, "old")
    if reset == "new epoch":
        session.epoch = "epoch-2"
    else:  # a restored backup: the same epoch, an older counter, no change rows above it
        session.version = 10
    _polled(cache, clock, session)
    assert set(_load_all(cache, ENTRIES, "new").values()) == {"new"}
    assert cache.resets == 1


def test_a_worker_that_fell_behind_the_change_ring_drops_everything():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    _load_all(cache, ENTRIES, "old")
    for _ in range(3):
        session.change("sip_users", 1)
    del session.changes[0]  # overwritten by a change CHANGE_SLOTS versions later
    _polled(cache, clock, session)
    assert set(_load_all(cache, ENTRIES, "new").values()) == {"new"} and cache.resets == 1


def test_nothing_is_kept_before_a_version_was_read():
    cache = FetchCache(100, 10**6, 0.5)
    assert cache.get_or_load(("k",), lambda: 1) == 1
    assert cache.get_or_load(("k",), lambda: 2) == 2 and len(cache) == 0


def test_least_recently_used_entries_go_first_when_entries_or_bytes_run_out():
    session = VersionSession()
    by_count = FetchCache(2, 10**6, 0.5)
    by_count.refresh(lambda: session)
    for key in ("a", "b"):
        by_count.get_or_load(key, lambda: key)
    by_count.get_or_load("a", lambda: "reloaded")  # a is now the most recent
    by_count.get_or_load("c", lambda: "c")
    assert by_count.get_or_load("a", lambda: "reloaded") == "a"
    assert by_count.get_or_load("b", lambda: "reloaded") == "reloaded"

    from xmlcurl.fetch.cache import ENTRY_OVERHEAD

    entry = 1000 + ENTRY_OVERHEAD + 40  # the value pickled, and what its key and entry cost
    by_bytes = FetchCache(1000, 3 * entry, 0.5)
    by_bytes.refresh(lambda: session)
    for index in range(10):
        by_bytes.get_or_load(index, lambda: b"x" * 1000)
    assert len(by_bytes) == 3 and by_bytes.bytes <= 3 * entry
    by_bytes.get_or_load("huge", lambda: b"x" * 10_000)
    assert len(by_bytes) == 3  # a value bigger than the whole budget is not kept


def test_a_failed_load_never_serves_a_superseded_entry():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    cache.get_or_load("k", lambda: "good", scope=scopes.tenant(1))
    session.change("sip_users", 1)
    _polled(cache, clock, session)
    with pytest.raises(OperationalError):
        cache.get_or_load("k", _failing_loader, recover=session.rollback, scope=scopes.tenant(1))
    assert cache.degraded and session.rollbacks == 1 and cache.stale == 0


def test_a_failed_poll_keeps_the_version_and_marks_the_cache_degraded_until_a_poll_succeeds():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    cache.get_or_load("k", lambda: "good")
    session.down = True
    clock.now += 1
    cache.refresh(lambda: session)
    assert cache.degraded and cache.version == 7 and session.rollbacks == 1
    assert cache.get_or_load("k", _failing_loader) == "good"
    session.down = False
    clock.now += 1
    cache.refresh(lambda: session)
    assert not cache.degraded


def test_what_a_worker_loads_after_a_failed_poll_is_served_but_not_kept_until_a_poll_succeeds(tmp_path):
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path))
    cache.refresh(lambda: session)
    session.down = True
    _polled(cache, clock, session)
    # The poll failed, the statement right after it did not: the database may since have been created
    # again, and what it returned would be filed under a version and an epoch it did not come from.
    session.down = False
    session.epoch, session.version, session.changes = "epoch-2", 1, []
    assert cache.get_or_load("globex", lambda: "read after the failed poll", scope=scopes.tenant(2)) == \
        "read after the failed poll"
    assert cache.get_or_load("globex", lambda: "read again", scope=scopes.tenant(2)) == "read again"
    cache.store.flush()
    assert len(cache) == 0 and not cache.store.holds("epoch-1")
    _polled(cache, clock, session)
    assert not cache.unverified and cache.epoch == "epoch-2"
    assert cache.get_or_load("globex", lambda: "kept", scope=scopes.tenant(2)) == "kept"
    assert cache.get_or_load("globex", _failing_loader, scope=scopes.tenant(2)) == "kept"
    cache.store.flush()
    assert cache.store.holds("epoch-2")


def test_a_failed_load_alone_does_not_stop_a_worker_keeping_what_it_loads():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    with pytest.raises(OperationalError):
        cache.get_or_load("acme", _failing_loader)
    # Its version is the one its last poll read: a statement timing out under load must not turn the
    # cache off until the next poll.
    assert cache.degraded and not cache.unverified
    cache.get_or_load("acme", lambda: "kept")
    assert cache.get_or_load("acme", lambda: "not read") == "kept"


# --- the last-good store shared by the workers ---------------------------------------------------

def _workers(tmp_path, count: int = 2):
    """Caches standing in for the workers of one instance: one database, one store directory."""
    clock, session = Clock(), VersionSession()
    caches = [FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path)) for _ in range(count)]
    for cache in caches:
        cache.refresh(lambda: session)
    return clock, session, caches


def _flush(*caches: FetchCache) -> None:
    for cache in caches:
        cache.store.flush()


def _outage(clock: Clock, session: VersionSession, *caches: FetchCache) -> None:
    session.down = True
    for cache in caches:
        _polled(cache, clock, session)


def test_a_worker_answers_a_miss_another_worker_loaded_from_the_store_without_the_database(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    one.get_or_load("acme", lambda: "acme answer", scope=scopes.tenant(1))
    _flush(one)
    assert two.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "acme answer"
    assert (two.shared, two.misses, two.stale, two.degraded) == (1, 0, 0, False)
    # Kept in its own memory from then on, and superseded there like anything it loaded.
    assert two.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "acme answer"
    assert two.hits == 1
    session.change("sip_users", 1)
    _polled(two, clock, session)
    assert two.get_or_load("acme", lambda: "acme changed", scope=scopes.tenant(1)) == "acme changed"


def test_the_store_answers_no_miss_whose_entry_a_known_change_superseded(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    one.get_or_load("acme", lambda: "limit 1", scope=scopes.tenant(1))
    one.get_or_load("globex", lambda: "globex 1", scope=scopes.tenant(2))
    _flush(one)
    session.change("tenants", 1)
    _polled(two, clock, session)  # a change this worker saw, whether or not the store has it yet
    assert two.get_or_load("acme", lambda: "limit 100", scope=scopes.tenant(1)) == "limit 100"
    session.change("tenants", 2)
    _polled(one, clock, session)  # a change only the other worker saw: its note reaches the store
    _flush(one)
    assert two.get_or_load("globex", lambda: "globex 2", scope=scopes.tenant(2)) == "globex 2"
    assert two.shared == 0 and two.misses == 2


def test_the_store_answers_no_miss_with_an_entry_built_at_a_version_the_worker_has_not_reached(tmp_path):
    # After a restore from a backup, entries of the lost future carry versions the database is now below.
    clock, session, (one, two) = _workers(tmp_path)
    session.change("tenants", 3)
    _polled(one, clock, session)
    one.get_or_load("initech", lambda: "built at 8", scope=scopes.tenant(3))
    _flush(one)
    assert two.version == 7
    assert two.get_or_load("initech", lambda: "read at 7", scope=scopes.tenant(3)) == "read at 7"


def test_a_worker_that_lost_track_of_changes_takes_only_later_builds_from_the_store(tmp_path, monkeypatch):
    clock, session, (one, two) = _workers(tmp_path)
    one.get_or_load("acme", lambda: "before", scope=scopes.tenant(1))
    _flush(one)
    # More changes than the ring holds: which tenants they touched, no worker can tell. The worker's
    # writer empties the store a moment later; until it has, what the store holds is not taken.
    monkeypatch.setattr(two.store, "sync", lambda *args, **kwargs: None)
    session.version += 5
    _polled(two, clock, session)
    assert two.resets == 1
    assert two.get_or_load("acme", lambda: "after", scope=scopes.tenant(1)) == "after"
    _polled(one, clock, session)
    one.get_or_load("globex", lambda: "built after", scope=scopes.tenant(2))
    _flush(one)
    assert two.get_or_load("globex", _failing_loader, scope=scopes.tenant(2)) == "built after"
    assert two.shared == 1


def test_a_worker_whose_poll_failed_loads_a_miss_instead_of_reading_the_store(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    one.get_or_load("acme", lambda: "stored", scope=scopes.tenant(1))
    _flush(one)
    session.down = True
    _polled(two, clock, session)
    session.down = False  # the database answers statements again before the next poll
    assert two.get_or_load("acme", lambda: "from the database", scope=scopes.tenant(1)) == "from the database"
    assert two.shared == 0


def test_during_an_outage_a_worker_serves_what_another_loaded_newest_first(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    one.get_or_load("acme", lambda: "limit 1", scope=scopes.tenant(1))
    two.get_or_load("acme", lambda: "limit 1", scope=scopes.tenant(1))
    session.change("tenants", 1)
    _polled(one, clock, session)
    _polled(two, clock, session)
    one.get_or_load("acme", lambda: "limit 100", scope=scopes.tenant(1))  # only one worker loads it again
    one.get_or_load("globex", lambda: "globex", scope=scopes.tenant(2))
    _flush(one, two)
    _outage(clock, session, one, two)
    for cache in (one, two):
        assert cache.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "limit 100"
        assert cache.get_or_load("globex", _failing_loader, scope=scopes.tenant(2)) == "globex"
        with pytest.raises(OperationalError):
            cache.get_or_load("never loaded", _failing_loader)
    assert two.stale == 2


def test_a_change_one_worker_saw_supersedes_the_other_workers_entries_in_an_outage(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    for cache in (one, two):
        cache.get_or_load("acme", lambda: "limit 1", scope=scopes.tenant(1))
        cache.get_or_load("globex", lambda: "globex", scope=scopes.tenant(2))
    _flush(one, two)
    session.change("tenants", 1)
    _polled(one, clock, session)  # the other worker's poll is not due before the database stops
    _flush(one)
    session.down = True
    two.refresh(lambda: session)  # fails: takes on what the store knows
    clock.now += 1
    two.refresh(lambda: session)
    for cache in (one, two):
        with pytest.raises(OperationalError):
            cache.get_or_load("acme", _failing_loader, scope=scopes.tenant(1))
        assert cache.get_or_load("globex", _failing_loader, scope=scopes.tenant(2)) == "globex"


def _restarted_during_an_outage(tmp_path) -> FetchCache:
    """A worker loads acme into the store, the database stops, and a new worker starts on the store."""
    clock, session, (one,) = _workers(tmp_path, 1)
    one.get_or_load("acme", lambda: "acme", scope=scopes.tenant(1))
    _flush(one)
    session.down = True
    restarted = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path))
    restarted.refresh(lambda: session)
    return restarted


def test_a_worker_started_during_an_outage_serves_the_previous_runs_entries(tmp_path):
    restarted = _restarted_during_an_outage(tmp_path)
    assert restarted.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "acme"


def test_a_worker_pointed_at_another_database_never_answers_from_the_old_ones_store(tmp_path):
    # An instance moved to another database keeps its store directory: a worker whose first fetch
    # fails must not take on the old database's epoch and serve its entries as current.
    clock, session = Clock(), VersionSession()
    old = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path, "mysql://db-a/xmlcurl"))
    old.refresh(lambda: session)
    old.get_or_load("acme", lambda: "acme of database a", scope=scopes.tenant(1))
    _flush(old)
    session.down = True
    moved = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path, "mysql://db-b/xmlcurl"))
    moved.refresh(lambda: session)
    assert not moved.can_serve()
    with pytest.raises(OperationalError):
        moved.get_or_load("acme", _failing_loader, scope=scopes.tenant(1))
    # The same database under its own name still gets the previous run's entries.
    again = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path, "mysql://db-a/xmlcurl"))
    again.refresh(lambda: session)
    assert again.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "acme of database a"


def test_a_store_written_by_an_older_xmlcurl_gets_its_database_named_and_is_still_served(tmp_path):
    import sqlite3

    conn = sqlite3.connect(tmp_path / STORE_FILE)
    conn.execute("CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT, position INTEGER)")
    conn.commit()
    conn.close()
    restarted = _restarted_during_an_outage(tmp_path)
    assert restarted.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "acme"


def test_the_service_names_its_store_by_the_database_url_without_its_password(tmp_path):
    from tests.conftest import BASE_SETTINGS
    from xmlcurl.config import load
    from xmlcurl.fetch.cache import create_cache

    def store_of(url):
        settings = load(overrides={**BASE_SETTINGS, "DATABASE_URL": url, "LAST_GOOD_DIR": str(tmp_path)})
        return create_cache(settings).store.database

    assert store_of("mysql+pymysql://u:one@db/x") == store_of("mysql+pymysql://u:two@db/x")
    assert store_of("mysql+pymysql://u:one@db/x") != store_of("mysql+pymysql://u:one@db/y")


def test_a_worker_with_an_empty_memory_can_still_serve_from_the_store(tmp_path):
    clock, session, (one,) = _workers(tmp_path, 1)
    assert not one.can_serve()
    one.get_or_load("acme", lambda: "acme", scope=scopes.tenant(1))
    _flush(one)
    session.down = True
    restarted = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path))
    assert not restarted.can_serve()  # it knows no epoch yet
    restarted.refresh(lambda: session)
    assert len(restarted) == 0 and restarted.can_serve()


def test_a_worker_that_has_not_seen_a_new_epoch_never_replaces_the_entry_another_wrote_for_it(tmp_path):
    clock, session, (one, two) = _workers(tmp_path)
    _flush(one, two)  # both workers' first polls are in the store before the database is created again
    session.epoch, session.version, session.changes = "epoch-2", 1, []
    _polled(two, clock, session)
    two.get_or_load("acme", lambda: "epoch-2 answer", scope=scopes.tenant(1))
    _flush(two)
    # `one` polled just before the database was created again: its load reads the new database, filed
    # under the epoch it knows. Its memory is its own, but the shared store keeps the new epoch's entry.
    one.get_or_load("acme", lambda: "filed under epoch-1", scope=scopes.tenant(1))
    _flush(one)
    _outage(clock, session, one, two)
    for cache in (one, two):
        assert cache.get_or_load("acme", _failing_loader, scope=scopes.tenant(1)) == "epoch-2 answer"


@pytest.mark.parametrize("reset", ["new epoch", "version went back"])
def test_a_recreated_or_restored_database_never_gets_the_old_entries_served(tmp_path, reset):
    clock, session, (one, two) = _workers(tmp_path)
    session.version = 40
    for cache in (one, two):
        _polled(cache, clock, session)
        cache.get_or_load("acme", lambda: "before the restore", scope=scopes.tenant(1))
    _flush(one, two)
    if reset == "new epoch":
        session.epoch, session.version, session.changes = "epoch-2", 1, []
    else:
        session.version, session.changes = 10, []
    _polled(one, clock, session)  # one worker sees it before the database stops again
    _flush(one)
    _outage(clock, session, one, two)
    for cache in (one, two):
        with pytest.raises(OperationalError):
            cache.get_or_load("acme", _failing_loader, scope=scopes.tenant(1))
    # A worker started later, with the database still down, finds nothing of the old one either.
    later = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path))
    later.refresh(lambda: session)
    with pytest.raises(OperationalError):
        later.get_or_load("acme", _failing_loader, scope=scopes.tenant(1))


# --- through the endpoint, on both backends ---------------------------------------------------

def _a1(response) -> str:
    doc = etree.fromstring(response.data)
    return doc.find(".//user/params/param[@name='a1-hash']").get("value")


def test_a_plain_sql_change_is_served_once_the_version_is_polled(app, fetch):
    cache = fetch_cache(app)
    clock = Clock()
    cache._clock, cache.poll_seconds = clock, 0.5
    assert _a1(fetch(cluster_body(SIP_AUTH))) == sip_a1_hash("1000", "acme.example.com", "pw-acme-1000")
    new_hash = sip_a1_hash("1000", "acme.example.com", "changed")
    with app.app_context():
        session = db.session()
        session.execute(text("UPDATE sip_users SET a1_hash = :h WHERE username = '1000' AND tenant_id = "
                             "(SELECT id FROM tenants WHERE code = 'acme')"), {"h": new_hash})
        session.commit()
    # Within the polling interval the worker may still answer from the version it knows...
    assert _a1(fetch(cluster_body(SIP_AUTH))) == sip_a1_hash("1000", "acme.example.com", "pw-acme-1000")
    clock.now += 0.5
    # ...and once the interval is over it reads the new version and the new data.
    assert _a1(fetch(cluster_body(SIP_AUTH))) == new_hash


def test_an_entry_cached_for_one_node_is_never_served_to_another(app, fetch):
    acme_on_media_1 = fetch(cluster_body(SIP_AUTH), node="media-1")
    assert _a1(acme_on_media_1)
    cache = fetch_cache(app)
    assert len(cache) > 0
    acme_on_media_2 = fetch(retarget(cluster_body(SIP_AUTH), hostname="media-2"), node="media-2")
    assert acme_on_media_2.data == NOT_FOUND
    # And the other way round: initech is pinned to both, globex only to media-2.
    globex = retarget(cluster_body(SIP_AUTH), hostname="media-2", key_value="globex.example.com",
                      domain="globex.example.com", sip_auth_realm="globex.example.com",
                      sip_to_host="globex.example.com", sip_from_host="globex.example.com")
    assert _a1(fetch(globex, node="media-2"))
    assert fetch(retarget(globex, hostname="media-1"), node="media-1").data == NOT_FOUND


def test_warm_answers_equal_cold_answers(app, fetch):
    cold = fetch(cluster_body(SIP_AUTH)).data
    hits = fetch_cache(app).hits
    assert fetch(cluster_body(SIP_AUTH)).data == cold
    assert fetch_cache(app).hits > hits


def test_a_cached_node_with_a_wrong_secret_is_still_refused(fetch):
    assert fetch(cluster_body(SIP_AUTH)).status_code == 200
    assert fetch(cluster_body(SIP_AUTH), secret="wrong").status_code == 401


def test_cached_answers_are_served_while_the_database_is_down(app, fetch, monkeypatch):
    warm = fetch(cluster_body(SIP_AUTH))
    assert warm.status_code == 200

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT", {}, Exception("database went away"))

    for name in ("execute", "scalars", "scalar"):
        monkeypatch.setattr(Session, name, down)
    monkeypatch.setattr(Connection, "execute", down)
    monkeypatch.setattr(FetchReader, "execute", down)  # the fetch path's reads (text() goes to the driver)
    stale = fetch(cluster_body(SIP_AUTH))
    assert stale.status_code == 200 and stale.data == warm.data
    assert fetch_cache(app).degraded
    unknown = retarget(cluster_body(SIP_AUTH), user="1001", sip_auth_username="1001")
    assert fetch(unknown).status_code == 503


# --- what a change invalidates, through the endpoint ---------------------------------------------

GLOBEX_AUTH = retarget(cluster_body(SIP_AUTH), hostname="media-2", key_value="globex.example.com",
                       domain="globex.example.com", sip_auth_realm="globex.example.com",
                       sip_to_host="globex.example.com", sip_from_host="globex.example.com")


def _misses(app, fetch, body: bytes, node: str = "media-1"):
    """The response to one fetch and the cache misses (loads from the database) it caused."""
    cache = fetch_cache(app)
    before = cache.misses
    response = fetch(body, node=node)
    assert response.status_code == 200
    return response, cache.misses - before


def _sql(app, statement: str, **params) -> None:
    with app.app_context():
        session = db.session()
        session.execute(text(statement), params)
        session.commit()


ACME_1000 = "(SELECT id FROM sip_users WHERE tenant_id = 1 AND username = '1000')"


@pytest.mark.parametrize(("statements", "recorded"), [
    (["UPDATE sip_users SET enabled = enabled WHERE tenant_id = 1 AND username = '1000'"], ("sip_users", 1)),
    ([f"INSERT INTO sip_user_variables (user_id, name, value) VALUES ({ACME_1000}, 'test_var', 'x')"],
     ("sip_user_variables", 1)),
    (["UPDATE tenants SET max_calls = 7 WHERE id = 2"], ("tenants", 2)),
    (["UPDATE routes SET priority = priority WHERE tenant_id IS NULL"], ("routes", 0)),
    (["UPDATE gateways SET prepend = prepend"], ("gateways", 0)),
    (["UPDATE nodes SET enabled = enabled WHERE name = 'media-1'"], ("nodes", 0)),
    (["INSERT INTO approved_caller_ids (tenant_id, number) VALUES (1, '+15550009999')",
      "UPDATE approved_caller_ids SET tenant_id = 2 WHERE number = '+15550009999'"], ("approved_caller_ids", -1)),
], ids=["user", "variable", "tenant row", "route for all tenants", "gateway", "node", "row moved between tenants"])
def test_the_triggers_record_which_tenant_or_shared_table_changed(app, statements, recorded):
    for statement in statements:
        _sql(app, statement)
    with app.app_context():
        session = db.session()
        version = session.execute(text("SELECT version FROM config_version WHERE id = 1")).scalar_one()
        last = session.execute(text("SELECT table_name, tenant_id FROM config_changes WHERE version = :v"),
                               {"v": version}).one()
        slot = session.execute(text("SELECT slot FROM config_changes WHERE version = :v"), {"v": version}).scalar_one()
    assert tuple(last) == recorded and slot == version % CHANGE_SLOTS


def test_schema_sql_writes_every_change_into_the_ring_the_code_reads():
    from xmlcurl.db import SCHEMA_SQL
    from xmlcurl.models import VERSIONED_TABLES

    assert SCHEMA_SQL.read_text(encoding="utf-8").count(f"v.version MOD {CHANGE_SLOTS},") == 3 * len(VERSIONED_TABLES)


def test_schema_sql_records_each_change_with_the_detail_the_sqlite_triggers_record():
    from xmlcurl.db import SCHEMA_SQL
    from xmlcurl.models import VERSIONED_TABLES
    from xmlcurl.models.version import change_detail_expression, change_tenant_expression

    schema = SCHEMA_SQL.read_text(encoding="utf-8")
    for table in VERSIONED_TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            assert (f"'{table}', {change_tenant_expression(table, event)}, "
                    f"{change_detail_expression(table, event)}, v.changed_at") in schema, (table, event)


def test_a_plain_sql_change_to_one_tenant_costs_only_that_tenants_cached_answers(app, fetch):
    acme, _ = _misses(app, fetch, cluster_body(SIP_AUTH))
    globex, _ = _misses(app, fetch, GLOBEX_AUTH, node="media-2")
    new_hash = sip_a1_hash("1000", "acme.example.com", "changed")
    _sql(app, "UPDATE sip_users SET a1_hash = :h WHERE username = '1000' AND tenant_id = "
              "(SELECT id FROM tenants WHERE code = 'acme')", h=new_hash)
    again, misses = _misses(app, fetch, GLOBEX_AUTH, node="media-2")
    assert again.data == globex.data and misses == 0
    fresh, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses > 0 and _a1(fresh) == new_hash != _a1(acme)


def test_a_change_through_the_api_to_one_tenant_costs_only_that_tenants_cached_answers(app, fetch):
    from tests.api.conftest import ACME, make_token_holders

    api = make_token_holders(app)
    acme, _ = _misses(app, fetch, cluster_body(SIP_AUTH))
    globex, _ = _misses(app, fetch, GLOBEX_AUTH, node="media-2")
    created = api.post("/sip-users", json={"tenant_id": ACME, "username": "3000", "password": "robot-password"})
    assert created.status_code == 201, created.get_json()
    again, misses = _misses(app, fetch, GLOBEX_AUTH, node="media-2")
    assert again.data == globex.data and misses == 0
    users = api.get("/sip-users?tenant_id=1&per_page=100").get_json()["items"]
    user_1000 = next(u for u in users if u["username"] == "1000")
    assert api.patch(f"/sip-users/{user_1000['id']}", json={"password": "changed-password"}).status_code == 200
    fresh, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses > 0 and _a1(fresh) == sip_a1_hash("1000", "acme.example.com", "changed-password")


def test_a_change_to_a_shared_table_invalidates_only_the_answers_made_from_it(app, fetch):
    carrier = cluster_body("router-1_sofia.conf_profile-carrier")
    _misses(app, fetch, carrier, node="router-1")
    _misses(app, fetch, cluster_body(SIP_AUTH))
    _, misses = _misses(app, fetch, carrier, node="router-1")
    assert misses == 0
    _sql(app, "UPDATE gateways SET prepend = prepend")
    _, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses == 0  # the directory is not made from gateways
    _, misses = _misses(app, fetch, carrier, node="router-1")
    assert misses > 0


DIALPLANS = [("media-1_dialplan_acme-outbound", "media-1"), ("media-1_dialplan_from-router_did", "media-1"),
             ("router-1_dialplan_from-media", "router-1"), ("router-1_dialplan_from-carrier_did", "router-1")]


@pytest.mark.parametrize(("name", "node"), DIALPLANS, ids=[name for name, _ in DIALPLANS])
def test_a_dialplan_answered_by_one_statement_is_kept_while_only_another_tenant_changes(app, fetch, name, node):
    body = cluster_body(name)
    _misses(app, fetch, body, node=node)
    first, misses = _misses(app, fetch, body, node=node)
    assert misses == 0
    _sql(app, "UPDATE sip_users SET enabled = enabled WHERE tenant_id = (SELECT id FROM tenants WHERE code = 'globex')")
    _sql(app, "UPDATE tenants SET max_calls = max_calls WHERE code = 'globex'")
    again, misses = _misses(app, fetch, body, node=node)
    assert misses == 0 and again.status_code == first.status_code  # node credentials kept too
    _sql(app, "UPDATE tenants SET max_calls = max_calls WHERE code = 'acme'")
    _, misses = _misses(app, fetch, body, node=node)
    assert misses > 0


def test_a_route_for_all_tenants_invalidates_the_router_call_not_the_media_nodes_call(app, fetch):
    media, router = cluster_body("media-1_dialplan_acme-outbound"), cluster_body("router-1_dialplan_from-media")
    for _ in range(2):
        _misses(app, fetch, media)
        _misses(app, fetch, router, node="router-1")
    _sql(app, "UPDATE routes SET priority = priority WHERE tenant_id IS NULL")
    _, misses = _misses(app, fetch, media)
    assert misses == 0
    _, misses = _misses(app, fetch, router, node="router-1")
    assert misses > 0


def _last_change(app) -> tuple:
    with app.app_context():
        return tuple(db.session().execute(text(
            "SELECT c.table_name, c.tenant_id, c.detail FROM config_changes c "
            "JOIN config_version v ON v.id = 1 AND c.version = v.version")).one())


def test_the_triggers_record_a_routes_prefix_and_whether_the_set_of_prefixes_may_have_changed(app):
    _sql(app, "INSERT INTO routes (tenant_id, prefix, gateway_id, priority, weight, enabled) "
              "VALUES (NULL, '44', 1, 10, 100, 1)")
    assert _last_change(app) == ("routes", 0, "+44")
    _sql(app, "UPDATE routes SET weight = 50 WHERE prefix = '44'")
    assert _last_change(app) == ("routes", 0, "=44")
    _sql(app, "UPDATE routes SET prefix = '45' WHERE prefix = '44'")
    assert _last_change(app) == ("routes", 0, None)
    _sql(app, "DELETE FROM routes WHERE prefix = '45'")
    assert _last_change(app) == ("routes", 0, "+45")
    _sql(app, "UPDATE routes SET weight = 50 WHERE tenant_id = 2")
    assert _last_change(app) == ("routes", 2, "=1")
    _sql(app, "UPDATE gateways SET prepend = prepend WHERE id = 1")
    assert _last_change(app) == ("gateways", 0, None)


def test_a_change_to_a_route_for_all_tenants_costs_only_the_answers_of_its_prefix(app, fetch):
    router = cluster_body("router-1_dialplan_from-media")  # acme calling 8613800138000: prefixes '' and '86'
    _sql(app, "INSERT INTO routes (tenant_id, prefix, gateway_id, priority, weight, enabled) "
              "VALUES (NULL, '44', 1, 10, 100, 1)")
    for _ in range(2):
        first, _ = _misses(app, fetch, router, node="router-1")
    _, misses = _misses(app, fetch, router, node="router-1")
    assert misses == 0
    # Another prefix, changed in place (what staff and scripts do all day): nothing to load again.
    _sql(app, "UPDATE routes SET weight = 7 WHERE prefix = '44'")
    again, misses = _misses(app, fetch, router, node="router-1")
    assert misses == 0 and again.data.count(b"sofia/gateway/") == first.data.count(b"sofia/gateway/")
    # A route of one of the call's prefixes: the call's routes are read again and the change is served.
    _sql(app, "UPDATE routes SET enabled = 0 WHERE prefix = '86' AND gateway_id = 1")
    changed, misses = _misses(app, fetch, router, node="router-1")
    assert misses > 0 and changed.data.count(b"sofia/gateway/") < first.data.count(b"sofia/gateway/")


def test_a_node_change_reloads_the_node_credentials_a_worker_holds(app, fetch):
    _misses(app, fetch, cluster_body(SIP_AUTH))
    cache = fetch_cache(app)
    credentials = [key for key in list(cache._entries) if key[:2] == (0, "auth")]
    assert credentials
    _sql(app, "UPDATE sip_users SET enabled = enabled WHERE tenant_id = 2")
    _misses(app, fetch, cluster_body(SIP_AUTH))
    assert all(key in cache._entries for key in credentials)
    _sql(app, "UPDATE nodes SET http_secret_hash = http_secret_hash WHERE name = 'router-1'")
    _, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses == 1  # the credentials alone: the directory answer is not made from node rows


def test_a_new_epoch_drops_every_cached_answer(app, fetch):
    _misses(app, fetch, cluster_body(SIP_AUTH))
    _, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses == 0
    resets = fetch_cache(app).resets
    _sql(app, "UPDATE config_version SET epoch = 'restored-from-backup' WHERE id = 1")
    _, misses = _misses(app, fetch, cluster_body(SIP_AUTH))
    assert misses > 0 and fetch_cache(app).resets == resets + 1
    assert fetch_cache(app).epoch == "restored-from-backup"


@pytest.mark.parametrize("setting", ["off", "false", "0"])
def test_the_cache_can_be_switched_off(tmp_path, sqlite_template, monkeypatch, setting):
    path = tmp_path / "off.sqlite3"
    shutil.copy(sqlite_template, path)
    monkeypatch.setenv("XMLCURL_CACHE", setting)
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": f"sqlite:///{path}"})
    assert app.config["XMLCURL"]["CACHE"] is False and fetch_cache(app) is None
    response = app.test_client().post("/freeswitch", data=cluster_body(SIP_AUTH),
                                      headers=basic_auth("media-1", "media-1-secret"),
                                      content_type="application/x-www-form-urlencoded")
    assert _a1(response) == sip_a1_hash("1000", "acme.example.com", "pw-acme-1000")
    app.extensions["xmlcurl.db"].dispose()


# --- serialised documents ------------------------------------------------------------------------

def _context(cache: FetchCache, node_id: int = 1):
    from xmlcurl.fetch.context import FetchContext, NodeIdentity
    from xmlcurl.fetch.request import parse_fetch

    request = parse_fetch(b"hostname=media-1&section=directory&tag_name=domain&key_name=name&key_value=a.example")
    node = NodeIdentity(node_id, f"media-{node_id}", "media", "127.0.0.11", 5060, 5080)
    return FetchContext(request=request, node=node, open_session=lambda: VersionSession(), settings={}, cache=cache)


def test_a_cached_document_is_built_once_and_brings_back_only_the_outcome_its_build_set():
    cache = FetchCache(100, 1 << 20, 0.5, clock=Clock())
    cache.refresh(VersionSession)
    builds = []

    def build():
        doc = etree.Element("document", type="freeswitch/xml")
        builds.append(doc)
        return doc

    def refused():
        ctx.outcome = "refused: no such user"
        return None

    ctx = _context(cache)
    first = ctx.cached_document(("domain", "a.example"), build)
    again = _context(cache)
    assert again.cached_document(("domain", "a.example"), build) == first and len(builds) == 1
    assert again.outcome == "ok"
    ctx = _context(cache)
    assert ctx.cached_document(("user", "x"), refused) is None
    later = _context(cache)
    assert later.cached_document(("user", "x"), refused) is None
    assert later.outcome == "refused: no such user"
    # A caller's own outcome set before the lookup survives a document whose build set none.
    caller = _context(cache)
    caller.outcome = "sip_auth refused: From host"
    assert caller.cached_document(("domain", "a.example"), build) == first
    assert caller.outcome == "sip_auth refused: From host"


def test_a_document_cached_for_one_node_is_never_served_to_another():
    cache = FetchCache(100, 1 << 20, 0.5, clock=Clock())
    cache.refresh(VersionSession)
    one = _context(cache, 1).cached_document(("f",), lambda: etree.Element("one"))
    two = _context(cache, 2).cached_document(("f",), lambda: etree.Element("two"))
    assert b"one" in one and b"two" in two


def test_the_store_keeps_the_newest_build_of_a_key_whatever_order_a_batch_brings_them_in(tmp_path):
    # The writer sends a gathered batch in one transaction: an older build never replaces a newer one
    # of the same epoch, and another epoch always replaces.
    store = LastGoodStore(tmp_path)
    store.sync("e1", 10, {})
    for n in range(250):  # each key put several times, out of order
        store.put(f"k{n}", "e1", 5, ("tenant:1",), b"v5")
        store.put(f"k{n}", "e1", 7, ("tenant:1",), b"v7")
        store.put(f"k{n}", "e1", 6, ("tenant:1",), b"v6")
    store.put("other", "e0", 99, ("tenant:1",), b"old epoch")
    store.put("other", "e1", 3, ("tenant:1",), b"this epoch")
    store.flush()
    assert {store.current(f"k{n}", "e1", {}) for n in range(250)} == {b"v7"}
    assert store.current("other", "e1", {}) == b"this epoch"


def test_a_sync_read_before_the_store_started_over_for_a_new_epoch_never_takes_it_back(tmp_path):
    # Each worker's writer gathers its syncs before writing them: a worker that polled the old database
    # just before another polled the new one can have its sync written second. Taken, it emptied the
    # store and took it back to the old epoch, where a worker whose database then failed adopted it.
    store = LastGoodStore(tmp_path)
    store.sync("old", 40, {}, polled=100.0)
    store.put("acme", "old", 40, ("tenant:1",), b"before")
    store.sync("new", 3, {"tenant:1": 2}, polled=101.5)  # the database created again, seen by one worker
    store.put("acme", "new", 3, ("tenant:1",), b"after")
    store.sync("old", 41, {"tenant:1": 41}, polled=101.0)  # another worker's poll, sent before that one
    store.sync("new", 2, {"tenant:1": 2}, reset=True, polled=101.2)  # a reset read before it: let go too
    store.flush()
    epoch, position, changed = store.state(None)
    assert (epoch, position, changed) == ("new", 3, {"tenant:1": 2})
    assert store.current("acme", "new", {}) == b"after"
    # A poll sent after the start-over is taken as before: the same epoch merges, another starts over.
    store.sync("new", 5, {"tenant:2": 5}, polled=102.0)
    store.flush()
    assert store.state(None) == ("new", 5, {"tenant:1": 2, "tenant:2": 5})
    store.sync("newer", 1, {}, polled=102.5)
    store.flush()
    assert store.state(None) == ("newer", 1, {}) and store.current("acme", "new", {}) is None


def test_poll_times_of_an_earlier_boot_never_hold_back_a_sync(tmp_path, monkeypatch):
    # The monotonic clock starts again at each boot, and the store outlives boots.
    from xmlcurl.fetch import lastgood

    store = LastGoodStore(tmp_path)
    monkeypatch.setattr(lastgood, "BOOT", "boot-1")
    store.sync("e1", 10, {}, polled=5000.0)
    store.flush()
    monkeypatch.setattr(lastgood, "BOOT", "boot-2")
    store.sync("e2", 1, {}, polled=12.0)
    store.flush()
    assert store.state(None)[0] == "e2"


def test_a_store_written_before_syncs_were_ordered_is_used_as_it_is(tmp_path):
    import sqlite3

    path = tmp_path / STORE_FILE
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT, position INTEGER, "
                "database TEXT)")
    old.execute("INSERT INTO meta VALUES (1, 'e1', 7, NULL)")
    old.commit()
    old.close()
    store = LastGoodStore(tmp_path)
    store.sync("e1", 8, {"tenant:1": 8}, polled=3.0)
    store.put("acme", "e1", 8, ("tenant:1",), b"acme")
    store.flush()
    assert store.state(None) == ("e1", 8, {"tenant:1": 8})
    assert store.current("acme", "e1", {}) == b"acme"


def _flushed_within(store: LastGoodStore, seconds: float) -> bool:
    import threading

    done = threading.Event()
    threading.Thread(target=lambda: (store.flush(), done.set()), daemon=True).start()
    return done.wait(seconds)


def test_a_store_that_cannot_be_opened_never_fails_or_holds_up_a_fetch_and_is_used_once_it_opens(
        tmp_path, monkeypatch):
    import sqlite3

    from xmlcurl.fetch import lastgood

    real, failures = lastgood._connect, [3]

    def failing_at_first(path):
        if failures[0] > 0:
            failures[0] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return real(path)

    monkeypatch.setattr(lastgood, "_connect", failing_at_first)
    store = LastGoodStore(tmp_path / "store")
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock, store=store)
    cache.refresh(lambda: session)  # the first poll reads and syncs the store: no error reaches it
    assert cache.get_or_load("acme", lambda: "acme", scope=scopes.tenant(1)) == "acme"
    assert _flushed_within(store, 10)  # what came while it could not be opened was let go
    # Once it opens, what is loaded is kept, under the epoch the first poll's kept sync gave it.
    import pickle
    import time

    deadline = time.monotonic() + 10
    while True:
        cache.clear()
        cache.get_or_load("globex", lambda: "globex", scope=scopes.tenant(2))
        assert _flushed_within(store, 10)
        stored = store.current(repr("globex"), cache.epoch, {})
        if stored is not None or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert failures == [0] and stored is not None and pickle.loads(stored) == "globex"


def test_opening_a_new_store_file_waits_out_another_connection_that_holds_it_before_its_switch_to_wal(tmp_path):
    # Two workers starting on a new file: while one holds it in a write (before it is in WAL mode),
    # the other's switch to WAL fails at once ("database is locked": SQLite's busy timeout does not
    # cover it), so the switch is tried again for a while.
    import sqlite3
    import threading

    from xmlcurl.fetch import lastgood

    path = tmp_path / "store" / STORE_FILE
    path.parent.mkdir()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE held (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO held VALUES (1)")
    threading.Timer(0.2, lambda: other.execute("COMMIT")).start()
    conn = lastgood._connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    other.close()


def test_the_store_lets_its_wal_grow_past_sqlites_default_before_copying_it_into_the_file(tmp_path):
    # Each checkpoint costs two fsyncs and a copy of every page changed since the last: at SQLite's
    # default (every 1,000 pages) they were about a quarter of what an entry cost. The WAL is reused from its
    # start after a checkpoint, so a file that outgrew 1,000 pages shows none came in between.
    from xmlcurl.fetch import lastgood

    store = LastGoodStore(tmp_path)
    store.sync("e1", 1, {})
    value = bytes(range(256)) * 6  # a directory answer's size
    for n in range(3000):
        store.put(f"user-{n * 7919 % 3000}", "e1", 2, ("tenant:1",), value)
    store.flush()
    pages = (tmp_path / f"{STORE_FILE}-wal").stat().st_size // 4096
    assert 1000 < pages <= lastgood.WAL_CHECKPOINT_PAGES
    assert store.current("user-42", "e1", {}) == value


# --- changes to single users ------------------------------------------------------------------

def test_a_username_the_triggers_record_no_change_by_depends_on_any_row_of_its_tenant():
    assert scopes.user(1, "1000") == ("w:1", "t:*", "u:1:1000")
    assert scopes.user(1, "1000 ") == scopes.user(1, "10\n00") == scopes.tenant(1)


def test_the_triggers_name_the_user_a_change_to_its_row_or_variables_touches(app):
    long_name = "x" * 64
    _sql(app, "UPDATE sip_users SET enabled = enabled WHERE tenant_id = 1 AND username = '1000'")
    assert _last_change(app) == ("sip_users", 1, "=1000")
    _sql(app, f"INSERT INTO sip_user_variables (user_id, name, value) VALUES ({ACME_1000}, 'test_var', 'x')")
    assert _last_change(app) == ("sip_user_variables", 1, "=1000")
    _sql(app, "UPDATE sip_user_variables SET value = 'y' WHERE name = 'test_var'")
    assert _last_change(app) == ("sip_user_variables", 1, "=1000")
    _sql(app, "DELETE FROM sip_user_variables WHERE name = 'test_var'")
    assert _last_change(app) == ("sip_user_variables", 1, "=1000")
    _sql(app, "INSERT INTO sip_users (tenant_id, username, a1_hash) VALUES (1, :name, :hash)", name=long_name,
         hash="0" * 32)
    assert _last_change(app) == ("sip_users", 1, "=" + long_name)
    # Renamed, even only in case (the collation takes one for the other): every user of the tenant.
    _sql(app, "UPDATE sip_users SET username = :new WHERE username = :old", new="X" + long_name[1:], old=long_name)
    assert _last_change(app) == ("sip_users", 1, None)
    _sql(app, "DELETE FROM sip_users WHERE username = :name", name="X" + long_name[1:])
    assert _last_change(app) == ("sip_users", 1, "=X" + long_name[1:])
    for odd in ("3000 ", "30\n00"):
        _sql(app, "INSERT INTO sip_users (tenant_id, username, a1_hash) VALUES (1, :name, :hash)", name=odd,
             hash="0" * 32)
        assert _last_change(app) == ("sip_users", 1, None)


def _acme_user_auth(user: str) -> bytes:
    return retarget(cluster_body(SIP_AUTH), user=user, sip_auth_username=user)


def test_a_change_to_one_user_costs_only_that_users_cached_answers(app, fetch):
    dialplan = cluster_body("media-1_dialplan_acme-outbound")
    first, _ = _misses(app, fetch, _acme_user_auth("1000"))
    other, _ = _misses(app, fetch, _acme_user_auth("1001"))
    _misses(app, fetch, dialplan)
    _misses(app, fetch, dialplan)
    new_hash = sip_a1_hash("1000", "acme.example.com", "changed")
    _sql(app, "UPDATE sip_users SET a1_hash = :h WHERE username = '1000' AND tenant_id = 1", h=new_hash)
    again, misses = _misses(app, fetch, _acme_user_auth("1001"))
    assert again.data == other.data and misses == 0
    fresh, misses = _misses(app, fetch, _acme_user_auth("1000"))
    assert misses > 0 and _a1(fresh) == new_hash != _a1(first)
    _, misses = _misses(app, fetch, dialplan)  # made from any row of the tenant (the caller's user among them)
    assert misses > 0


def test_a_user_not_found_is_found_once_created_whatever_changed_in_between(app, fetch):
    missing, _ = _misses(app, fetch, _acme_user_auth("3000"))
    assert missing.data == NOT_FOUND
    _sql(app, "INSERT INTO sip_users (tenant_id, username, a1_hash) VALUES (1, '3000', :h)",
         h=sip_a1_hash("3000", "acme.example.com", "robot"))
    created, misses = _misses(app, fetch, _acme_user_auth("3000"))
    assert misses > 0 and created.data != NOT_FOUND
    _sql(app, "UPDATE sip_users SET enabled = 0 WHERE username = '3000'")
    disabled, misses = _misses(app, fetch, _acme_user_auth("3000"))
    assert disabled.data == NOT_FOUND


def test_a_worker_forgets_single_users_changes_once_many_and_serves_nothing_they_superseded(monkeypatch, tmp_path):
    from xmlcurl.fetch import cache as cache_module

    monkeypatch.setattr(cache_module, "USER_CHANGES_KEPT", 3)
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path, ""))
    cache.refresh(lambda: session)
    assert cache.get_or_load("u0", lambda: "old u0", scope=scopes.user(1, "u0")) == "old u0"
    assert cache.get_or_load("u9", lambda: "u9", scope=scopes.user(1, "u9")) == "u9"
    for n in range(5):
        session.change("sip_users", 1, f"=u{n}")
    _polled(cache, clock, session)
    assert not [scope for scope in cache._changed if scope.startswith("u:")]
    assert cache.get_or_load("u0", lambda: "new u0", scope=scopes.user(1, "u0")) == "new u0"
    assert cache.get_or_load("u9", lambda: "reloaded", scope=scopes.user(1, "u9")) == "u9"  # still current
    # The store keeps the changes forgotten here: what it holds for u0 from before is not current.
    cache.store.flush()
    assert cache.store.current(repr("u0"), "epoch-1", {}) is not None  # rebuilt just now, after them
    cache.store.put(repr("u1"), "epoch-1", 7, scopes.user(1, "u1"), b"built before")
    cache.store.flush()
    assert cache.store.current(repr("u1"), "epoch-1", {}) is None

    # An answer loaded while the changes that supersede it are forgotten is served, and not kept.
    def changed_while_loading():
        for n in range(5, 9):
            session.change("sip_users", 1, f"=u{n}")
        _polled(cache, clock, session)
        return "loaded before"

    assert cache.get_or_load("u5", changed_while_loading, scope=scopes.user(1, "u5")) == "loaded before"
    assert not [scope for scope in cache._changed if scope.startswith("u:")]
    assert cache.get_or_load("u5", lambda: "loaded after", scope=scopes.user(1, "u5")) == "loaded after"


def test_a_worker_remembers_single_users_changes_the_store_could_not_record(monkeypatch, tmp_path):
    import sqlite3

    from xmlcurl.fetch import cache as cache_module

    monkeypatch.setattr(cache_module, "USER_CHANGES_KEPT", 3)
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock, store=LastGoodStore(tmp_path, ""))
    cache.refresh(lambda: session)
    cache.get_or_load("u0", lambda: "old u0", scope=scopes.user(1, "u0"))
    cache.store.flush()
    attempts = []

    def busy(*_args):
        attempts.append(1)
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(cache_module, "_record_in_store", busy)
    for n in range(5):
        session.change("sip_users", 1, f"=u{n}")
    _polled(cache, clock, session)
    _polled(cache, clock, session)  # not tried again before FORGET_RETRY_SECONDS
    assert attempts == [1] and len([scope for scope in cache._changed if scope.startswith("u:")]) == 5
    assert cache.get_or_load("u0", lambda: "new u0", scope=scopes.user(1, "u0")) == "new u0"
    monkeypatch.undo()
    monkeypatch.setattr(cache_module, "USER_CHANGES_KEPT", 3)
    clock.now += cache_module.FORGET_RETRY_SECONDS
    _polled(cache, clock, session)
    assert not [scope for scope in cache._changed if scope.startswith("u:")]
    assert cache.get_or_load("u0", lambda: "newer", scope=scopes.user(1, "u0")) == "new u0"  # built after them
