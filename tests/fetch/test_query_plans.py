"""Every statement a fetch sends uses an index on the tables that grow (MariaDB's EXPLAIN, on a generated data set)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from bench.dataset import sample_requests
from bench.run import NEEDS
from tests.conftest import BASE_SETTINGS, MYSQL_URL, mysql_server_engine
from xmlcurl import create_app, db
from xmlcurl.fetch.registry import handler_for
from xmlcurl.generate import GeneratorOptions, generate_dataset

#: Tables that grow with the customers; nodes and gateways stay at a few hundred rows.
GROWING = {"tenants", "tenant_nodes", "sip_users", "sip_user_variables", "routes", "dids"}
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
    unindexed = []
    with engine.connect() as conn:
        for statement, parameters in seen.items():
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters).mappings():
                if row["table"] in GROWING and (row["type"] == "ALL" or row["key"] is None):
                    unindexed.append((row["table"], row["type"], statement.split("WHERE")[-1][:160]))
    app.extensions["xmlcurl.db"].dispose()
    assert unindexed == []
