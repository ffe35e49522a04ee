"""A reference server: Flask + one SELECT (SQLAlchemy Core on PyMySQL) + lxml, the simplest database-backed answer.

The comparison the cold-path targets were set against: it parses the body, reads the user's a1-hash
and the tenant's context and code in one indexed SELECT through a pooled SQLAlchemy connection
(SQLAlchemy's defaults: a transaction and its ROLLBACK per request), and builds a directory answer
with lxml. It does none of what xmlcurl must: no node authentication, no check that the tenant is
pinned to the asking node, no caller IDs or user variables, no deadline. `python -m bench --modes
one-select` measures it beside the floor, on the directory case, so xmlcurl's cold rows can be read
against what any database-backed Flask answer costs on the same machine.
"""
import os

from flask import Flask, Response, request
from lxml import etree
from sqlalchemy import create_engine, text

from xmlcurl.fetch.xmldoc import NOT_FOUND

engine = create_engine(os.environ["XMLCURL_DATABASE_URL"], pool_size=4, pool_recycle=3600)
USER = text("SELECT u.a1_hash, t.code, t.context FROM tenants t JOIN sip_users u ON u.tenant_id = t.id "
            "WHERE t.sip_domain = :domain AND u.username = :username AND u.enabled = 1")

app = Flask(__name__)


def _params(parent: etree._Element, tag: str, child: str, items: list[tuple[str, str]]) -> None:
    container = etree.SubElement(parent, tag)
    for name, value in items:
        etree.SubElement(container, child, name=name, value=value)


@app.post("/freeswitch")
def fetch() -> Response:
    """One directory user: one SELECT, one lxml tree."""
    form = request.form
    domain, username = form.get("key_value", "").lower(), form.get("user", "")
    with engine.connect() as conn:
        row = conn.execute(USER, {"domain": domain, "username": username}).first()
    if row is None:
        return Response(NOT_FOUND, mimetype="text/xml")
    doc = etree.Element("document", type="freeswitch/xml")
    domain_element = etree.SubElement(etree.SubElement(doc, "section", name="directory"), "domain", name=domain)
    users = etree.SubElement(etree.SubElement(etree.SubElement(domain_element, "groups"), "group", name="default"),
                             "users")
    user = etree.SubElement(users, "user", id=username)
    _params(user, "params", "param", [("a1-hash", row.a1_hash), ("allow-empty-password", "false")])
    _params(user, "variables", "variable", [("user_context", row.context), ("tenant", row.code),
                                            ("accountcode", row.code)])
    return Response(etree.tostring(doc, pretty_print=True), mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response("ok\n", mimetype="text/plain")
