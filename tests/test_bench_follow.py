"""bench.follow counts as current exactly the stored answers a worker's outage read would serve."""
import re

import pytest

from bench import follow
from xmlcurl.fetch import scopes
from xmlcurl.fetch.lastgood import LastGoodStore, put_op, sync_op, write_ops


@pytest.fixture
def store(tmp_path):
    store = LastGoodStore(tmp_path, "db")
    conn = store.connect()
    yield store, conn
    conn.close()


def test_coverage_counts_answers_no_later_change_to_their_tenant_superseded(store):
    store, conn = store
    write_ops(conn, [sync_op("e1", 5, {}, True, "db", None)]
              + [put_op(f"user {n}", "e1", 5, scopes.tenant(1 + n % 2), b"answer") for n in range(10)])
    assert follow.coverage(store.path) == (10, 10)
    write_ops(conn, [sync_op("e1", 7, {"t:1": 7}, False, "db", None)])  # a change to tenant 1
    assert follow.coverage(store.path) == (5, 10)
    write_ops(conn, [put_op(f"user {n}", "e1", 7, scopes.tenant(1), b"again") for n in (0, 2)])  # two of tenant 1
    assert follow.coverage(store.path) == (7, 10)
    write_ops(conn, [sync_op("e1", 9, {"t:*": 9}, False, "db", None)])  # a change to every tenant
    assert follow.coverage(store.path) == (0, 10)


def test_coverage_counts_a_users_answer_superseded_only_by_a_change_to_that_user_or_its_tenant(store):
    store, conn = store
    write_ops(conn, [sync_op("e1", 5, {}, True, "db", None)]
              + [put_op(f"user {name}", "e1", 5, scopes.user(1, name), b"answer") for name in ("a", "b")])
    write_ops(conn, [sync_op("e1", 6, {"u:1:a": 6, "t:1": 6}, False, "db", None)])  # a change to user a
    assert follow.coverage(store.path) == (1, 2)
    write_ops(conn, [sync_op("e1", 7, {"w:1": 7, "t:1": 7}, False, "db", None)])  # to the tenant's own row
    assert follow.coverage(store.path) == (0, 2)


def test_coverage_leaves_out_answers_of_another_epoch(store):
    store, conn = store
    write_ops(conn, [sync_op("e1", 5, {}, True, "db", None), put_op("user", "e1", 5, scopes.tenant(1), b"old")])
    conn.execute("UPDATE meta SET epoch = 'e2'")  # re-created database: the old entry is never served
    conn.commit()
    assert follow.coverage(store.path) == (0, 0)


def test_a_refill_line_of_the_follower_is_counted_in_users():
    filler = follow.Filler(process=None)  # type: ignore[arg-type]
    filler.lines = ["filled /x: 10 users of 2 tenants, 15 answers in 0.1 s",
                    "2026-12-07T06:00:00 filled again: 200 users of 1 tenants, 201 answers in 0.0 s",
                    "2026-12-07T06:00:01 filled again: 30 users of 2 tenants, 33 answers in 0.0 s"]
    assert follow.refilled(filler.lines) == 230
    assert re.search(follow.REFILL, filler.lines[0]) is None


@pytest.mark.mysql
def test_the_follow_benchmark_measures_a_churn_and_sees_the_store_current_again(capsys):
    from tests.conftest import MYSQL_URL, mysql_server_engine

    url = MYSQL_URL + "_follow"
    mysql_server_engine(url).dispose()  # dropped after the run; the benchmark builds its data set there
    status = follow.main(["--database-url", url, "--users", "300", "--tenants", "6", "--routes", "40", "--dids", "20",
                          "--routers", "1", "--media", "2", "--gateways", "2", "--idle", "1", "--seconds", "3",
                          "--rate", "5", "--settle", "0.3", "--interval", "0.2", "--sample", "0.5"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert re.search(r"filled \S+: 300 users of 6 tenants", out)
    churn = next(line for line in out.splitlines() if line.strip().startswith("churn:") and "changes (" in line)
    changes = int(re.search(r"(\d+) changes \(", churn).group(1))
    refilled = int(re.search(r"(\d+) users filled again/s", churn).group(1))
    assert changes >= 10 and refilled > 0
    assert "every answer current again" in out
