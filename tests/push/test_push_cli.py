"""`xmlcurl push`: a full resync of every node (or one), and --dry-run which sends nothing."""
from __future__ import annotations

from sqlalchemy import select

from tests.push.conftest import ESL_KEY
from xmlcurl.models import Node
from xmlcurl.push.secret import decrypt_password, encrypt_password


def point_nodes_at(app, session, doubles) -> None:
    settings = app.config["XMLCURL"]
    settings.update(ESL_KEY=ESL_KEY, PUSH_BACKOFF=0.01, PUSH_TIMEOUT=2)
    for node in session.scalars(select(Node)):
        node.esl_port = doubles[node.name].port
        node.esl_password_enc = encrypt_password(settings, f"{node.name}-esl")
    session.commit()


def test_dry_run_prints_every_nodes_commands_without_connecting(app, session, doubles):
    point_nodes_at(app, session, doubles)
    result = app.test_cli_runner().invoke(args=["push", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:18] == [
        "router-1: dry-run",
        "  reloadacl",
        "  sofia profile carrier killgw _all_",
        "  sofia profile carrier rescan",
        "  hash_remote list",
        "  hash_remote rescan",
        "media-1: dry-run",
        "  reloadacl",
        "  sofia profile cluster killgw _all_",
        "  sofia profile cluster rescan",
        "  hash_remote list",
        "  hash_remote rescan",
        "media-2: dry-run",
        "  reloadacl",
        "  sofia profile cluster killgw _all_",
        "  sofia profile cluster rescan",
        "  hash_remote list",
        "  hash_remote rescan",
    ]
    assert result.output.splitlines()[18] == "every node listed has event-socket credentials"
    assert sum(d.connections for d in doubles.values()) == 0


def test_dry_run_names_the_nodes_without_event_socket_credentials_and_what_killgw_does(app, session, doubles):
    point_nodes_at(app, session, doubles)
    media_2 = session.scalar(select(Node).where(Node.name == "media-2"))
    media_2.esl_password_enc = None
    session.commit()
    result = app.test_cli_runner().invoke(args=["push", "--dry-run"])
    assert result.exit_code == 0, result.output
    notes = result.output.splitlines()[18:]
    assert notes[0] == ("no event-socket credentials (a real push skips them): media-2; "
                        "store them with `xmlcurl esl-password NODE`")
    assert "Calls in progress are not hung up" in notes[1] and "killgw _all_ then rescan" in notes[1]
    assert sum(d.connections for d in doubles.values()) == 0


def test_push_one_node_sends_its_resync_and_shows_the_replies(app, session, doubles):
    point_nodes_at(app, session, doubles)
    result = app.test_cli_runner().invoke(args=["push", "--node", "router-1"])
    assert result.exit_code == 0, result.output
    assert doubles["router-1"].commands == ["reloadacl", "sofia profile carrier killgw _all_",
                                            "sofia profile carrier rescan", "hash_remote list", "hash_remote rescan"]
    assert doubles["media-1"].commands == doubles["media-2"].commands == []
    assert "router-1: ok after 1 attempt(s)" in result.output
    assert "  sofia profile carrier killgw _all_  -> +OK gateway marked for deletion." in result.output


def test_push_kills_the_remotes_a_node_should_not_have_and_keeps_the_others(app, session, doubles):
    point_nodes_at(app, session, doubles)
    # media-1 still polls a deleted media-9 and a router that has no business in its list.
    doubles["media-1"].remotes = ["media-2", "media-9", "router-1"]
    result = app.test_cli_runner().invoke(args=["push", "--node", "media-1"])
    assert result.exit_code == 0, result.output
    assert doubles["media-1"].commands[3:] == ["hash_remote list", "hash_remote kill media-9",
                                               "hash_remote kill router-1", "hash_remote rescan"]
    assert doubles["media-1"].remotes == ["media-2"]
    assert "  hash_remote kill media-9  -> +OK" in result.output


def test_push_exits_non_zero_when_a_node_fails(app, session, doubles):
    point_nodes_at(app, session, doubles)
    app.config["XMLCURL"]["PUSH_ATTEMPTS"] = 2
    doubles["media-2"].refuse_first = 5
    result = app.test_cli_runner().invoke(args=["push"])
    assert result.exit_code == 1
    assert "media-2: failed after 2 attempt(s)" in result.output
    assert doubles["router-1"].commands and doubles["media-1"].commands


def test_push_to_an_unknown_node_is_an_error(app):
    result = app.test_cli_runner().invoke(args=["push", "--node", "nope"])
    assert result.exit_code != 0 and "no node named 'nope'" in result.output


def test_esl_password_stores_the_port_and_the_password_encrypted(app, session):
    app.config["XMLCURL"]["ESL_KEY"] = ESL_KEY
    result = app.test_cli_runner().invoke(
        args=["esl-password", "media-1", "--address", "10.0.0.11", "--port", "8022", "--password-stdin"],
        input="s3cret-esl\n")
    assert result.exit_code == 0, result.output
    session.expire_all()
    node = session.scalar(select(Node).where(Node.name == "media-1"))
    assert (node.esl_address, node.esl_port) == ("10.0.0.11", 8022)
    assert "s3cret" not in node.esl_password_enc
    assert decrypt_password(app.config["XMLCURL"], node.esl_password_enc) == "s3cret-esl"


def test_esl_password_refuses_an_address_that_is_not_an_ip(app):
    app.config["XMLCURL"]["ESL_KEY"] = ESL_KEY
    result = app.test_cli_runner().invoke(
        args=["esl-password", "media-1", "--address", "media-1; drop", "--password-stdin"], input="s3cret-esl\n")
    assert result.exit_code != 0 and "not an IP address" in result.output


def test_esl_password_tells_the_other_nodes_of_the_role_to_replace_their_remote(app, session, doubles):
    point_nodes_at(app, session, doubles)
    result = app.test_cli_runner().invoke(args=["esl-password", "media-2", "--address", "127.0.0.12", "--port",
                                                str(doubles["media-2"].port), "--password-stdin"],
                                          input="media-2-esl\n")
    assert result.exit_code == 0, result.output
    assert doubles["media-1"].commands == ["hash_remote kill media-2", "hash_remote rescan"]
    assert doubles["router-1"].commands == doubles["media-2"].commands == []
    assert "media-1: ok (hash_remote kill media-2, hash_remote rescan)" in result.output


def test_esl_password_with_automatic_push_on_sends_the_kill_once(app, session, doubles):
    point_nodes_at(app, session, doubles)
    app.config["XMLCURL"]["PUSH_AUTO"] = True
    result = app.test_cli_runner().invoke(args=["esl-password", "media-2", "--address", "127.0.0.12", "--port",
                                                str(doubles["media-2"].port), "--password-stdin"],
                                          input="media-2-esl\n")
    assert result.exit_code == 0, result.output
    from xmlcurl.push.worker import PUSHER
    assert PUSHER.wait_idle(10)
    assert doubles["media-1"].commands == ["hash_remote kill media-2", "hash_remote rescan"]
