"""Fetch bodies as FreeSWITCH's mod_xml_curl sends them, built from the preview page's inputs.

The five leading fields are written raw and every event header after them URL-encoded the way
FreeSWITCH encodes (%20 for a space, never '+'), in the order a real request carries them.
"""
from __future__ import annotations

from urllib.parse import quote

DIRECTORY_ACTIONS = ("sip_auth", "user_call")
CONFIGURATIONS = ("sofia.conf", "acl.conf")


def fs_encode(value: str) -> str:
    return quote(value, safe="-_.!~*'()")


def body(hostname: str, section: str, tag_name: str = "", key_name: str = "", key_value: str = "",
         params: list[tuple[str, str]] | None = None) -> bytes:
    text = f"hostname={hostname}&section={section}&tag_name={tag_name}&key_name={key_name}&key_value={key_value}"
    text += "".join(f"&{name}={fs_encode(value)}" for name, value in [("Event-Name", "REQUEST_PARAMS"),
                                                                       ("FreeSWITCH-Switchname", hostname),
                                                                       *(params or [])])
    return text.encode("utf-8")


def directory(hostname: str, domain: str, user: str, action: str, profile: str) -> bytes:
    """A user lookup: sofia's REGISTER/INVITE digest check (sip_auth) or a bridge to user/ (user_call)."""
    if action == "sip_auth":
        params = [("action", "sip_auth"), ("sip_profile", profile), ("sip_auth_username", user),
                  ("sip_auth_realm", domain), ("sip_to_user", user), ("sip_to_host", domain),
                  ("sip_from_user", user), ("sip_from_host", domain), ("sip_auth_method", "REGISTER"),
                  ("key", "id"), ("user", user),
                  ("domain", domain)]
    else:
        params = [("as_channel", "true"), ("action", "user_call"), ("key", "id"), ("user", user), ("domain", domain)]
    return body(hostname, "directory", "domain", "name", domain, params)


def dialplan(hostname: str, context: str, number: str, profile: str, user_name: str = "", network_ip: str = "",
             x_tenant: str = "") -> bytes:
    """A call reaching the XML dialplan in `context` for `number`, as mod_dialplan_xml asks for it."""
    params = [("Channel-State", "CS_ROUTING"), ("Caller-Destination-Number", number), ("Caller-Context", context),
              ("Hunt-Destination-Number", number), ("Hunt-Context", context)]
    if user_name:
        params.append(("variable_user_name", user_name))
    if network_ip:
        params.append(("variable_sip_network_ip", network_ip))
    if x_tenant:
        params.append(("variable_sip_h_X-Tenant", x_tenant))
    params.append(("variable_sofia_profile_name", profile))
    return body(hostname, "dialplan", params=params)


def configuration(hostname: str, name: str, profile: str = "") -> bytes:
    """sofia.conf (all profiles, or one with `profile` as on `sofia profile X start`) or acl.conf."""
    params = [("profile", profile)] if profile and name == "sofia.conf" else []
    return body(hostname, "configuration", "configuration", "name", name, params)
