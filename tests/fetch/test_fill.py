"""The last-good store filled ahead of the fetches (xmlcurl/fetch/fill.py, `xmlcurl fill-store`)."""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from tests.conftest import captured_request, cluster_body, retarget
from prometheus_client import REGISTRY

from xmlcurl import db, metrics
from xmlcurl.fetch import fill
from xmlcurl.fetch.cache import create_cache, fetch_cache
from xmlcurl.fetch.fill import FillError, StoreFiller
from xmlcurl.fetch.lastgood import LastGoodStore, put_op, sync_op, write_ops
from xmlcurl.fetch.xmldoc import NOT_FOUND

SIP_AUTH = "media-1_directory_sip_auth_acme-1000"


@contextmanager
def _reading(app):
    """A connection reading the app's database as `xmlcurl fill-store` does (on MariaDB, the test's own)."""
    with app.app_context():
        database = db.database()
        test_connection = getattr(database, "test_connection", None)
        if test_connection is not None:
            yield test_connection
            return
        with database.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            yield conn


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def _filler(app, clock=None):
    with _reading(app) as conn:
        filler = StoreFiller(conn, fetch_cache(app).store, app.config["XMLCURL"]["DIRECTORY_CACHEABLE_MS"],
                             clock or Clock())
        try:
            yield filler
        finally:
            filler.close()


def _fill(app, codes=()):
    with _filler(app) as filler:
        return filler.fill(codes)


def _pinned_users(app) -> list[tuple[str, str, str]]:
    """(media node, domain, user) of every enabled user with a credential, for each node its tenant is pinned to."""
    with _reading(app) as conn:
        return [tuple(row) for row in conn.execute(text(
            "SELECT n.name, t.sip_domain, u.username FROM sip_users u JOIN tenants t ON t.id = u.tenant_id "
            "JOIN tenant_nodes tn ON tn.tenant_id = t.id JOIN nodes n ON n.id = tn.node_id AND n.role = 'media' "
            "WHERE u.enabled = 1 AND t.enabled = 1 AND u.a1_hash <> '' ORDER BY n.name, t.sip_domain, u.username"))]


def _sip_auth(node: str, domain: str, user: str) -> bytes:
    return retarget(cluster_body(SIP_AUTH), hostname=node, key_value=domain, domain=domain, sip_auth_realm=domain,
                    sip_to_host=domain, sip_from_host=domain, user=user, sip_auth_username=user)


def _domain_lookup(node: str, domain: str) -> bytes:
    return retarget(captured_request("directory-xml_locate-domain"), hostname=node, key_value=domain)


def _answer_lookups(result: str) -> float:
    metrics.TALLY.flush()
    return REGISTRY.get_sample_value("xmlcurl_cache_lookups_total", {"result": result, "kind": "answer"}) or 0.0


def _answered_from_the_store(app, fetch, body: bytes, node: str) -> bytes:
    shared, misses = _answer_lookups("shared"), _answer_lookups("miss")
    response = fetch(body, node=node)
    assert response.status_code == 200
    assert (_answer_lookups("shared") - shared, _answer_lookups("miss") - misses) == (1, 0), \
        "not answered from the filled store"
    return response.data


def _built_from_the_database(app, fetch, body: bytes, node: str) -> bytes:
    cache = fetch_cache(app)
    cache.clear()
    store, cache.store = cache.store, None
    try:
        return fetch(body, node=node).data
    finally:
        cache.store = store
        cache.clear()


def test_a_filled_store_answers_every_user_and_domain_of_each_media_node_as_the_database_would(app, fetch):
    summary = _fill(app)
    pinned = _pinned_users(app)
    assert summary.tenants == 3 and summary.users == len({(d, u) for _, d, u in pinned}) > 20
    assert summary.answers == len(pinned) + 4  # and each tenant's domain, once per pinned node: initech twice
    for node, domain, user in pinned:
        body = _sip_auth(node, domain, user)
        from_store = _answered_from_the_store(app, fetch, body, node)
        assert from_store == _built_from_the_database(app, fetch, body, node), (node, domain, user)
        assert f'id="{user}"'.encode() in from_store
    for node, domain in {(node, domain) for node, domain, _ in pinned}:
        body = _domain_lookup(node, domain)
        assert _answered_from_the_store(app, fetch, body, node) == _built_from_the_database(app, fetch, body, node)


def test_a_node_is_never_filled_with_another_nodes_tenants(app, fetch):
    _fill(app)
    for node, domain in (("media-1", "globex.example.com"), ("media-2", "acme.example.com")):
        assert fetch(_sip_auth(node, domain, "1000"), node=node).data == NOT_FOUND
        assert fetch(_domain_lookup(node, domain), node=node).data == NOT_FOUND
    assert fetch_cache(app).shared == 0


def test_a_pinning_removed_while_filling_never_leaves_the_node_its_old_tenants_answers(app, fetch, monkeypatch):
    listed = fill.pinned_tenants

    def then_unpinned(conn, *args, **kwargs):
        tenants = listed(conn, *args, **kwargs)  # initech is on media-1 and media-2 when the fill lists it
        _sql(app, "DELETE FROM tenant_nodes WHERE tenant_id = (SELECT id FROM tenants WHERE code = 'initech') "
                  "AND node_id = (SELECT id FROM nodes WHERE name = 'media-1')")
        return tenants

    monkeypatch.setattr(fill, "pinned_tenants", then_unpinned)
    _fill(app)
    shared = fetch_cache(app).shared
    assert fetch(_sip_auth("media-1", "initech.example.com", "1000"), node="media-1").data == NOT_FOUND
    assert fetch(_domain_lookup("media-1", "initech.example.com"), node="media-1").data == NOT_FOUND
    assert fetch_cache(app).shared == shared
    _answered_from_the_store(app, fetch, _sip_auth("media-2", "initech.example.com", "1000"), "media-2")


def _acme_1000_a1(app, value: str) -> None:
    with app.app_context():
        session = db.session()
        session.execute(text("UPDATE sip_users SET a1_hash = :v WHERE username = '1000' AND tenant_id = "
                             "(SELECT id FROM tenants WHERE code = 'acme')"), {"v": value})
        session.commit()


def test_a_change_after_the_fill_supersedes_the_tenants_filled_answers(app, fetch):
    _fill(app)
    _acme_1000_a1(app, "f" * 32)
    answer = fetch(_sip_auth("media-1", "acme.example.com", "1000"), node="media-1")
    assert b'value="' + b"f" * 32 + b'"' in answer.data
    # Another tenant's answers are still taken from the store.
    _answered_from_the_store(app, fetch, _sip_auth("media-2", "globex.example.com", "1000"), "media-2")


def test_rows_read_before_a_change_the_fill_wrote_after_are_never_served_as_current(app, fetch, monkeypatch):
    answers = fill.tenant_answers

    def then_changed(conn, tenant, cacheable_ms, usernames=None):
        found = answers(conn, tenant, cacheable_ms, usernames)
        if tenant.code == "acme":  # a change committed between the tenant's read and its write
            _acme_1000_a1(app, "e" * 32)
        return found

    monkeypatch.setattr(fill, "tenant_answers", then_changed)
    _fill(app)
    cache = fetch_cache(app)
    answer = fetch(_sip_auth("media-1", "acme.example.com", "1000"), node="media-1")
    assert b'value="' + b"e" * 32 + b'"' in answer.data
    assert cache.shared == 0


def test_a_filled_answer_never_replaces_a_newer_one_a_worker_built(app, fetch, monkeypatch):
    body = _sip_auth("media-1", "acme.example.com", "1000")
    with _reading(app) as conn:  # the fill reads its version before the change the worker then sees
        earlier = conn.execute(fill.VERSION).one()
    _acme_1000_a1(app, "d" * 32)
    fetch(body, node="media-1")  # a worker builds the answer at the newer version and stores it
    fetch_cache(app).store.flush()
    monkeypatch.setattr(fill, "VERSION", text(f"SELECT {int(earlier.version)} AS version, "
                                              f"'{earlier.epoch}' AS epoch"))
    _fill(app, ["acme"])
    fetch_cache(app).clear()
    assert b'value="' + b"d" * 32 + b'"' in _answered_from_the_store(app, fetch, body, "media-1")


def test_the_fill_starts_over_a_store_another_database_left(app, fetch):
    store: LastGoodStore = fetch_cache(app).store
    other = LastGoodStore(store.directory, "mysql+pymysql://root@elsewhere/other")
    conn = other.connect()
    write_ops(conn, [sync_op("other-epoch", 5, {}, False, other.database),
                     put_op("left-behind", "other-epoch", 5, ("t:1",), b"old")])
    conn.close()
    _fill(app)
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("SELECT count(*) FROM entries WHERE key = 'left-behind'").fetchone() == (0,)
        assert conn.execute("SELECT database FROM meta").fetchone() == (store.database,)
    finally:
        conn.close()
    _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1000"), "media-1")


def test_only_the_named_tenants_are_filled_and_an_unknown_one_fills_nothing(app):
    summary = _fill(app, ["globex"])
    assert summary.tenants == 1 and summary.users > 0
    store = fetch_cache(app).store
    with pytest.raises(FillError, match="nope"):
        _fill(app, ["acme", "nope"])
    conn = sqlite3.connect(store.path)
    try:
        keys = [key for (key,) in conn.execute("SELECT key FROM entries")]
    finally:
        conn.close()
    assert keys and all("globex.example.com" in key for key in keys)


def test_the_fill_stops_when_the_database_is_re_created_under_it(app, monkeypatch):
    answers = fill.tenant_answers

    def recreated(conn, tenant, cacheable_ms, usernames=None):
        found = answers(conn, tenant, cacheable_ms, usernames)
        with app.app_context():
            session = db.session()
            session.execute(text("UPDATE config_version SET epoch = 'another-epoch' WHERE id = 1"))
            session.commit()
        return found

    monkeypatch.setattr(fill, "tenant_answers", recreated)
    with pytest.raises(FillError, match="re-created or restored"):
        _fill(app)


# --- the command ------------------------------------------------------------------------------

def test_fill_store_command_reports_what_it_wrote(app):
    result = app.test_cli_runner().invoke(args=["fill-store", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "users of 3 tenants" in result.output and "answers in" in result.output


def test_fill_store_command_names_an_unknown_tenant(app):
    result = app.test_cli_runner().invoke(args=["fill-store", "--quiet", "--tenant", "nope"])
    assert result.exit_code != 0 and "nope" in result.output


def test_fill_store_command_refuses_when_no_store_is_kept(app):
    app.config["XMLCURL"] = {**app.config["XMLCURL"], "LAST_GOOD_DIR": "off"}
    result = app.test_cli_runner().invoke(args=["fill-store", "--quiet"])
    assert result.exit_code != 0 and "last-good store is off" in result.output


def test_fill_store_command_says_why_the_store_cannot_be_written(app, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app.config["XMLCURL"] = {**app.config["XMLCURL"], "LAST_GOOD_DIR": str(blocked / "last-good")}
    result = app.test_cli_runner().invoke(args=["fill-store", "--quiet"])
    assert result.exit_code != 0 and "cannot write the last-good store" in result.output


# --- following the changes (--follow) -----------------------------------------------------------

def _acme_users(app) -> int:
    return len([1 for node, domain, _ in _pinned_users(app) if domain == "acme.example.com"])


def _acme_default_cid(app, value: str) -> None:
    """A change to the tenant's own row: every answer of the tenant."""
    _sql(app, f"UPDATE tenants SET default_cid_name = '{value}' WHERE code = 'acme'")


def test_following_fills_a_changed_tenant_again_once_its_changes_settle(app, fetch):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _acme_default_cid(app, "Acme Again")
        assert filler.follow(10).tenants == 0  # changed just now: more changes may follow
        clock.now += 10
        summary = filler.follow(10)
        assert (summary.tenants, summary.users) == (1, _acme_users(app))
        assert filler.follow(10).tenants == 0
    _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1001"), "media-1")


def test_following_fills_again_only_the_answers_of_a_changed_user(app, fetch):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _acme_1000_a1(app, "c" * 32)
        assert filler.follow(10).tenants == 0  # changed just now: more changes may follow
        clock.now += 10
        summary = filler.follow(10)
        assert (summary.tenants, summary.users, summary.answers) == (1, 1, 1)  # acme is on media-1 alone
        assert filler.follow(10).tenants == 0
    answer = _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1000"), "media-1")
    assert b'value="' + b"c" * 32 + b'"' in answer
    # The tenant's other users and its domain were never superseded.
    _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1001"), "media-1")
    _answered_from_the_store(app, fetch, _domain_lookup("media-1", "acme.example.com"), "media-1")


def test_a_renamed_user_fills_its_tenant_again(app, fetch):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _sql(app, "UPDATE sip_users SET username = '1999' WHERE username = '1000' AND tenant_id = 1")
        clock.now += 10
        filler.follow(10)  # noted
        clock.now += 10
        summary = filler.follow(10)
        assert (summary.tenants, summary.users) == (1, _acme_users(app))
    assert fetch(_sip_auth("media-1", "acme.example.com", "1000"), node="media-1").data == NOT_FOUND
    _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1999"), "media-1")


def test_a_user_change_is_filled_with_its_tenant_when_the_tenant_changed_too(app):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _acme_1000_a1(app, "7" * 32)
        _acme_default_cid(app, "Acme Both")
        filler.follow(10)
        clock.now += 10
        summary = filler.follow(10)
        assert (summary.tenants, summary.users) == (1, _acme_users(app))
        assert filler.changed_users == {} and filler.changed == {}


def test_following_fills_every_tenant_again_after_a_change_to_all_of_them(app):
    with _filler(app) as filler:
        filler.fill()
        _sql(app, "INSERT INTO approved_caller_ids (tenant_id, number) VALUES (1, '+15550009999')")
        _sql(app, "UPDATE approved_caller_ids SET tenant_id = 2 WHERE number = '+15550009999'")
        assert filler.follow(10).tenants == 0  # settling, as a single tenant's changes do
        filler.clock.now += 10
        assert filler.follow(10).tenants == 3


def test_a_tenant_that_never_stops_changing_is_filled_again_at_the_latest_after_longest_wait(app):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        filled = []
        # Changed again 9 s after each change, never settling for 10 s: filled once the first change not
        # filled is LONGEST_WAIT settles old.
        rounds = -(-fill.LONGEST_WAIT * 10 // 9) + 1
        for round_ in range(rounds):
            _acme_1000_a1(app, f"{round_:032x}")
            filled.append(filler.follow(10).tenants)
            clock.now += 9
        assert filled == [0] * (rounds - 1) + [1]


def test_a_worker_started_after_a_follow_round_knows_every_change_the_filler_read(app, fetch):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _sql(app, "UPDATE sip_users SET enabled = 0 WHERE username = '1000' AND tenant_id = 1")
        assert filler.follow(10).tenants == 0  # read, not yet filled again: no worker has polled since
        clock.now += 10
        assert filler.follow(10).users == 0  # the disabled user has no answer to fill
    # A worker starting now reads the changes from the store's position on.
    app.extensions["xmlcurl.cache"] = create_cache(app.config["XMLCURL"], app.instance_path)
    assert fetch(_sip_auth("media-1", "acme.example.com", "1000"), node="media-1").data == NOT_FOUND


def test_following_a_re_created_database_fills_it_again_for_its_new_epoch(app, fetch):
    with _filler(app) as filler:
        filler.fill()
        _sql(app, "UPDATE config_version SET epoch = 'another-epoch' WHERE id = 1")
        assert filler.follow(3600).tenants == 3
        assert filler.epoch == "another-epoch"
    assert fetch_cache(app).store.state(None)[0] == "another-epoch"
    _answered_from_the_store(app, fetch, _sip_auth("media-1", "acme.example.com", "1000"), "media-1")


def test_a_tenant_whose_fill_failed_is_filled_again_next_round(app, monkeypatch):
    clock = Clock()
    with _filler(app, clock) as filler:
        filler.fill()
        _acme_1000_a1(app, "b" * 32)
        assert filler.follow(10).tenants == 0  # the change is seen
        clock.now += 10

        def locked(*_args):
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(fill, "write_ops", locked)
        with pytest.raises(sqlite3.OperationalError):
            filler.follow(10)
        monkeypatch.undo()
        assert filler.follow(10).tenants == 1


class Rounds(threading.Event):
    """A stop event for `--follow` that is set after `count` rounds (their waits return at once)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def wait(self, timeout=None) -> bool:
        self.count -= 1
        return self.count < 0


def test_following_reports_each_round_that_filled_something_until_stopped(app, capsys):
    from xmlcurl.cli import store as store_command

    with _filler(app) as filler:
        filler.fill()
        _acme_default_cid(app, "Acme Reported")
        store_command._follow(filler, None, 0.0, 0.1, Rounds(2))
    out = capsys.readouterr().out
    assert f"filled again: {_acme_users(app)} users of 1 tenants" in out and "stopped following" in out


def test_following_goes_on_after_a_database_error_on_a_new_connection(app, capsys, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from xmlcurl.cli import store as store_command

    with _filler(app) as filler:
        filler.fill()
        follow, failures, connections = filler.follow, [OperationalError("SELECT", {}, Exception("gone"))], []

        def fails_once(*args):
            if failures:
                raise failures.pop()
            return follow(*args)

        monkeypatch.setattr(filler, "follow", fails_once)
        conn = filler.conn
        _acme_default_cid(app, "Acme After Error")
        store_command._follow(filler, lambda: connections.append(1) or conn, 0.0, 0.1, Rounds(2))
    captured = capsys.readouterr()
    assert "reading the database failed, trying again" in captured.err and connections == [1]
    assert f"filled again: {_acme_users(app)} users of 1 tenants" in captured.out


def test_fill_store_follow_stops_cleanly_on_sigterm(sqlite_template, tmp_path):
    database = tmp_path / "xmlcurl.sqlite3"
    shutil.copy(sqlite_template, database)
    env = {**os.environ, "XMLCURL_DATABASE_URL": f"sqlite:///{database}", "XMLCURL_LAST_GOOD_DIR": str(tmp_path / "lg"),
           "XMLCURL_ENV": "development"}
    follower = subprocess.Popen([sys.executable, "-m", "xmlcurl.cli", "fill-store", "--follow", "--quiet",
                                 "--interval", "0.2"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    try:
        lines = []
        for line in follower.stdout:  # the fill, then "following the changes ..."
            lines.append(line)
            if line.startswith("following the changes"):
                break
        time.sleep(0.5)
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert lines[0].startswith("filled ") and "users of 3 tenants" in lines[0]
    assert "stopped following" in out


def _sql(app, statement: str) -> None:
    with app.app_context():
        session = db.session()
        session.execute(text(statement))
        session.commit()


def test_an_interrupted_refill_of_every_tenant_is_done_again_next_round(app, monkeypatch):
    with _filler(app) as filler:
        filler.fill()
        _sql(app, "INSERT INTO approved_caller_ids (tenant_id, number) VALUES (1, '+15550009999')")
        _sql(app, "UPDATE approved_caller_ids SET tenant_id = 2 WHERE number = '+15550009999'")
        writes, calls = fill.write_ops, []

        def second_fails(conn, ops):
            calls.append(len(ops))
            if len(calls) == 2:
                raise sqlite3.OperationalError("disk I/O error")
            writes(conn, ops)

        monkeypatch.setattr(fill, "write_ops", second_fails)
        with pytest.raises(sqlite3.OperationalError):
            filler.follow(0)
        assert filler.follow(0).tenants == 3
