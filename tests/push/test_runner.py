"""Running plans: per-node results, retries with exponential backoff, skips, dry runs."""
from __future__ import annotations

import time

from tests.push.conftest import ESL_KEY
from tests.push.esl_double import EslDouble
from xmlcurl import config
from xmlcurl.push.plan import NodeInfo, NodePlan
from xmlcurl.push.runner import run_plans
from xmlcurl.push.secret import encrypt_password

SETTINGS = config.load(environ={}, overrides={"ENV": "testing", "ESL_KEY": ESL_KEY, "PUSH_ATTEMPTS": 4,
                                              "PUSH_BACKOFF": 0.5, "PUSH_TIMEOUT": 2})


def node_for(double: EslDouble, password: str = "pw") -> NodeInfo:
    return NodeInfo(1, "router-1", "router", double.host, esl_port=double.port,
                    esl_password_enc=encrypt_password(SETTINGS, password))


def test_refused_connections_are_retried_with_doubling_backoff():
    double = EslDouble("127.0.0.1", "pw", refuse_first=2)
    slept: list[float] = []
    try:
        [result] = run_plans([NodePlan(node_for(double), ("reloadacl",))], SETTINGS, sleep=slept.append)
    finally:
        double.close()
    assert (result.status, result.attempts, result.error) == ("ok", 3, None)
    assert slept == [0.5, 1.0]
    assert double.commands == ["reloadacl"]
    assert result.replies == [("reloadacl", "+OK")]


def test_a_node_that_never_answers_fails_after_the_set_attempts(caplog):
    double = EslDouble("127.0.0.1", "pw", refuse_first=100)
    slept: list[float] = []
    try:
        [result] = run_plans([NodePlan(node_for(double), ("reloadacl",))], SETTINGS, sleep=slept.append)
    finally:
        double.close()
    assert (result.status, result.attempts) == ("failed", 4)
    assert slept == [0.5, 1.0, 2.0]
    assert "push node=router-1 status=failed attempts=4" in caplog.text


def test_a_wrong_password_fails_without_sending_commands():
    double = EslDouble("127.0.0.1", "pw")
    try:
        [result] = run_plans([NodePlan(node_for(double, "other"), ("reloadacl",))], SETTINGS, sleep=lambda _s: None)
    finally:
        double.close()
    assert result.status == "failed" and "authentication refused" in result.error
    assert double.commands == []


def test_nodes_without_an_event_socket_are_skipped_and_dry_runs_connect_nowhere():
    bare = NodeInfo(2, "media-1", "media", "127.0.0.11")
    double = EslDouble("127.0.0.1", "pw")
    try:
        results = run_plans([NodePlan(bare, ("reloadacl",)), NodePlan(node_for(double), ("reloadacl",))], SETTINGS,
                            dry_run=True)
        [skipped] = run_plans([NodePlan(bare, ("reloadacl",))], SETTINGS)
    finally:
        double.close()
    assert [r.status for r in results] == ["dry-run", "dry-run"]
    assert double.connections == 0
    assert skipped.status == "skipped" and "no event socket" in skipped.error


def test_a_password_stored_under_another_key_is_a_clear_failure():
    node = NodeInfo(1, "router-1", "router", "127.0.0.1", esl_port=1,
                    esl_password_enc=encrypt_password({**SETTINGS, "ESL_KEY": None, "SECRET_KEY": "x" * 40}, "pw"))
    [result] = run_plans([NodePlan(node, ("reloadacl",))], SETTINGS)
    assert result.status == "failed" and "does not decrypt" in result.error


def test_a_dead_node_does_not_delay_the_others():
    dead = EslDouble("127.0.0.1", "pw", refuse_first=100)
    alive = EslDouble("127.0.0.1", "pw")
    served_during_retries: list[int] = []

    def slow_sleep(seconds: float) -> None:
        time.sleep(0.2)
        served_during_retries.append(len(alive.commands))

    try:
        dead_node = NodeInfo(1, "media-1", "media", dead.host, esl_port=dead.port,
                             esl_password_enc=encrypt_password(SETTINGS, "pw"))
        alive_node = NodeInfo(2, "media-2", "media", alive.host, esl_port=alive.port,
                              esl_password_enc=encrypt_password(SETTINGS, "pw"))
        results = run_plans([NodePlan(dead_node, ("reloadacl",)), NodePlan(alive_node, ("reloadacl",))], SETTINGS,
                            sleep=slow_sleep)
    finally:
        dead.close()
        alive.close()
    assert [(r.node, r.status) for r in results] == [("media-1", "failed"), ("media-2", "ok")]
    assert alive.commands == ["reloadacl"]
    # The live node (listed second) was served while the dead one was still backing off.
    assert served_during_retries[-1] == 1


def test_a_mod_hash_remote_kill_may_wait_for_the_remotes_poll_thread():
    from xmlcurl.push.runner import command_timeout

    settings = {**SETTINGS, "PUSH_TIMEOUT": 2, "HASH_REMOTE_INTERVAL_MS": 1500}
    # mod_hash joins the remote's thread: it may be in a 5 s connect or asleep for one interval.
    assert command_timeout("hash_remote kill media-2", settings) == 2 + 5 + 1.5
    assert command_timeout("hash_remote rescan", settings) == command_timeout("reloadacl", settings) == 2


def test_the_remote_names_are_read_from_hash_remote_list():
    from xmlcurl.push.runner import listed_remotes

    reply = "Remote connections:\nName\t\t\tState\nmedia-2\t\t\tUp\nmedia-9\t\t\tDown\n+OK\n"
    assert listed_remotes(reply) == ["media-2", "media-9"]
    assert listed_remotes("Remote connections:\nName\t\t\tState\n+OK\n") == []


def test_a_listed_remote_that_cannot_be_a_command_argument_is_not_killed():
    from xmlcurl.push.plan import LIST_REMOTES

    double = EslDouble("127.0.0.1", "pw")
    double.remotes = ["media-2", "bad name", "media-9"]
    try:
        [result] = run_plans([NodePlan(node_for(double), (LIST_REMOTES, "hash_remote rescan"),
                                       keep_remotes=frozenset({"media-2"}))], SETTINGS, sleep=lambda _s: None)
    finally:
        double.close()
    assert double.commands == ["hash_remote list", "hash_remote kill media-9", "hash_remote rescan"]
    assert result.commands == tuple(double.commands)


def test_a_remote_kill_left_unanswered_is_not_sent_again():
    # mod_hash destroys a killed remote outside its lock: a retried kill could destroy it twice.
    def silent_kill(command: str) -> str:
        if command.startswith("hash_remote kill "):
            time.sleep(0.5)  # longer than this test's wait for the answer
        return "+OK\n"

    double = EslDouble("127.0.0.1", "pw", reply=silent_kill)
    double._hash_remote = lambda _command: None  # answered by silent_kill
    settings = {**SETTINGS, "PUSH_TIMEOUT": 0.1, "HASH_REMOTE_INTERVAL_MS": 100}
    from xmlcurl.push import runner
    original, runner.HASH_CONNECT_SECONDS = runner.HASH_CONNECT_SECONDS, 0
    try:
        [result] = run_plans([NodePlan(node_for(double), ("hash_remote kill media-2", "hash_remote rescan"))],
                             settings, sleep=lambda _s: None)
    finally:
        runner.HASH_CONNECT_SECONDS = original
        double.close()
    assert result.status == "ok" and result.attempts == 2
    assert double.commands == ["hash_remote kill media-2", "hash_remote rescan"]
    assert result.replies[0] == ("hash_remote kill media-2", "(no answer; not sent again)")
