"""`xmlcurl monitor`'s round against event-socket doubles fed FreeSWITCH's captured answers, and broken ones."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from tests.push.esl_double import CLOSE, HANG, CloseAfter, EslDouble
from xmlcurl import db
from xmlcurl.models import (ClusterGatewayState, ClusterNodeState, ClusterProfileState, ClusterRegistration,
                            ClusterTenantCalls, ConfigVersion, Node)
from xmlcurl.monitor import snapshot
from xmlcurl.monitor.poll import COMMANDS
from xmlcurl.monitor.store import take_lease

from .conftest import PASSWORD, captured


def state(app, name: str) -> ClusterNodeState | None:
    with app.app_context():
        session = db.session()
        node_id = session.scalar(select(Node.id).where(Node.name == name))
        return session.get(ClusterNodeState, node_id)


def read(app, func, *args):
    with app.app_context():
        return func(db.session(), *args)


def test_a_round_stores_nodes_profiles_gateways_registrations_and_calls(app, demo_cluster):
    report = demo_cluster.poll()
    assert (report.nodes, report.answered) == (3, 3)
    assert report.rows > 0
    for double in demo_cluster.doubles.values():
        assert double.commands == list(COMMANDS)

    nodes = {n["name"]: n for n in read(app, snapshot.nodes)}
    assert {name: n["state"] for name, n in nodes.items()} == {"router-1": "up", "media-1": "up", "media-2": "up"}
    assert nodes["media-1"]["uptime_seconds"] == 22 and nodes["router-1"]["uptime_seconds"] == 25
    assert nodes["media-1"]["version"].startswith("1.10.12-release")
    assert [p["name"] for p in nodes["router-1"]["profiles"]] == ["carrier", "cluster"]
    assert nodes["media-2"]["registrations"] == 2 and nodes["media-1"]["calls"] == 1

    gateways = {(g["node"], g["name"]): g for g in read(app, snapshot.gateways)}
    assert set(gateways) == {("router-1", "carrier-a"), ("router-1", "carrier-b"), ("media-1", "router-router-1"),
                             ("media-2", "router-router-1")}
    assert gateways[("media-1", "router-router-1")]["ping_ms"] == 1.26
    assert gateways[("media-1", "router-router-1")]["status"] == "UP"

    regs = read(app, snapshot.registrations)
    assert [(r["tenant"], r["user"], r["node"]) for r in regs] == [
        ("acme", "1000", "media-1"), ("globex", "1000", "media-2"), ("initech", "2001", "media-2")]
    assert regs[0]["contact"] == "sip:1000@127.0.0.1:40202;transport=udp"

    calls = {c["tenant"]: c for c in read(app, snapshot.calls)}
    assert (calls["acme"]["calls"], calls["acme"]["router_calls"], calls["acme"]["max_calls"]) == (1, 1, 100)
    assert [(n["node"], n["calls"]) for n in calls["acme"]["nodes"]] == [("router-1", 1), ("media-1", 1)]
    assert (calls["globex"]["calls"], calls["initech"]["calls"]) == (1, 0)


def test_snapshot_writes_never_bump_the_config_version(app, demo_cluster):
    version = lambda: read(app, lambda s: s.get(ConfigVersion, 1).version)  # noqa: E731
    before = version()
    demo_cluster.poll()
    demo_cluster.poll()
    assert version() == before


def test_a_second_round_replaces_the_first_and_notes_a_gateway_going_down(app, demo_cluster):
    demo_cluster.poll()
    first = read(app, lambda s: s.scalar(select(ClusterGatewayState).where(ClusterGatewayState.node_id == 2)))
    demo_cluster.serve_captured("media-1", "media-1-router-down")
    with app.app_context():  # the round after: pretend a minute passed, so the change has a later time
        session = db.session()
        session.execute(ClusterGatewayState.__table__.update().values(
            changed_at=first.changed_at - dt.timedelta(minutes=1)))
        session.commit()
    demo_cluster.poll()
    gw = {(g["node"], g["name"]): g for g in read(app, snapshot.gateways)}[("media-1", "router-router-1")]
    assert (gw["status"], gw["ping_ms"]) == ("DOWN", None)
    assert gw["changed_at"] > first.changed_at - dt.timedelta(minutes=1)  # moved to the round that saw it
    assert read(app, lambda s: s.query(ClusterRegistration).count()) == 3
    alerts = read(app, snapshot.alerts)
    assert [(a["kind"], a["name"], a["node"]) for a in alerts] == [("gateway", "router-router-1", "media-1")]


def test_a_node_that_does_not_answer_is_down_after_two_missed_polls_and_delays_no_other(app, demo_cluster):
    demo_cluster.poll()
    demo_cluster.serve("media-2", EslDouble("127.0.0.1", PASSWORD, greet=False))
    report = demo_cluster.poll()
    assert report.answered == 2
    first = state(app, "media-2")
    assert (first.up, first.missed_polls) == (True, 1) and "time" in first.error
    demo_cluster.poll()
    second = state(app, "media-2")
    assert (second.up, second.missed_polls, second.calls, second.uptime_seconds) == (False, 2, None, None)
    assert second.since >= first.since
    nodes = {n["name"]: n["state"] for n in read(app, snapshot.nodes)}
    assert nodes == {"router-1": "up", "media-1": "up", "media-2": "down"}
    # Its registrations and calls are no longer vouched for; the others' are still there.
    regs = read(app, snapshot.registrations)
    assert [(r["user"], r["node"]) for r in regs] == [("1000", "media-1")]
    assert [a["name"] for a in read(app, snapshot.alerts)] == ["media-2"]
    # Back: up again, since now.
    demo_cluster.serve_captured("media-2")
    demo_cluster.poll()
    back = state(app, "media-2")
    assert (back.up, back.missed_polls, back.error) == (True, 0, None)
    assert read(app, snapshot.alerts) == []


def test_a_node_never_seen_is_unknown_until_its_second_miss(app, demo_cluster):
    demo_cluster.serve("router-1", EslDouble("127.0.0.1", PASSWORD, greet=False))
    demo_cluster.poll()
    assert {n["name"]: n["state"] for n in read(app, snapshot.nodes)}["router-1"] == "unknown"
    demo_cluster.poll()
    assert {n["name"]: n["state"] for n in read(app, snapshot.nodes)}["router-1"] == "down"


def _broken(cluster, reply_override) -> ClusterNodeState:
    cluster.serve("media-1", EslDouble("127.0.0.1", PASSWORD, reply=captured("media-1", overrides=reply_override)))
    report = cluster.poll()
    assert report.answered == 2  # the other nodes are read in full
    return report


def test_garbage_in_an_answer_is_a_missed_poll_with_the_reason(app, demo_cluster):
    _broken(demo_cluster, {"sofia xmlstatus gateway": "Invalid Profile!\n"})
    assert "expected <gateways>" in state(app, "media-1").error or "not XML" in state(app, "media-1").error


def test_garbage_instead_of_the_protocol_is_a_missed_poll(app, demo_cluster):
    _broken(demo_cluster, {"status": b"\x00\xffnot an event socket at all\n"})
    assert state(app, "media-1").missed_polls == 1


def test_half_a_reply_then_silence_is_a_missed_poll(app, demo_cluster):
    _broken(demo_cluster, {"version": b"Content-Type: api/response\nContent-Length: 400\n\nFreeSWITCH Vers"})
    assert "time" in state(app, "media-1").error


def test_closing_in_the_middle_of_an_answer_is_a_missed_poll(app, demo_cluster):
    _broken(demo_cluster, {"show registrations as json":
                           CloseAfter(b"Content-Type: api/response\nContent-Length: 400\n\n{\"row_count\":1,")})
    assert "closed" in state(app, "media-1").error


def test_closing_before_answering_and_hanging_are_missed_polls(app, demo_cluster):
    _broken(demo_cluster, {"hash_dump limit": CLOSE})
    assert "closed" in state(app, "media-1").error
    _broken(demo_cluster, {"show calls count": HANG})
    assert state(app, "media-1").missed_polls == 2 and state(app, "media-1").up is False


def test_wrong_password_is_a_missed_poll(app, demo_cluster):
    demo_cluster.serve("media-1", EslDouble("127.0.0.1", "another-password", reply=captured("media-1")))
    demo_cluster.poll()
    assert "authentication refused" in state(app, "media-1").error


def test_a_node_without_an_event_socket_is_shown_unmonitored(app, demo_cluster):
    with app.app_context():
        session = db.session()
        node = session.scalar(select(Node).where(Node.name == "media-2"))
        node.esl_port = None
        session.commit()
    report = demo_cluster.poll()
    assert report.answered == 2
    assert {n["name"]: n["state"] for n in read(app, snapshot.nodes)}["media-2"] == "unmonitored"
    assert demo_cluster.doubles["media-2"].commands == []


def test_only_the_lease_holder_polls(app, demo_cluster):
    assert demo_cluster.poll("monitor-a") is not None
    assert demo_cluster.poll("monitor-b") is None  # a's lease is still valid
    assert demo_cluster.poll("monitor-a") is not None
    with app.app_context():
        session = db.session()
        later = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=1)
        assert take_lease(session, "monitor-b", later, 10)  # a stopped renewing: b takes over
    assert demo_cluster.poll("monitor-a") is None


def test_a_disabled_node_is_not_polled_and_not_shown(app, demo_cluster):
    with app.app_context():
        session = db.session()
        session.scalar(select(Node).where(Node.name == "media-2")).enabled = False
        session.commit()
    assert demo_cluster.poll().nodes == 2
    assert [n["name"] for n in read(app, snapshot.nodes)] == ["router-1", "media-1"]


def test_profiles_and_gateways_a_node_no_longer_reports_are_removed(app, demo_cluster):
    demo_cluster.poll()
    demo_cluster.serve_captured("router-1", overrides={
        "sofia xmlstatus gateway": '<?xml version="1.0" encoding="ISO-8859-1"?>\n<gateways>\n</gateways>\n',
        "sofia xmlstatus": '<?xml version="1.0" encoding="ISO-8859-1"?>\n<profiles>\n</profiles>\n'})
    demo_cluster.poll()
    with app.app_context():
        session = db.session()
        assert session.query(ClusterGatewayState).filter_by(node_id=1).count() == 0
        assert session.query(ClusterProfileState).filter_by(node_id=1).count() == 0
        assert session.query(ClusterTenantCalls).filter_by(node_id=1).count() == 2  # acme and globex counters


def test_a_node_refusing_one_command_is_up_with_that_part_empty_and_the_refusal_noted(app, demo_cluster):
    # What FreeSWITCH answers `show registrations as json` when started with -nosql (no core database).
    demo_cluster.serve("media-1", EslDouble("127.0.0.1", PASSWORD, reply=captured(
        "media-1", overrides={"show registrations as json": "-ERR SQL disabled, no data available!\n"})))
    report = demo_cluster.poll()
    assert report.answered == 3
    media_1 = state(app, "media-1")
    assert (media_1.up, media_1.missed_polls) == (True, 0)
    assert "show registrations as json: the node refused the command: -ERR SQL disabled" in media_1.error
    nodes = {n["name"]: n for n in read(app, snapshot.nodes)}
    assert nodes["media-1"]["state"] == "up" and nodes["media-1"]["registrations"] == 0
    assert [p["name"] for p in nodes["media-1"]["profiles"]]  # the other parts are still read


def test_a_node_answering_each_command_slowly_is_cut_off_at_its_time_limit(app, demo_cluster):
    # Each answer comes well within MONITOR_TIMEOUT (1 s here), but all seven together do not: the poll's
    # deadline bounds the whole node, not each answer (or a slow node would hold a round 7 times over).
    answers = captured("media-1")

    def slowly(command: str):
        time.sleep(0.4)
        return answers(command)

    demo_cluster.serve("media-1", EslDouble("127.0.0.1", PASSWORD, reply=slowly))
    report = demo_cluster.poll()
    assert report.answered == 2
    media_1 = state(app, "media-1")
    assert media_1.missed_polls == 1
    assert "time limit" in media_1.error or "timed out" in media_1.error
