"""The event-socket client against the protocol double: auth, api replies, refusals, timeouts."""
from __future__ import annotations

import socket

import pytest

from tests.push.esl_double import EslDouble
from xmlcurl.push.esl import EslAuthError, EslClient, EslError


@pytest.fixture
def double():
    made = EslDouble("127.0.0.1", "ClueCon")
    yield made
    made.close()


def test_client_authenticates_and_returns_api_bodies(double):
    with EslClient(double.host, double.port, "ClueCon", 2) as client:
        assert client.api("sofia profile carrier killgw carrier-a") == "+OK gateway marked for deletion.\n"
        assert client.api("reloadacl") == "+OK\n"
    assert double.auths == ["ClueCon"]
    assert double.commands == ["sofia profile carrier killgw carrier-a", "reloadacl"]


def test_wrong_password_is_an_auth_error(double):
    with pytest.raises(EslAuthError, match="-ERR invalid"):
        EslClient(double.host, double.port, "wrong", 2)
    assert double.commands == []


def test_closed_port_is_an_esl_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(EslError, match="cannot connect"):
        EslClient("127.0.0.1", port, "x", 1)


def test_a_silent_server_times_out():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with pytest.raises(EslError, match="read failed"):
            EslClient("127.0.0.1", server.getsockname()[1], "x", 0.3)


def test_commands_cannot_smuggle_a_second_line(double):
    with EslClient(double.host, double.port, "ClueCon", 2) as client:
        with pytest.raises(ValueError):
            client.api("reloadacl\n\napi shutdown")
    assert double.commands == []
