"""Directory answers: only the asking media node's tenants, users with a credential that FreeSWITCH checks."""
from __future__ import annotations

import pytest
from lxml import etree
from sqlalchemy import insert, select, update

from tests.conftest import captured_request, cluster_body, make_body, retarget
from xmlcurl import db
from xmlcurl.fetch.directory import DirectoryDomain, DirectoryUser, build_directory
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import ApprovedCallerId, SipUser, SipUserVariable, Tenant
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
        body = retarget(body, sip_auth_username=user, sip_auth_realm=domain, sip_from_host=domain)
    if b"sip_auth_method=REGISTER" in body:
        body = retarget(body, sip_to_host=domain)
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


def test_user_is_cacheable_for_the_configured_milliseconds():
    domain = DirectoryDomain("a.example.com", "a", "tenant-a", users=(DirectoryUser("1", "0" * 32, "agent"),))
    assert build_directory(domain, cacheable_ms=60000).find(".//user").get("cacheable") == "60000"


def test_user_is_not_cacheable_by_default_so_every_auth_is_checked_here(fetch):
    user = _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")))
    assert user.get("cacheable") is None


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
        sess.execute(insert(ApprovedCallerId).values(tenant_id=1, number="8657199999999"))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000"))).find("variables")}
    assert variables["outbound_caller_id_number"] == "8657199999999"
    assert variables["outbound_caller_id_name"] == "Acme Sales"


HOSTILE_NAMES = ['x" <sip:boss@evil.test>;', "Boss\\", "<sip:a@b>", "Name\r\nVia: evil", "${hostname}",
                 "X-PRE-PROCESS", "a,b|c", "\"quoted\""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_stored_caller_id_that_would_break_the_from_header_is_left_out_and_the_user_still_served(app, fetch, name,
                                                                                                   caplog):
    with app.app_context():
        sess = db.session()
        sess.execute(update(SipUser).where(SipUser.username == "1000", SipUser.tenant_id == 1).values(
            cid_name=name, outbound_cid_name=name, cid_number="8657100000000\n", outbound_cid_number="1 OR 1"))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000"))).find("variables")}
    assert variables["effective_caller_id_name"] == variables["effective_caller_id_number"] == "1000"
    assert variables["outbound_caller_id_name"] == "Acme"
    assert variables["outbound_caller_id_number"] == "8657100000000"
    assert "stored cid_name is not a valid caller ID name" in caplog.text
    assert "stored cid_number is not a valid caller ID number" in caplog.text


def test_stored_numbers_not_approved_for_the_tenant_are_left_out_of_the_directory(app, fetch, caplog):
    with app.app_context():
        sess = db.session()
        # globex's DID, and a number nobody approved.
        sess.execute(update(SipUser).where(SipUser.username == "1000", SipUser.tenant_id == 1)
                     .values(cid_number="8610000002", outbound_cid_number="8657199999999"))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000"))).find("variables")}
    assert variables["effective_caller_id_number"] == "1000"
    assert variables["outbound_caller_id_number"] == "8657100000000"
    assert "stored cid_number 8610000002 is not approved" in caplog.text


def test_a_variable_value_that_cannot_be_served_is_left_out_and_the_user_still_served(app, fetch):
    with app.app_context():
        sess = db.session()
        user_id = sess.scalar(select(SipUser.id).where(SipUser.username == "1000", SipUser.tenant_id == 1))
        sess.execute(insert(SipUserVariable).values(user_id=user_id, name="x_bad", value="X-PRE-PROCESS"))
        sess.execute(insert(SipUserVariable).values(user_id=user_id, name="x_good", value="fine"))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000"))).find("variables")}
    assert variables["x_good"] == "fine" and "x_bad" not in variables


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


# --- user variables: allow-listed, reserved names in any case -----------------------------------

def _store_variables(app, pairs):
    """Variables stored by plain SQL, as a script or an old release could have left them."""
    from sqlalchemy import text
    with app.app_context():
        sess = db.session()
        user_id = sess.scalar(select(SipUser.id).where(SipUser.username == "1000", SipUser.tenant_id == 1))
        for name, value in pairs:
            sess.execute(text("INSERT INTO sip_user_variables (user_id, name, value) VALUES (:u, :n, :v)"),
                         {"u": user_id, "n": name, "v": value})
        sess.commit()


def test_directory_skips_variables_outside_the_allow_list_stored_by_sql(app, fetch, caplog):
    _store_variables(app, [("api_hangup_hook", "system touch /tmp/pwned"), ("execute_on_answer", "system id"),
                           ("USER_CONTEXT", "tenant-initech"), ("X_Campaign", "spring"), ("toll_allow", "local")])
    with caplog.at_level("WARNING", logger="xmlcurl.fetch.directory"):
        user = _user(fetch(cluster_body("media-1_directory_sip_auth_acme-1000")))
    variables = [(v.get("name"), v.get("value")) for v in user.find("variables")]
    names = {name.lower() for name, _ in variables}
    assert not names & {"api_hangup_hook", "execute_on_answer"}
    assert [value for name, value in variables if name.lower() == "user_context"] == ["tenant-acme"]
    assert ("X_Campaign", "spring") in variables and ("toll_allow", "local") in variables
    assert "USER_CONTEXT, api_hangup_hook, execute_on_answer" in caplog.text


@pytest.mark.parametrize("name, allowed", [
    ("x_campaign", True), ("X_CAMPAIGN", True), ("toll_allow", True), ("Language", True),
    ("api_hangup_hook", False), ("execute_on_answer", False), ("USER_CONTEXT", False), ("Tenant", False),
    ("x", False), ("hold_music", False),
])
def test_variable_allow_list_ignores_case(name, allowed):
    from xmlcurl.fetch.directory import is_allowed_variable
    assert is_allowed_variable(name) is allowed


# --- sip_auth: the SIP hosts must be the domain asked for ---------------------------------------

def _register(**hosts):
    return retarget(cluster_body("media-1_directory_sip_auth_acme-1000"), **hosts)


def test_register_with_the_to_host_of_another_tenant_is_answered_without_the_user(fetch):
    # acme's 1000 authenticates in acme's realm but asks to be filed under initech's domain.
    body = _register(key_value="initech.example.com", domain="initech.example.com",
                     sip_auth_realm="initech.example.com", sip_to_host="acme.example.com",
                     sip_from_host="initech.example.com")
    doc = etree.fromstring(fetch(body).data)
    assert doc.find("section/domain").get("name") == "initech.example.com"
    assert list(doc.iter("user")) == []


def test_register_to_another_tenants_to_host_in_its_own_realm_is_answered_without_the_user(fetch):
    body = _register(sip_to_host="initech.example.com")
    doc = etree.fromstring(fetch(body).data)
    assert doc.find("section/domain").get("name") == "acme.example.com"
    assert list(doc.iter("user")) == []


def test_register_with_a_foreign_from_host_is_answered_without_the_user(fetch):
    doc = etree.fromstring(fetch(_register(sip_from_host="initech.example.com")).data)
    assert list(doc.iter("user")) == []


def test_register_with_its_own_hosts_in_any_case_gets_the_user(fetch):
    body = _register(sip_to_host="ACME.example.COM", sip_from_host="Acme.Example.Com")
    assert _user(fetch(body)).get("id") == "1000"


def test_invite_with_a_foreign_from_host_is_answered_without_the_user(fetch):
    body = _for("media-1", "acme", "1000", ACTIONS["sip_auth-invite"])
    assert _user(fetch(body)).get("id") == "1000"
    doc = etree.fromstring(fetch(retarget(body, sip_from_host="initech.example.com")).data)
    assert doc.find("section/domain").get("name") == "acme.example.com"
    assert list(doc.iter("user")) == []


def test_invite_to_another_domain_from_its_own_is_answered_with_the_user(fetch):
    body = retarget(_for("media-1", "acme", "1000", ACTIONS["sip_auth-invite"]), sip_to_host="example.org")
    assert _user(fetch(body)).get("id") == "1000"


def test_register_carrying_a_caller_header_twice_is_answered_with_the_user(fetch):
    # sofia copies each X-* header of the REGISTER into the fetch, repeats included.
    from tests.fetch.test_request import with_repeated_caller_header

    body = with_repeated_caller_header(_for("media-1", "acme", "1000", ACTIONS["sip_auth"]))
    response = fetch(body)
    assert response.status_code == 200
    assert _user(response).get("id") == "1000"


# --- a user read against a domain the worker already found (directory.USER_QUERY) ---------------

def _dress_acme_users(app) -> None:
    """acme's 1001 with caller IDs (its own DID, globex's DID) and variables (one not allowed); 1002 disabled."""
    with app.app_context():
        sess = db.session()
        sess.execute(update(SipUser).where(SipUser.username == "1001", SipUser.tenant_id == 1).values(
            cid_name="Front Desk", cid_number="8610000001", outbound_cid_name="Acme Sales",
            outbound_cid_number="8610000002"))
        sess.execute(update(SipUser).where(SipUser.username == "1002", SipUser.tenant_id == 1).values(enabled=False))
        user_id = sess.scalar(select(SipUser.id).where(SipUser.username == "1001", SipUser.tenant_id == 1))
        for name, value in (("x_team", "blue"), ("api_hangup_hook", "system rm -rf /"), ("language", "en")):
            sess.execute(insert(SipUserVariable).values(user_id=user_id, name=name, value=value))
        sess.commit()


@pytest.mark.parametrize("user", ["1001", "1002", "1003", "2004", "9999"])
def test_a_user_read_against_a_domain_the_worker_already_found_gets_the_cold_answer(app, fetch, user):
    from tests.fetch.test_query_counts import statements

    _dress_acme_users(app)
    with app.app_context():  # 1003 without a credential: never served
        sess = db.session()
        sess.execute(update(SipUser).where(SipUser.username == "1003", SipUser.tenant_id == 1).values(a1_hash=""))
        sess.commit()
    body = _for("media-1", "acme", user, ACTIONS["sip_auth"])
    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).status_code == 200  # keeps acme's domain
    with statements(app) as seen:
        kept = fetch(body)
    assert [s for s in seen if "sip_users" in s and "tenant_nodes" not in s], seen  # read with USER_QUERY
    app.extensions["xmlcurl.cache"] = None  # XMLCURL_CACHE=off: the statement that reads tenant and user
    cold = fetch(body)
    assert kept.status_code == cold.status_code == 200
    assert kept.data == cold.data
    if user == "1001":
        variables = {v.get("name"): v.get("value") for v in _user(kept).find("variables")}
        assert variables["effective_caller_id_number"] == "8610000001"  # acme's own DID
        assert variables["outbound_caller_id_number"] == "8657100000000"  # globex's DID left out: the default
        assert variables["outbound_caller_id_name"] == "Acme Sales"
        assert variables["x_team"] == "blue" and variables["language"] == "en"
        assert "api_hangup_hook" not in variables
    elif user == "2004":
        assert {v.get("name"): v.get("value") for v in _user(kept).find("variables")}["user_kind"] == "robot"
    else:  # disabled, without a credential, unknown
        assert kept.data == NOT_FOUND


def test_a_kept_domain_is_dropped_when_its_tenant_is_unpinned_from_the_node(app, fetch):
    from xmlcurl.models import TenantNode

    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).status_code == 200
    with app.app_context():
        sess = db.session()
        sess.execute(TenantNode.__table__.delete().where(TenantNode.tenant_id == 1, TenantNode.node_id == 2))
        sess.commit()
    assert fetch(_for("media-1", "acme", "1001", ACTIONS["sip_auth"])).data == NOT_FOUND


def test_a_kept_domain_is_dropped_when_its_tenant_is_disabled_or_loses_its_default_number(app, fetch):
    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).status_code == 200
    with app.app_context():
        sess = db.session()
        sess.execute(ApprovedCallerId.__table__.delete().where(ApprovedCallerId.tenant_id == 1))
        sess.commit()
    variables = {v.get("name"): v.get("value")
                 for v in _user(fetch(_for("media-1", "acme", "1001", ACTIONS["sip_auth"]))).find("variables")}
    assert "outbound_caller_id_number" not in variables  # the default is no longer approved
    with app.app_context():
        sess = db.session()
        sess.execute(update(Tenant).where(Tenant.code == "acme").values(enabled=False))
        sess.commit()
    assert fetch(_for("media-1", "acme", "1003", ACTIONS["sip_auth"])).data == NOT_FOUND


def test_while_the_worker_cannot_follow_changes_a_user_is_read_with_its_pinning(app, fetch):
    from tests.fetch.test_query_counts import statements
    from xmlcurl.fetch.cache import fetch_cache

    assert fetch(cluster_body("media-1_directory_sip_auth_acme-1000")).status_code == 200
    cache = fetch_cache(app)
    cache._poll_due = float("inf")  # no poll clears what is set below
    cache.degraded = True  # as after a failed poll: a change to the pinning could be missed
    with statements(app) as seen:
        assert fetch(_for("media-1", "acme", "1001", ACTIONS["sip_auth"])).status_code == 200
    assert [s for s in seen if "tenant_nodes" in s], seen
