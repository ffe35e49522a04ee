"""Scaling out on MySQL: the fetch path reads from a replica, several instances stay consistent."""
from __future__ import annotations

import time

import pytest
from lxml import etree

from tests.conftest import BASE_SETTINGS, basic_auth, cluster_body
from tests.mariadb_server import PrivateMariaDB, require_binaries
from tests.waiting import eventually
from xmlcurl import create_app, db
from xmlcurl.seed import DEMO_SQL, load_sql_file

pytestmark = pytest.mark.mysql
SIP_AUTH = cluster_body("media-1_directory_sip_auth_acme-1000")


@pytest.fixture(scope="module")
def primary_and_replica(tmp_path_factory):
    require_binaries()
    root = tmp_path_factory.mktemp("replication")
    primary = PrivateMariaDB(root / "primary", server_id=1).install().start()
    replica = PrivateMariaDB(root / "replica", server_id=2).install().start()
    try:
        replica.replicate_from(primary)
        primary.execute("CREATE DATABASE xmlcurl CHARACTER SET utf8mb4")
        engine = db.make_engine(primary.url, {"DB_POOL_SIZE": 2, "DB_POOL_RECYCLE": 60,
                                              "DB_CONNECT_TIMEOUT": 2, "DB_READ_TIMEOUT": 5})
        db.create_schema(engine)
        load_sql_file(engine, DEMO_SQL)
        engine.dispose()
        wait_replicated(primary, replica)
        yield primary, replica
    finally:
        replica.stop()
        primary.stop()


def config_version(server: PrivateMariaDB) -> int | None:
    try:
        rows = server.execute("SELECT version FROM config_version WHERE id = 1", database="xmlcurl")
    except Exception:  # noqa: BLE001 - the replica may not have the table yet
        return None
    return rows[0][0] if rows else None


def wait_replicated(primary: PrivateMariaDB, replica: PrivateMariaDB, timeout: float = 20) -> None:
    wanted = config_version(primary)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if config_version(replica) == wanted:
            return
        time.sleep(0.1)
    raise AssertionError(f"replica did not reach config version {wanted}")


def outbound_caller_id(client) -> str:
    response = client.post("/freeswitch", data=SIP_AUTH, headers=basic_auth("media-1", "media-1-secret"),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    doc = etree.fromstring(response.data)
    return doc.find(".//variable[@name='outbound_caller_id_number']").get("value")



def test_two_instances_on_primary_and_replica_serve_a_change_once_replicated(primary_and_replica):
    primary, replica = primary_and_replica
    settings = {**BASE_SETTINGS, "DATABASE_URL": primary.url, "READ_DATABASE_URL": replica.url}
    instances = [create_app(settings).test_client() for _ in range(2)]
    try:
        assert [outbound_caller_id(c) for c in instances] == ["8657100000000"] * 2

        # With replication paused, a change on the primary is not served: fetches read the replica.
        replica.execute("STOP SLAVE")
        primary.execute("UPDATE tenants SET default_cid_number = '8610000001' WHERE code = 'acme'",
                        database="xmlcurl")
        time.sleep(1.0)
        assert [outbound_caller_id(c) for c in instances] == ["8657100000000"] * 2

        replica.execute("START SLAVE")
        wait_replicated(primary, replica)
        for client in instances:
            assert eventually(lambda c=client: outbound_caller_id(c) == "8610000001", timeout=5.0)
    finally:
        for client in instances:
            client.application.extensions["xmlcurl.db"].dispose()
