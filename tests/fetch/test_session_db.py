"""A node's session database DSN: on every sofia profile it is served, and nowhere else."""
from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet

from tests.conftest import cluster_body, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from xmlcurl import db
from xmlcurl.fetch.configuration.session_db import session_db_settings, with_session_db
from xmlcurl.fetch.configuration.sofia import ProfileConf
from xmlcurl.models import Node
from xmlcurl.services import Actor, nodes

DSN = "mariadb://Server=db.internal;Port=3306;Database=fs_cluster;Uid=fs;Pwd=s3cret&<x>"


def profile_params(xml: bytes) -> dict[str, dict[str, str]]:
    """profile name -> its <settings> params, as sofia's config_sofia reads them."""
    doc = assert_freeswitch_can_read(xml)
    return {p.get("name"): {param.get("name"): param.get("value") for param in p.findall("settings/param")}
            for p in doc.iter("profile")}


def sofia(fetch, node: str, profile: str | None = None) -> dict[str, dict[str, str]]:
    body = retarget(cluster_body("media-1_sofia.conf"), hostname=node)
    if profile is not None:
        body += f"&profile={profile}".encode()
    response = fetch(body, node=node)
    assert response.status_code == 200
    return profile_params(response.data)


@pytest.fixture
def with_dsn(app):
    """media-1 and router-1 share a session database; media-2 has none."""
    app.config["XMLCURL"]["ESL_KEY"] = Fernet.generate_key().decode()
    with app.app_context():
        session = db.session()
        for node_id in (1, 2):
            nodes.update(session, Actor.cli("pytest"), node_id, {"session_db_dsn": DSN})
        session.commit()
    return app


@pytest.mark.parametrize("node", ["media-1", "router-1"])
def test_every_profile_of_a_node_with_a_dsn_carries_it_and_tracks_calls(with_dsn, fetch, node):
    profiles = sofia(fetch, node)
    assert len(profiles) == 2
    for params in profiles.values():
        assert params["odbc-dsn"] == DSN and params["track-calls"] == "true"
    for name in profiles:
        assert sofia(fetch, node, name)[name]["odbc-dsn"] == DSN


def test_a_node_without_a_dsn_gets_neither_param(with_dsn, fetch):
    for params in sofia(fetch, "media-2").values():
        assert "odbc-dsn" not in params and "track-calls" not in params


def test_removing_the_dsn_removes_the_params(with_dsn, fetch):
    with with_dsn.app_context():
        session = db.session()
        nodes.update(session, Actor.cli("pytest"), 2, {"session_db_dsn": None})
        session.commit()
    for params in sofia(fetch, "media-1").values():
        assert "odbc-dsn" not in params and "track-calls" not in params


def test_the_dsn_is_stored_encrypted(with_dsn):
    with with_dsn.app_context():
        stored = db.session().get(Node, 2).session_db_dsn_enc
    assert stored and "s3cret" not in stored and "db.internal" not in stored


def test_a_dsn_that_no_longer_decrypts_is_left_out_and_logged(with_dsn, fetch, caplog):
    with_dsn.config["XMLCURL"]["ESL_KEY"] = Fernet.generate_key().decode()
    with caplog.at_level(logging.ERROR, logger="xmlcurl.fetch.configuration"):
        for params in sofia(fetch, "media-1").values():
            assert "odbc-dsn" not in params
    assert "media-1" in caplog.text and "does not decrypt" in caplog.text


def test_the_builder_adds_nothing_without_a_dsn():
    profile = ProfileConf("internal", "127.0.0.11", 5060, "no-tenant", (("auth-calls", "true"),))
    assert with_session_db(profile, None) is profile
    assert with_session_db(profile, DSN).settings == (("auth-calls", "true"), ("odbc-dsn", DSN), ("track-calls", "true"))
    assert session_db_settings("") == ()
