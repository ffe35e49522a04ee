"""Directory answers: only the asking media node's tenants, users with a credential that FreeSWITCH checks."""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import update

from tests.conftest import captured_request, cluster_body, make_body, retarget
from xmlcurl import db
from xmlcurl.fetch.directory import DirectoryDomain, DirectoryUser, build_directory
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import SipUser, Tenant
from xmlcurl.secrets import sip_a1_hash

PINNED = {"media-1": {"acme", "initech"}, "media-2": {"globex", "initech"}, "router-1": set()}
TENANTS = ("acme", "globex", "initech")
USERS = ("1000", "1004", "2000", "2004")

ACTIONS = {
    "sip_auth": "directory-sip_auth-register",
    "sip_auth-invite": "directory-sip_auth-invite",
    "user_call": "directory-user_call",
    "user_exists": "directory-user_exists",
    "user_data": "directory-user_data",
}


def _for(node: str, tenant: str, user: str, capture: str) -> bytes:
    domain = f"{tenant}.example.com"
    body = retarget(captured_request(capture), hostname=node, key_value=domain, domain=domain, user=user)
    if b"sip_auth_username" in body:
        body = retarget(body, sip_auth_username=user, sip_auth_realm=domain)
    return body


@pytest.mark.parametrize("node", sorted(PINNED))
@pytest.mark.parametrize("tenant", TENANTS)
@pytest.mark.parametrize("capture", sorted(ACTIONS.values()))
def test_directory_answers_only_the_nodes_own_tenants(fetch, node, tenant, capture):
    for user in USERS:
        response = fetch(_for(node, tenant, user, capture), node=node)
        assert response.status_code == 200
        if tenant in PINNED[node]:
            doc = etree.fromstring(response.data)
            assert [d.get("name") for d in doc.iter("domain")] == [f"{tenant}.example.com"]
            assert [u.get("id") for u in doc.iter("user")] == [user]
            assert doc.find(".//variable[@name='tenant']").get("value") == tenant
        else:
            assert response.data == NOT_FOUND, (node, tenant, user)


def _user(response) -> etree._Element:
    return etree.fromstring(response.data).find("section[@name='directory']/domain/groups/group/users/user")


def test_user_answer_carries_the_a1_hash_of_its_password_and_no_empty_password(fetch):
    user = _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")))
    params = {p.get("name"): p.get("value") for p in user.find("params")}
    assert params == {
        "a1-hash": sip_a1_hash("1000", "acme.example.com", "pw-acme-1000"),
        "allow-empty-password": "false",
    }
    assert "password" not in params


def test_user_answer_matches_the_reference_answer_the_cluster_accepted(fetch):
    ours = etree.fromstring(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).data)
    reference = etree.parse(str(_reference("media-1_directory_sip_auth_acme-1000"))).getroot()
    def shape(doc):
        dom = doc.find("section/domain")
        user = dom.find("groups/group/users/user")
        return (
            dom.get("name"),
            {p.get("name"): p.get("value") for p in dom.find("params")},
            user.get("id"),
            {p.get("name"): p.get("value") for p in user.find("params")},
            {v.get("name"): v.get("value") for v in user.find("variables")
             if v.get("name") in {"user_context", "tenant", "accountcode", "user_kind",
                                  "effective_caller_id_number", "effective_caller_id_name"}},
        )
    assert shape(ours) == shape(reference)


def _reference(name):
    from tests.conftest import CONFORMANCE
    return CONFORMANCE / "cluster" / f"{name}.xml"


def test_user_is_cacheable_for_the_configured_milliseconds(fetch):
    user = _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")))
    assert user.get("cacheable") == "60000"


def test_user_variables_give_context_tenant_and_caller_id(fetch):
    user = _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")))
    variables = {v.get("name"): v.get("value") for v in user.find("variables")}
    assert variables["user_context"] == "tenant-acme"
    assert variables["tenant"] == variables["accountcode"] == "acme"
    assert variables["user_kind"] == "agent"
    assert variables["effective_caller_id_number"] == "1000"
    assert variables["outbound_caller_id_number"] == "8657100000000"


def test_user_own_outbound_caller_id_beats_the_tenant_default(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(SipUser).where(SipUser.username == "1000", SipUser.tenant_id == 1)
                     .values(outbound_cid_number="8657199999999", outbound_cid_name="Acme Sales"))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000"))).find("variables")}
    assert variables["outbound_caller_id_number"] == "8657199999999"
    assert variables["outbound_caller_id_name"] == "Acme Sales"


def test_robot_users_are_marked_as_robots(fetch):
    body = _for("media-1", "acme", "2001", ACTIONS["sip_auth"])
    variables = {v.get("name"): v.get("value") for v in _user(fetch(body)).find("variables")}
    assert variables["user_kind"] == "robot"


def test_disabled_user_is_not_found(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(SipUser).where(SipUser.username == "1000", SipUser.tenant_id == 1).values(enabled=False))
        sess.commit()
    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).data == NOT_FOUND


def test_disabled_tenant_is_not_found(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Tenant).where(Tenant.code == "acme").values(enabled=False))
        sess.commit()
    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).data == NOT_FOUND


def test_unknown_user_of_a_pinned_tenant_is_not_found(fetch):
    assert fetch(_for("media-1", "acme", "9999", ACTIONS["sip_auth"])).data == NOT_FOUND


def test_domain_parameter_that_disagrees_with_the_key_is_not_found(fetch):
    body = retarget(cluster_body("media-1_directory_sip_auth_acme-1000"), domain="globex.example.com")
    assert fetch(body).data == NOT_FOUND


def test_domain_lookup_answers_the_domain_without_users(fetch):
    body = retarget(captured_request("directory-xml_locate-domain"), hostname="media-1", key_value="acme.example.com")
    doc = etree.fromstring(fetch(body).data)
    assert doc.find("section/domain").get("name") == "acme.example.com"
    assert list(doc.iter("user")) == []


def test_domain_lookup_of_another_nodes_tenant_is_not_found(fetch):
    body = retarget(captured_request("directory-xml_locate-domain"), hostname="media-1", key_value="globex.example.com")
    assert fetch(body).data == NOT_FOUND


@pytest.mark.parametrize("capture", ["directory-purpose-gateways", "directory-purpose-network-list",
                                     "directory-reverse-auth-lookup"])
def test_lookups_xmlcurl_keeps_nothing_for_are_not_found(fetch, capture):
    body = retarget(captured_request(capture), hostname="media-1")
    if b"key_value=127" in body or b"key_value=example.com" in body:
        body = retarget(body, key_value="acme.example.com")
    assert fetch(body).data == NOT_FOUND


def test_address_as_domain_is_not_found(fetch):
    body = retarget(captured_request("directory-sip_auth-invite-from-freeswitch"), hostname="media-1")
    assert fetch(body).data == NOT_FOUND


def test_unknown_lookup_key_is_not_found(fetch):
    body = make_body("media-1", "directory", "domain", "name", "acme.example.com", key="mailbox", user="1000")
    assert fetch(body).data == NOT_FOUND


@pytest.mark.parametrize("action", ["message-count", "voicemail-lookup"])
def test_voicemail_lookups_get_the_user(fetch, action):
    body = make_body("media-1", "directory", "domain", "name", "acme.example.com",
                     action=action, key="id", user="1002", domain="acme.example.com")
    assert _user(fetch(body)).get("id") == "1002"


def test_builder_never_sends_a_user_without_a_credential():
    domain = DirectoryDomain("a.example.com", "a", "tenant-a", users=(DirectoryUser("1", "", "agent"),))
    with pytest.raises(ValueError, match="a1-hash"):
        build_directory(domain)


def test_builder_without_cacheable_leaves_the_attribute_off():
    domain = DirectoryDomain("a.example.com", "a", "tenant-a", users=(DirectoryUser("1", "0" * 32, "agent"),))
    assert build_directory(domain, cacheable_ms=0).find(".//user").get("cacheable") is None


def test_domain_is_matched_without_regard_to_case_as_freeswitch_does(fetch):
    body = retarget(cluster_body("media-1_directory_sip_auth_acme-1000"), key_value="ACME.Example.com",
                    domain="ACME.Example.com")
    assert _user(fetch(body)).get("id") == "1000"
