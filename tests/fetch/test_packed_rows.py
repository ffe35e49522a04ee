"""Packed fetch statements: one JSON array per row, read back as the values the columns hold."""
from __future__ import annotations

from sqlalchemy import text

from xmlcurl import db
from xmlcurl.fetch.packed import PackedQuery, json_list

ODD_TEXT = "quote \" backslash \\ tab\tnewline\n 中文 ☎ 😀 </x> & 'single'"

TENANT_AND_NODES = PackedQuery(
    {
        "code": "t.code",
        "name": "t.name",
        "max_calls": "t.max_calls",
        "missing": "NULL",
        "nodes": "(SELECT JSON_ARRAYAGG(JSON_ARRAY(n.name, n.cluster_port)) FROM nodes n WHERE n.name IN :names)",
    },
    "FROM tenants t WHERE t.code = :code",
    expanding=("names",),
)


def test_packed_rows_keep_text_numbers_nulls_and_nested_lists_on_every_backend(app):
    with app.app_context():
        session = db.session()
        session.execute(text("UPDATE tenants SET name = :name WHERE code = 'acme'"), {"name": ODD_TEXT})
        session.commit()
        parameters = {"code": "acme", "names": ["media-1", "router-1"]}
        for reader in (db.fetch_connection(), db.read_session()):
            [row] = TENANT_AND_NODES.rows(reader, parameters)
            assert (row.code, row.name, row.max_calls, row.missing) == ("acme", ODD_TEXT, 100, None)
            assert sorted(map(tuple, json_list(row.nodes))) == [("media-1", 5080), ("router-1", 5080)]
        assert TENANT_AND_NODES.rows(db.fetch_connection(), {**parameters, "code": "nobody"}) == []


def test_an_aggregate_of_no_rows_is_an_empty_list():
    assert json_list(None) == []
    assert json_list("[[1, \"a\"]]") == [[1, "a"]]
    assert json_list([[1, "a"]]) == [[1, "a"]]
