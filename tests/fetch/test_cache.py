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
from xmlcurl.fetch.cache import FetchCache, fetch_cache
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.secrets import sip_a1_hash

SIP_AUTH = "media-1_directory_sip_auth_acme-1000"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class VersionSession:
    """Stands in for a session: answers the version poll, or fails like a database that went away."""

    def __init__(self) -> None:
        self.version = 7
        self.polls = 0
        self.down = False
        self.rollbacks = 0

    def execute(self, _stmt):
        self.polls += 1
        if self.down:
            raise OperationalError("SELECT", {}, Exception("gone"))
        return SimpleNamespace(first=lambda: SimpleNamespace(version=self.version, changed_at=dt.datetime(2026, 1, 1)))

    def rollback(self) -> None:
        self.rollbacks += 1


def _failing_loader():
    raise OperationalError("SELECT", {}, Exception("gone"))


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


def test_an_entry_is_served_only_under_the_version_it_was_loaded_for():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    assert cache.get_or_load(("k",), lambda: "old") == "old"
    assert cache.get_or_load(("k",), lambda: "new") == "old"
    session.version = 8
    clock.now += 0.5
    cache.refresh(lambda: session)
    assert cache.get_or_load(("k",), lambda: "new") == "new"
    assert (cache.hits, cache.misses) == (1, 2)


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

    by_bytes = FetchCache(1000, 3 * (1000 + 200), 0.5)
    by_bytes.refresh(lambda: session)
    for index in range(10):
        by_bytes.get_or_load(index, lambda: b"x" * 1000)
    assert len(by_bytes) == 3 and by_bytes.bytes <= 3 * 1200
    by_bytes.get_or_load("huge", lambda: b"x" * 10_000)
    assert len(by_bytes) == 3  # a value bigger than the whole budget is not kept


def test_a_failed_load_serves_the_last_good_value_or_raises_without_one():
    clock, session = Clock(), VersionSession()
    cache = FetchCache(100, 10**6, 0.5, clock=clock)
    cache.refresh(lambda: session)
    cache.get_or_load("k", lambda: "good")
    session.version = 8
    clock.now += 1
    cache.refresh(lambda: session)
    assert cache.get_or_load("k", _failing_loader, recover=session.rollback) == "good"
    assert cache.stale == 1 and cache.degraded and session.rollbacks == 1
    with pytest.raises(OperationalError):
        cache.get_or_load("other", _failing_loader)


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
    monkeypatch.setattr(Connection, "execute", down)  # the fetch path's Core connection
    stale = fetch(cluster_body(SIP_AUTH))
    assert stale.status_code == 200 and stale.data == warm.data
    assert fetch_cache(app).degraded
    unknown = retarget(cluster_body(SIP_AUTH), user="1001", sip_auth_username="1001")
    assert fetch(unknown).status_code == 503


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
