"""`xmlcurl monitor --once` polls and reports; `xmlcurl status` prints the cluster table the monitor stored."""
from __future__ import annotations

import threading

from xmlcurl import db
from xmlcurl.monitor.runner import run_forever
from xmlcurl.monitor.store import take_lease, utcnow


def test_monitor_once_polls_every_node_and_says_what_it_wrote(app, demo_cluster):
    result = app.test_cli_runner().invoke(args=["monitor", "--once"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:3] == ["router-1: ok", "media-1: ok", "media-2: ok"]
    assert lines[3].startswith("polled 3 node(s), 3 answered in full, ")


def test_monitor_once_refuses_while_another_monitor_holds_the_lease(app, demo_cluster):
    with app.app_context():
        assert take_lease(db.session(), "elsewhere:1", utcnow(), 60)
    result = app.test_cli_runner().invoke(args=["monitor", "--once"])
    assert result.exit_code != 0 and "another monitor holds the lease" in result.output


def test_status_prints_nodes_gateways_and_calls(app, demo_cluster):
    demo_cluster.poll()
    result = app.test_cli_runner().invoke(args=["status"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "last poll" in out
    node_lines = {line.split()[0]: line.split() for line in out.split("NODES")[1].split("GATEWAYS")[0].splitlines()[3:] if line}
    assert node_lines["media-1"][1:3] == ["media", "up"]
    assert "internal=RUNNING" in out.split("NODES")[1]
    gateway_part = out.split("GATEWAYS")[1].split("CALLS PER TENANT")[0]
    assert any(line.split()[:5] == ["router-router-1", "media-1", "cluster", "NOREG", "UP"] for line in gateway_part.splitlines())
    calls = {line.split()[0]: line.split() for line in out.split("CALLS PER TENANT")[1].splitlines()[3:] if line}
    assert calls["acme"][1:4] == ["1/100", "1/100", "0/10"]
    assert "media-1=1" in calls["acme"]


def test_status_before_any_poll_says_the_monitor_never_ran(app):
    result = app.test_cli_runner().invoke(args=["status"])
    assert result.exit_code == 0
    assert "has never polled" in result.output


def test_run_forever_polls_until_stopped_and_releases_its_lease(app, demo_cluster):
    stop = threading.Event()
    settings = {**app.config["XMLCURL"], "MONITOR_INTERVAL": 1.0}
    polled = threading.Event()
    double = demo_cluster.doubles["media-1"]
    original = double.reply

    def reply(command):
        if command == "show calls count":
            stop.set()  # stop after the first round's last command
            polled.set()
        return original(command)

    double.reply = reply
    with app.app_context():
        run_forever(db.database().sessionmaker, settings, stop, holder="loop-test")
        assert polled.is_set()
        # The lease was released: another monitor takes it at once.
        assert take_lease(db.session(), "next", utcnow(), 10)
