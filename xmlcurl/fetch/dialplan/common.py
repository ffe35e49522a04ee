"""What the dialplan handlers read from a fetch, and how they answer a rejection."""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ..context import FetchContext
from ..request import FetchRequest
from .extension import build_rejection
from .numbers import CONTEXT, DID, matches, normal_ip
from .routing import Rejection


@dataclass(frozen=True)
class Call:
    """The caller-controlled facts of a dialplan fetch, unvalidated: use only after a pattern check."""

    context: str
    destination: str
    x_tenant: str
    network_ip: str
    profile: str
    user_name: str
    tenant_var: str

    @classmethod
    def of(cls, request: FetchRequest) -> "Call":
        return cls(
            context=request.get("Hunt-Context") or request.get("Caller-Context"),
            destination=request.get("Hunt-Destination-Number") or request.get("Caller-Destination-Number"),
            x_tenant=request.get("variable_sip_h_X-Tenant"),
            network_ip=normal_ip(request.get("variable_sip_network_ip")),
            profile=request.get("variable_sofia_profile_name"),
            user_name=request.get("variable_user_name"),
            tenant_var=request.get("variable_tenant"),
        )


def describe(call: Call) -> str:
    """The fetch log key: the context, and the number only if it is plain digits (no caller text in logs)."""
    context = call.context if matches(CONTEXT, call.context) else "?"
    number = call.destination if matches(DID, call.destination) else "?"
    return f"{context}/{number}"


def reject(ctx: FetchContext, context: str, rejection: Rejection) -> etree._Element:
    """A rejection in the caller's context, with the reason in the fetch log."""
    ctx.outcome = f"rejected {rejection.status} {rejection.reason}" + (f": {rejection.detail}" if rejection.detail else "")
    return build_rejection(context, rejection)
