"""`xmlcurl route-test`: the legs a router would try for a tenant's number, and why."""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from .. import db
from ..fetch.dialplan.routing import RouteDecision, as_dict, explain


def format_decision(decision: RouteDecision) -> list[str]:
    """Human-readable lines for a route decision."""
    lines = [f"tenant {decision.tenant_code}, number {decision.number}"]
    lines += [f"note: {note}" for note in decision.notes]
    if decision.media_node is not None:
        node = decision.media_node
        lines.append(f"calling media node {node.name} ({node.sip_address}): tenant pinned, node enabled")
    plan = decision.plan
    if plan is not None and plan.legs:
        scope = "the tenant's own routes" if plan.scope == "tenant" else "routes of all tenants"
        lines.append(f"matched prefix {plan.prefix!r} ({scope}; longest matching prefix wins)")
        lines.append("legs, tried in this order (bridge failover with '|'):")
        for index, leg in enumerate(plan.legs, 1):
            c = leg.candidate
            fmt = []
            if c.strip_digits:
                fmt.append(f"strip {c.strip_digits}")
            if c.prepend:
                fmt.append(f"prepend {c.prepend!r}")
            lines.append(
                f"  {index}. {c.gateway:<16} prefix {c.prefix!r} scope {c.scope} priority {c.priority} "
                f"weight {c.weight} sends {leg.number}" + (f" ({', '.join(fmt)})" if fmt else "")
                + (" [media proxy]" if c.media_mode == "proxy" else "")
            )
        for priority in plan.shuffled_priorities:
            lines.append(f"priority {priority}: legs shuffled by weight on every call (order above is one draw)")
        lines.append(f"media: {'bypass (bypass_media=true)' if plan.bypass_media else 'proxied by the router'}")
        lines.append(f"bridge: {plan.bridge}")
    if plan is not None and plan.unused:
        lines.append("matching routes not used:")
        for unused in plan.unused:
            c = unused.candidate
            lines.append(f"  - {c.gateway} prefix {c.prefix!r} scope {c.scope} priority {c.priority}: {unused.reason}")
    if decision.rejection is not None:
        r = decision.rejection
        lines.append(f"REJECTED: {r.status} {r.reason}" + (f" ({r.detail})" if r.detail else ""))
    return lines


@click.command("route-test")
@click.option("--tenant", "tenant_code", required=True, help="tenant code, as the X-Tenant header carries it")
@click.option("--media-node", default=None, help="check the call as coming from this media node (pinning)")
@click.option("--json", "as_json", is_flag=True, help="print the decision as JSON")
@click.argument("number")
@with_appcontext
def route_test(tenant_code: str, media_node: str | None, as_json: bool, number: str) -> None:
    """Print the legs the router would try for NUMBER dialled by a user of --tenant, in order, with why."""
    decision = explain(db.read_session(), tenant_code, number, media_node)
    if as_json:
        click.echo(json.dumps(as_dict(decision), indent=2))
    else:
        for line in format_decision(decision):
            click.echo(line)
    if decision.rejection is not None:
        raise SystemExit(1)
