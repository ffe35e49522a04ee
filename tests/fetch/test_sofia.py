"""sofia.conf: each role's profiles and gateways, as a real cluster accepted them, and what sofia would drop left out."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import insert, update

from tests.conftest import CONFORMANCE, captured_request, cluster_body, retarget
from tests.freeswitch_rules import assert_freeswitch_can_read
from xmlcurl import db
from xmlcurl.fetch.configuration.sofia import GatewayConf, ProfileConf, build_sofia, gateway_params, host_port
from xmlcurl.fetch.xmldoc import NOT_FOUND
from xmlcurl.models import Gateway, Node
from tests.fetch.test_reference_answers import reference

REFERENCES = {
    "media-1_sofia.conf": "media-1",
    "media-1_sofia.conf_profile-internal": "media-1",
    "router-1_sofia.conf": "router-1",
    "router-1_sofia.conf_profile-carrier": "router-1",
}
# Text the reference server chose for itself; nothing FreeSWITCH acts on.
INCIDENTAL = {"user-agent-string"}


def _params(parent: etree._Element | None) -> dict[str, str | tuple[str, ...]]:
    """name -> value; a name given several times (sofia reads each `apply-inbound-acl`) -> its values in order."""
    out: dict[str, str | tuple[str, ...]] = {}
    for p in [] if parent is None else parent.findall("param"):
        name, value = p.get("name"), p.get("value")
        if name in out:
            before = out[name]
            out[name] = (*(before if isinstance(before, tuple) else (before,)), value)
        else:
            out[name] = value
    return out


def shape(xml: bytes) -> dict:
    """What FreeSWITCH reads from a sofia.conf answer: profiles, their settings and gateways with params."""
    doc = assert_freeswitch_can_read(xml)
    conf = doc.find("section[@name='configuration']/configuration[@name='sofia.conf']")
    assert conf is not None
    profiles = {}
    for profile in conf.findall("profiles/profile"):
        settings = {k: v for k, v in _params(profile.find("settings")).items() if k not in INCIDENTAL}
        gateways = {g.get("name"): _params(g) for g in profile.findall("gateways/gateway")}
        assert profile.find("domains") is not None
        profiles[profile.get("name")] = {"settings": settings, "gateways": gateways}
    return {"global": _params(conf.find("global_settings")), "profiles": profiles}


def _profiles(response) -> dict:
    assert response.status_code == 200
    return shape(response.data)["profiles"]


# --- against the answers a real cluster accepted ---------------------------------------------------

@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_answer_matches_what_the_real_cluster_accepted(fetch, name):
    response = fetch(cluster_body(name), node=REFERENCES[name])
    expected = shape(reference(name))
    assert shape(response.data) == expected
    # Profile order as in the reference (the users profile comes up first).
    assert list(shape(response.data)["profiles"]) == list(expected["profiles"])


@pytest.mark.parametrize("node", ["media-1", "media-2", "router-1"])
def test_captured_load_request_gets_every_profile_of_the_node(fetch, node):
    profiles = _profiles(fetch(retarget(captured_request("config-sofia.conf-load"), hostname=node), node=node))
    assert list(profiles) == (["internal", "cluster"] if node.startswith("media") else ["cluster", "carrier"])


@pytest.mark.parametrize("capture", ["config-sofia.conf-profile", "config-sofia.conf-rescan"])
def test_captured_profile_and_rescan_requests_get_only_that_profile(fetch, capture):
    body = retarget(captured_request(capture), hostname="media-2")
    profiles = _profiles(fetch(body, node="media-2"))
    assert list(profiles) == ["internal"]
    assert profiles["internal"]["settings"]["sip-ip"] == "127.0.0.12"
    cluster = _profiles(fetch(retarget(body, profile="cluster"), node="media-2"))
    assert list(cluster) == ["cluster"] and list(cluster["cluster"]["gateways"]) == ["router-router-1"]


@pytest.mark.parametrize("node, profile", [("media-1", "carrier"), ("router-1", "internal"), ("media-1", "nope"),
                                           ("router-1", "Carrier")])
def test_a_profile_the_node_does_not_have_is_not_found(fetch, node, profile):
    body = retarget(cluster_body("media-1_sofia.conf_profile-internal"), hostname=node, profile=profile)
    assert fetch(body, node=node).data == NOT_FOUND


def test_media_node_users_profile_requires_authentication(fetch):
    internal = _profiles(fetch(cluster_body("media-1_sofia.conf")))["internal"]["settings"]
    assert internal["auth-calls"] == "true" and internal["challenge-realm"] == "auto_from"
    assert internal["accept-blind-reg"] == internal["accept-blind-auth"] == "false"
    assert internal["inbound-reg-force-matching-username"] == "true"
    assert internal["context"] == "no-tenant"


def test_cluster_and_carrier_profiles_admit_only_their_acl(fetch):
    media = _profiles(fetch(cluster_body("media-1_sofia.conf")))
    router = _profiles(fetch(cluster_body("router-1_sofia.conf"), node="router-1"))
    # A media node's cluster profile takes calls from the routers and from the media nodes sharing a tenant with it.
    for settings, acl in ((media["cluster"]["settings"], ("routers", "media-peers")),
                          (router["cluster"]["settings"], "media-nodes"),
                          (router["carrier"]["settings"], "carriers")):
        assert settings["auth-calls"] == "false" and settings["disable-register"] == "true"
        assert settings["apply-inbound-acl"] == acl


def test_disabled_router_gets_no_gateway_on_media_nodes(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.add(Node(name="router-2", role="router", sip_address="127.0.0.13", http_username="router-2",
                      http_secret_hash="x"))
        sess.commit()
    gateways = _profiles(fetch(cluster_body("media-1_sofia.conf")))["cluster"]["gateways"]
    assert gateways["router-router-2"]["proxy"] == "127.0.0.13:5080"
    with app.app_context():
        sess = db.session()
        sess.execute(update(Node).where(Node.name == "router-2").values(enabled=False))
        sess.commit()
    assert list(_profiles(fetch(cluster_body("media-1_sofia.conf")))["cluster"]["gateways"]) == ["router-router-1"]


def test_disabled_gateway_is_left_out_of_the_carrier_profile(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.execute(update(Gateway).where(Gateway.name == "carrier-a").values(enabled=False))
        sess.commit()
    body = cluster_body("router-1_sofia.conf_profile-carrier")
    assert list(_profiles(fetch(body, node="router-1"))["carrier"]["gateways"]) == ["carrier-b"]


def test_registering_gateway_carries_its_credentials_and_timers(app, fetch):
    with app.app_context():
        sess = db.session()
        sess.add(Gateway(name="carrier-reg", proxy="sip.example.net", realm="example.net", username="acct",
                         password="s3cret", register=True, expire_seconds=600, retry_seconds=45, ping_seconds=20,
                         transport="tcp", caller_id_in_from=False))
        sess.commit()
    gateway = _profiles(fetch(cluster_body("router-1_sofia.conf_profile-carrier"), node="router-1"))["carrier"]["gateways"]["carrier-reg"]
    assert gateway == {
        "proxy": "sip.example.net", "register": "true", "realm": "example.net", "username": "acct",
        "password": "s3cret", "expire-seconds": "600", "retry-seconds": "45", "caller-id-in-from": "false",
        "ping": "20", "register-transport": "tcp",
    }


def test_stored_gateway_with_preprocessor_text_is_skipped_and_logged(app, fetch, caplog):
    with app.app_context():
        sess = db.session()
        sess.add(Gateway(name="carrier-evil", proxy="127.0.0.30", username="u", password="$${hostname}"))
        sess.add(Gateway(name="carrier-bad name", proxy="127.0.0.31"))
        sess.commit()
    with caplog.at_level(logging.WARNING, logger="xmlcurl.fetch.configuration"):
        response = fetch(cluster_body("router-1_sofia.conf_profile-carrier"), node="router-1")
    assert list(_profiles(response)["carrier"]["gateways"]) == ["carrier-a", "carrier-b"]
    assert b"$${" not in response.data
    assert "carrier-evil" in caplog.text and "carrier-bad name" in caplog.text


def test_other_configuration_files_are_left_to_the_node(fetch):
    for name in ("console.conf", "switch.conf", "SOFIA.CONF", "sofia.conf.xml", ""):
        assert fetch(retarget(cluster_body("media-1_acl.conf"), key_value=name)).data == NOT_FOUND
    assert fetch(retarget(cluster_body("media-1_sofia.conf"), key_name="id")).data == NOT_FOUND


def test_profile_names_and_contexts_follow_the_settings(app, fetch):
    app.config["XMLCURL"].update(CARRIER_PROFILE="external", FROM_CARRIER_CONTEXT="public-in")
    body = retarget(cluster_body("router-1_sofia.conf_profile-carrier"), profile="external")
    profiles = _profiles(fetch(body, node="router-1"))
    assert list(profiles) == ["external"]
    assert profiles["external"]["settings"]["context"] == "public-in"
    assert list(profiles["external"]["gateways"]) == ["carrier-a", "carrier-b"]


def test_carrier_profile_with_5000_gateways_stays_under_the_answer_limit(app, fetch, capsys):
    rows = [{"name": f"carrier-{i:05d}", "proxy": f"198.51.{i // 250}.{i % 250 + 1}:5060",
             "source_cidrs": f"198.51.{i // 250}.{i % 250 + 1}/32"} for i in range(5000)]
    with app.app_context():
        sess = db.session()
        sess.execute(insert(Gateway), rows)
        sess.commit()
    started = time.perf_counter()
    response = fetch(cluster_body("router-1_sofia.conf_profile-carrier"), node="router-1")
    cold_ms = (time.perf_counter() - started) * 1000
    gateways = _profiles(response)["carrier"]["gateways"]
    assert len(gateways) == 5002
    size = len(response.data)
    with capsys.disabled():
        print(f"\n  carrier profile with 5,002 gateways: {size} bytes ({size / 1048576:.0%} of mod_xml_curl's 1 MiB), "
              f"{cold_ms:.0f} ms cold")
    assert size < 0.85 * 1024 * 1024


def test_an_answer_over_mod_xml_curls_limit_is_logged(fetch, monkeypatch, caplog):
    from xmlcurl.fetch import configuration

    monkeypatch.setattr(configuration, "LARGE_ANSWER_GATEWAYS", 0)
    monkeypatch.setattr(configuration, "MAX_ANSWER_BYTES", 1000)
    with caplog.at_level(logging.ERROR, logger="xmlcurl.fetch.configuration"):
        fetch(cluster_body("router-1_sofia.conf_profile-carrier"), node="router-1")
    assert "over mod_xml_curl's 1000" in caplog.text


def test_render_command_prints_router_sofia_conf(app, tmp_path: Path):
    path = tmp_path / "body"
    path.write_bytes(cluster_body("router-1_sofia.conf"))
    result = app.test_cli_runner().invoke(args=["render", "--node", "router-1", str(path)])
    assert result.exit_code == 0, result.output
    assert shape(result.stdout_bytes) == shape((CONFORMANCE / "cluster" / "router-1_sofia.conf.xml").read_bytes())


# --- the pure builder -------------------------------------------------------------------------------

CARRIER = ProfileConf("carrier", "192.0.2.1", 5060, "from-carrier", (("apply-inbound-acl", "carriers"),))


def _gateways(doc: etree._Element) -> dict[str, dict[str, str]]:
    return {g.get("name"): _params(g) for g in doc.iter("gateway")}


def test_non_registering_gateway_says_register_false_because_sofia_defaults_to_true():
    params = dict(gateway_params(GatewayConf("g", "192.0.2.9")))
    assert params["register"] == "false"
    assert "username" not in params and "password" not in params and "expire-seconds" not in params


def test_registering_gateway_without_credentials_is_never_emitted(caplog):
    gateways = (GatewayConf("no-creds", "192.0.2.9", register=True, username="u"),
                GatewayConf("ok", "192.0.2.10", register=True, username="u", password="p"))
    with caplog.at_level(logging.WARNING, logger="xmlcurl.fetch.configuration"):
        doc = build_sofia([ProfileConf(**{**CARRIER.__dict__, "gateways": gateways})])
    assert list(_gateways(doc)) == ["ok"]
    assert "no-creds" in caplog.text


@pytest.mark.parametrize("name", ["bad name", "", "gw/1", "gw:1", "gé", "gw$"])
def test_gateway_names_sofia_would_ignore_are_skipped(name):
    doc = build_sofia([ProfileConf(**{**CARRIER.__dict__, "gateways": (GatewayConf(name, "192.0.2.9"),)})])
    assert _gateways(doc) == {}


def test_gateway_names_are_unique_across_the_nodes_profiles():
    first = ProfileConf("a", "192.0.2.1", 5060, "x", gateways=(GatewayConf("gw", "192.0.2.9"),))
    second = ProfileConf("b", "192.0.2.1", 5080, "y", gateways=(GatewayConf("gw", "192.0.2.10"), GatewayConf("gw2", "192.0.2.11")))
    doc = build_sofia([first, second])
    assert [(g.getparent().getparent().get("name"), g.get("name")) for g in doc.iter("gateway")] == [("a", "gw"), ("b", "gw2")]


@pytest.mark.parametrize("field", ["proxy", "realm", "username", "password"])
@pytest.mark.parametrize("value", ["$${hostname}", "x X-PRE-PROCESS y", "a\x01b"])
def test_unsafe_gateway_value_skips_only_that_gateway(field, value):
    evil = GatewayConf(**{**GatewayConf("evil", "192.0.2.9", register=True, username="u", password="p").__dict__, field: value})
    doc = build_sofia([ProfileConf(**{**CARRIER.__dict__, "gateways": (evil, GatewayConf("good", "192.0.2.10"))})])
    assert list(_gateways(doc)) == ["good"]
    assert_freeswitch_can_read(etree.tostring(doc))


def test_profile_with_an_unsafe_node_value_is_skipped_and_the_others_kept():
    doc = build_sofia([ProfileConf("bad", "$${local_ip_v4}", 5060, "x"), CARRIER])
    assert [p.get("name") for p in doc.iter("profile")] == ["carrier"]


def test_ping_below_sofias_minimum_is_left_out():
    assert "ping" not in dict(gateway_params(GatewayConf("g", "192.0.2.9", ping_seconds=4)))
    assert dict(gateway_params(GatewayConf("g", "192.0.2.9", ping_seconds=5)))["ping"] == 5


def test_non_udp_transport_is_written_even_without_registration():
    assert dict(gateway_params(GatewayConf("g", "192.0.2.9", transport="tcp")))["register-transport"] == "tcp"
    assert "register-transport" not in dict(gateway_params(GatewayConf("g", "192.0.2.9")))


def test_tls_gateway_is_skipped_because_sofia_would_drop_it_on_a_profile_without_tls():
    gateways = (GatewayConf("tls", "192.0.2.9", transport="tls"), GatewayConf("tcp", "192.0.2.10", transport="tcp"))
    doc = build_sofia([ProfileConf(**{**CARRIER.__dict__, "gateways": gateways})])
    assert list(_gateways(doc)) == ["tcp"]


def test_ipv6_router_address_is_bracketed_in_the_proxy():
    assert host_port("2001:db8::10", 5080) == "[2001:db8::10]:5080"
    assert host_port("192.0.2.10", 5080) == "192.0.2.10:5080"


def test_every_profile_carries_what_media_needs_and_one_element_per_line():
    xml = etree.tostring(build_sofia([CARRIER]), pretty_print=True)
    settings = {p.get("name"): p.get("value") for p in etree.fromstring(xml).iter("param")}
    for name, value in {"sip-ip": "192.0.2.1", "rtp-ip": "192.0.2.1", "ext-sip-ip": "192.0.2.1",
                        "ext-rtp-ip": "192.0.2.1", "sip-port": "5060", "dialplan": "XML",
                        "rtp-timer-name": "soft", "dtmf-type": "rfc2833", "manage-presence": "false",
                        "inbound-codec-prefs": "PCMU,PCMA", "outbound-codec-prefs": "PCMU,PCMA"}.items():
        assert settings[name] == value
    assert all(not line.startswith(b" ") for line in xml.splitlines())
