"""Every statement a fetch sends uses an index on the tables that grow (MariaDB's EXPLAIN, on a generated data set)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from bench.dataset import sample_requests
from bench.run import NEEDS
from tests.conftest import BASE_SETTINGS, MYSQL_URL, mysql_server_engine
from xmlcurl import create_app, db
from xmlcurl.fetch.registry import handler_for
from xmlcurl.generate import GeneratorOptions, generate_dataset

#: Tables that grow with the customers; nodes and gateways stay at a few hundred rows.
GROWING = {"tenants", "tenant_nodes", "sip_users", "sip_user_variables", "routes", "dids", "approved_caller_ids",
           "presentable_numbers"}
#: A table named in FROM or JOIN, with its alias (EXPLAIN names a table by its alias).
_TABLE = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)"
                    r"(?:\s+(?:AS\s+)?(?!(?:ON|WHERE|JOIN|LEFT|INNER|USING|GROUP|ORDER|LIMIT)\b)(\w+))?", re.IGNORECASE)


def unindexed_reads(conn, seen: dict[str, dict]) -> list[tuple]:
    """The growing tables each recorded SELECT (or WITH ... SELECT) reads without an index, by EXPLAIN."""
    found = []
    for statement, parameters in seen.items():
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        tables = {alias or table: table for table, alias in _TABLE.findall(statement)}
        for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters).mappings():
            table = tables.get(row["table"], row["table"])
            # `const` without a key: a unique lookup MariaDB found impossible (a NULL username), read nothing.
            keyless = row["key"] is None and row["type"] not in ("const", "system")
            if table in GROWING and (row["type"] == "ALL" or keyless):
                found.append((table, row["type"], statement.split("WHERE")[-1][:160]))
    return found
OPTIONS = GeneratorOptions(tenants=40, users=4000, routes=1500, dids=400, routers=2, media=4, gateways=8, seed=3)


@pytest.fixture(scope="module")
def generated_url() -> str:
    url = MYSQL_URL + "_plans"
    engine = mysql_server_engine(url)
    db.drop_all(engine)
    db.create_schema(engine)
    generate_dataset(engine, OPTIONS, progress=False)
    engine.dispose()
    return url


@pytest.mark.mysql
def test_fetch_statements_use_an_index_on_every_growing_table(generated_url):
    app = create_app({**BASE_SETTINGS, "DATABASE_URL": generated_url, "CACHE": False})
    engine = app.extensions["xmlcurl.db"].read_engine
    cases = [case for case, needs in NEEDS.items() if handler_for(*needs) is not None]
    requests = sample_requests(engine, cases, 20)
    seen: dict[str, dict] = {}

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.setdefault(statement, parameters)

    event.listen(engine, "before_cursor_execute", record)
    client = app.test_client()
    try:
        for case in cases:
            for request in requests[case]:
                response = client.post("/freeswitch", data=request.body, content_type="application/x-www-form-urlencoded",
                                       headers={"Authorization": request.authorization})
                assert response.status_code == 200, (case, response.data[:200])
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen
    with engine.connect() as conn:
        unindexed = unindexed_reads(conn, seen)
    app.extensions["xmlcurl.db"].dispose()
    assert unindexed == []


@pytest.mark.mysql
def test_calls_between_media_nodes_and_their_acl_use_an_index_on_every_growing_table(generated_url):
    from sqlalchemy import select

    from bench.dataset import _authorization
    from tests.conftest import cluster_body, retarget
    from xmlcurl.models import Node, SipUser, Tenant, TenantNode

    app = create_app({**BASE_SETTINGS, "DATABASE_URL": generated_url, "CACHE": False})
    engine = app.extensions["xmlcurl.db"].read_engine
    with engine.connect() as conn:
        pins = conn.execute(select(TenantNode.tenant_id, Node.name, Node.sip_address)
                            .join(Node, Node.id == TenantNode.node_id).order_by(TenantNode.tenant_id, Node.name)).all()
        media = list(conn.scalars(select(Node.name).where(Node.role == "media")))
        by_tenant: dict[int, list] = {}
        for pin in pins:
            by_tenant.setdefault(pin.tenant_id, []).append(pin)
        tenant_id, (first, second, *_) = next((t, p) for t, p in by_tenant.items() if len(p) >= 2)
        tenant = conn.execute(select(Tenant.code, Tenant.context).where(Tenant.id == tenant_id)).one()
        username = conn.scalar(select(SipUser.username).where(SipUser.tenant_id == tenant_id).limit(1))
    call = {"Hunt-Context": tenant.context, "Caller-Context": tenant.context, "variable_user_name": "",
            "Hunt-Destination-Number": username, "Caller-Destination-Number": username, "variable_tenant": tenant.code}
    forwarded = {"Hunt-Destination-Number": username, "Caller-Destination-Number": username,
                 "variable_sip_network_ip": first.sip_address, "variable_sip_h_X-Tenant": tenant.code}
    requests = [(retarget(cluster_body("media-1_acl.conf"), hostname=name), name) for name in media]
    requests += [(retarget(cluster_body("media-1_dialplan_acme-outbound"), hostname=first.name, **call), first.name),
                 (retarget(cluster_body("media-1_dialplan_from-router_did"), hostname=second.name, **forwarded),
                  second.name)]
    seen: dict[str, dict] = {}

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.setdefault(statement, parameters)

    event.listen(engine, "before_cursor_execute", record)
    client = app.test_client()
    try:
        answers = []
        for body, node in requests:
            response = client.post("/freeswitch", data=body, content_type="application/x-www-form-urlencoded",
                                   headers={"Authorization": _authorization(node)})
            assert response.status_code == 200
            answers.append(response.data)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert b"sofia/cluster/" in answers[-2] and f"user/{username}@".encode() in answers[-1]
    with engine.connect() as conn:
        unindexed = unindexed_reads(conn, seen)
    app.extensions["xmlcurl.db"].dispose()
    assert unindexed == []


@pytest.mark.mysql
def test_a_user_read_against_a_domain_the_worker_already_found_uses_an_index(generated_url):
    from sqlalchemy import select

    from bench.bodies import CAPTURES, captured, derive
    from bench.dataset import _authorization
    from xmlcurl.models import Node, SipUser, Tenant, TenantNode

    app = create_app({**BASE_SETTINGS, "DATABASE_URL": generated_url})  # the cache on: the domain is kept
    engine = app.extensions["xmlcurl.db"].read_engine
    with engine.connect() as conn:
        tenant_id, node = conn.execute(select(TenantNode.tenant_id, Node.name).join(Node, Node.id == TenantNode.node_id)
                                       .order_by(TenantNode.tenant_id, Node.name).limit(1)).one()
        domain = conn.scalar(select(Tenant.sip_domain).where(Tenant.id == tenant_id))
        users = list(conn.scalars(select(SipUser.username).where(SipUser.tenant_id == tenant_id).limit(2)))
    seen: dict[str, dict] = {}

    def record(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        seen.setdefault(statement, parameters)

    client = app.test_client()
    answers = []
    for index, username in enumerate(users):
        if index == 1:
            event.listen(engine, "before_cursor_execute", record)
        body = derive(captured(CAPTURES["directory sip_auth"]), domain=domain, user=username, media=node)
        response = client.post("/freeswitch", data=body, content_type="application/x-www-form-urlencoded",
                               headers={"Authorization": _authorization(node)})
        answers.append(response.data)
    event.remove(engine, "before_cursor_execute", record)
    assert all(f'<user id="{u}"'.encode() in answer for u, answer in zip(users, answers)), answers
    statements = [s for s in seen if "sip_users" in s]
    assert len(statements) == 1 and "tenant_nodes" not in statements[0], seen
    with engine.connect() as conn:
        unindexed = unindexed_reads(conn, seen)
    app.extensions["xmlcurl.db"].dispose()
    assert unindexed == []
