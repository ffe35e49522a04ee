"""hash.conf: each node's mod_hash remotes are the other enabled nodes of its role that have event-socket credentials."""
from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update

from tests.conftest import captured_request, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from xmlcurl import db, secrets
from xmlcurl.fetch.configuration.remotes import Remote, build_hash
from xmlcurl.models import Node
from xmlcurl.push.secret import encrypt_password

ESL_KEY = Fernet.generate_key().decode()
ADDRESSES = {"router-1": "127.0.0.10", "media-1": "127.0.0.11", "media-2": "127.0.0.12", "media-3": "127.0.0.13",
             "router-2": "127.0.0.14"}


def remotes(xml: bytes) -> dict[str, dict[str, str]]:
    """What mod_hash's do_config reads: remote name -> its attributes."""
    doc = assert_freeswitch_can_read(xml)
    conf = doc.find("section[@name='configuration']/configuration[@name='hash.conf']")
    assert conf is not None
    return {r.get("name"): {k: v for k, v in r.attrib.items() if k != "name"} for r in conf.findall("remotes/remote")}


def hash_conf(fetch, node: str) -> dict[str, dict[str, str]]:
    body = retarget(captured_request("config-console.conf-startup"), hostname=node, key_value="hash.conf")
    response = fetch(body, node=node)
    assert response.status_code == 200
    return remotes(response.data)


@pytest.fixture
def cluster(app):
    """Two routers and three media nodes; every node but media-3 has stored event-socket credentials."""
    settings = app.config["XMLCURL"]
    settings["ESL_KEY"] = ESL_KEY
    with app.app_context():
        session = db.session()
        for name, role in (("media-3", "media"), ("router-2", "router")):
            session.add(Node(name=name, role=role, sip_address=ADDRESSES[name], http_username=name,
                             http_secret_hash=secrets.hash_node_secret(f"{name}-secret")))
        session.flush()
        for node in session.scalars(select(Node)):
            if node.name != "media-3":
                node.esl_port = 8021
                node.esl_password_enc = encrypt_password(settings, f"{node.name}-esl")
        session.commit()
    return app


def test_each_media_node_gets_the_other_media_nodes_with_credentials(cluster, fetch):
    assert hash_conf(fetch, "media-1") == {
        "media-2": {"host": "127.0.0.12", "port": "8021", "password": "media-2-esl", "interval": "1000"},
    }
    assert list(hash_conf(fetch, "media-2")) == ["media-1"]


def test_each_router_gets_the_other_routers(cluster, fetch):
    assert hash_conf(fetch, "router-1") == {
        "router-2": {"host": "127.0.0.14", "port": "8021", "password": "router-2-esl", "interval": "1000"},
    }
    assert hash_conf(fetch, "router-2") == {
        "router-1": {"host": "127.0.0.10", "port": "8021", "password": "router-1-esl", "interval": "1000"},
    }


def test_a_node_without_stored_credentials_is_left_out_and_logged(cluster, fetch, caplog):
    with caplog.at_level(logging.WARNING, logger="xmlcurl.fetch.configuration"):
        assert "media-3" not in hash_conf(fetch, "media-1")
    assert any("media-3" in r.getMessage() and "esl-password" in r.getMessage() for r in caplog.records)
    # media-3 itself still counts the others: it polls them with their credentials.
    assert list(hash_conf(fetch, "media-3")) == ["media-1", "media-2"]


def test_disabled_nodes_are_left_out(cluster, fetch):
    with cluster.app_context():
        session = db.session()
        session.execute(update(Node).where(Node.name.in_(["media-2", "router-2"])).values(enabled=False))
        session.commit()
    assert hash_conf(fetch, "media-1") == {}
    assert hash_conf(fetch, "router-1") == {}


def test_event_socket_address_and_port_win_over_the_sip_address(cluster, fetch):
    with cluster.app_context():
        session = db.session()
        session.execute(update(Node).where(Node.name == "media-2").values(esl_address="10.0.0.12", esl_port=8022))
        session.commit()
    assert hash_conf(fetch, "media-1")["media-2"] == {"host": "10.0.0.12", "port": "8022", "password": "media-2-esl",
                                                      "interval": "1000"}


def test_the_polling_interval_is_a_setting(cluster, fetch):
    cluster.config["XMLCURL"]["HASH_REMOTE_INTERVAL_MS"] = 250
    assert hash_conf(fetch, "router-1")["router-2"]["interval"] == "250"


def test_a_password_that_no_longer_decrypts_is_left_out_and_logged(cluster, fetch, caplog):
    cluster.config["XMLCURL"]["ESL_KEY"] = Fernet.generate_key().decode()
    with caplog.at_level(logging.ERROR, logger="xmlcurl.fetch.configuration"):
        assert hash_conf(fetch, "media-1") == {}
    assert any("media-2" in r.getMessage() and "does not decrypt" in r.getMessage() for r in caplog.records)


def test_without_any_credentials_the_node_still_gets_an_empty_list(fetch):
    # An answer (not `not found`) so a node never keeps stale remotes from a local file.
    assert hash_conf(fetch, "media-1") == {}


def test_the_answer_is_cached_until_the_configuration_changes(cluster, fetch):
    first = hash_conf(fetch, "media-1")
    assert hash_conf(fetch, "media-1") == first
    with cluster.app_context():
        session = db.session()
        session.execute(update(Node).where(Node.name == "media-3").values(
            esl_port=8021, esl_password_enc=encrypt_password(cluster.config["XMLCURL"], "media-3-esl")))
        session.commit()
    assert list(hash_conf(fetch, "media-1")) == ["media-2", "media-3"]


def test_a_password_the_pre_processor_would_rewrite_is_left_out(caplog):
    peers = (Remote(2, "media-1", "127.0.0.11", 8021, "ok"), Remote(3, "media-2", "127.0.0.12", 8021, "a$${x}b"))
    with caplog.at_level(logging.WARNING, logger="xmlcurl.fetch.configuration"):
        from xmlcurl.fetch.xmldoc import serialise
        assert list(remotes(serialise(build_hash(peers, own_id=4, interval_ms=1000)))) == ["media-1"]
    assert "media-2" in caplog.text
