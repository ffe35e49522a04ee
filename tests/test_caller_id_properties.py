"""Property tests: whatever the schemas accept, the directory and dialplan builders serve unchanged.

A value the schema accepts but a builder refuses makes the user answer `not found` (FreeSWITCH then
falls back to its static files); a value a builder would alter is not what the admin stored.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from marshmallow import ValidationError

from xmlcurl import callerid
from xmlcurl.fetch.dialplan.extension import Action, check_action
from xmlcurl.fetch.dialplan.media import CallerId, build_outbound
from xmlcurl.fetch.dialplan.data import NodeInfo, TenantInfo
from xmlcurl.fetch.dialplan.numbers import NumberingPlan
from xmlcurl.fetch.directory import DirectoryDomain, DirectoryUser, build_directory
from xmlcurl.fetch.xmldoc import serialise
from xmlcurl.schemas import SipUserSchema, TenantSchema

MANY = settings(max_examples=400, deadline=None)
SCHEMA = SipUserSchema()
TENANT = TenantSchema()

#: Pieces FreeSWITCH, sofia or XML treat specially, mixed with ordinary text.
FRAGMENTS = ["X-PRE-PROCESS", "x-pre-process", "$${", "${", "}", "{", '"', "'", "<", ">", "\\", ";", ",", "|",
             "\n", "\r", "\t", "\x00", "\x7f", "\ufffe", "é", "中", " ", "-", "_", ".", "@", "+", "=", "a", "Z", "7"]
hostile_text = st.one_of(
    st.text(max_size=70),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
    st.tuples(st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=8),
              st.lists(st.sampled_from(FRAGMENTS), max_size=6).map("".join)).map("".join),
)

DOMAIN = DirectoryDomain(name="acme.example.com", tenant_code="acme", context="tenant-acme",
                         default_cid_name="Acme", default_cid_number="8657100000000")
TENANT_INFO = TenantInfo(id=1, code="acme", sip_domain="acme.example.com", context="tenant-acme", max_calls=10,
                         max_cps=5, default_cid_number=None, default_cid_name=None,
                         plan=NumberingPlan("86", "0", "00"), enabled=True)
ROUTERS = [NodeInfo("router-1", "127.0.0.10", 5080)]


def accepted(data: dict) -> dict | None:
    try:
        return SCHEMA.load(data, partial=True)
    except ValidationError:
        return None


def served_variables(user: DirectoryUser) -> tuple[str, dict[str, str]]:
    doc = etree.fromstring(serialise(build_directory(DirectoryDomain(**{**DOMAIN.__dict__, "users": (user,)}))))
    node = doc.find(".//user")
    return node.get("id"), {v.get("name"): v.get("value") for v in node.iter("variable")}


@MANY
@given(hostile_text)
def test_a_caller_id_name_the_schema_accepts_is_served_unchanged(name):
    data = accepted({"cid_name": name, "outbound_cid_name": name})
    if data is None or data["cid_name"] is None:
        return
    # The build-time check agrees with the schema: nothing accepted is dropped later.
    assert callerid.is_name(name)
    _, variables = served_variables(DirectoryUser("1000", "0" * 32, "agent", cid_name=name, outbound_cid_name=name))
    assert variables["effective_caller_id_name"] == variables["outbound_caller_id_name"] == name
    doc = build_outbound("tenant-acme", "8613800138000", "8613800138000", TENANT_INFO, CallerId(None, name), ROUTERS,
                         "router-")
    sets = [a.get("data") for a in doc.iter("action") if a.get("application") == "set"]
    assert f"effective_caller_id_name={name}" in sets
    check_action(Action("set", f"effective_caller_id_name={name}"))


@MANY
@given(hostile_text)
def test_a_variable_value_the_schema_accepts_is_served_unchanged(value):
    data = accepted({"variables": [{"name": "x_note", "value": value}]})
    if data is None:
        return
    _, variables = served_variables(DirectoryUser("1000", "0" * 32, "agent", variables=(("x_note", value),)))
    assert variables["x_note"] == value


@MANY
@given(hostile_text)
def test_a_username_the_schema_accepts_is_served_as_the_users_id(username):
    if accepted({"username": username}) is None:
        return
    user_id, variables = served_variables(DirectoryUser(username, "0" * 32, "agent"))
    assert user_id == username and variables["effective_caller_id_name"] == username


@MANY
@given(hostile_text)
def test_a_caller_id_number_the_schema_accepts_is_a_valid_number_everywhere(number):
    data = accepted({"cid_number": number})
    if data is None or data["cid_number"] is None:
        return
    assert callerid.is_number(number)
    _, variables = served_variables(DirectoryUser("1000", "0" * 32, "agent", cid_number=number))
    assert variables["effective_caller_id_number"] == number


@MANY
@given(hostile_text, hostile_text)
def test_a_tenant_the_schema_accepts_has_a_servable_domain(code, context):
    try:
        data = TENANT.load({"code": code, "context": context}, partial=True)
    except ValidationError:
        return
    domain = DirectoryDomain(name="acme.example.com", tenant_code=data["code"], context=data["context"] or "x")
    doc = etree.fromstring(serialise(build_directory(domain)))
    assert {v.get("value") for v in doc.iter("variable")} == {data["code"], data["context"] or "x"}
