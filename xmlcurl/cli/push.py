"""`xmlcurl push` (resync running nodes) and `xmlcurl esl-password` (a node's event-socket credentials)."""
from __future__ import annotations

import ipaddress
import sys

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("push")
@click.option("--node", "node_name", help="only this node (by name), even if disabled")
@click.option("--dry-run", is_flag=True,
              help="print the commands, the nodes without event-socket credentials and what killgw does; connect to nothing")
@with_appcontext
def push(node_name: str | None, dry_run: bool) -> None:
    """Resync running nodes: reloadacl, then killgw _all_ + rescan on the carrier (routers) or cluster (media) profile."""
    from ..push import plan_resync, run_plans

    plans = plan_resync(node_name)
    if node_name is not None and not plans:
        raise click.ClickException(f"no node named {node_name!r}")
    results = run_plans(plans, current_app.config["XMLCURL"], dry_run=dry_run)
    for result in results:
        click.echo(f"{result.node}: {result.status}" + (f" after {result.attempts} attempt(s)" if result.attempts else "")
                   + (f" ({result.error})" if result.error else ""))
        replies = dict(result.replies)
        for command in result.commands:
            reply = replies.get(command)
            click.echo(f"  {command}" + (f"  -> {reply.splitlines()[0] if reply else '(empty)'}" if reply is not None else ""))
    if dry_run:
        for line in dry_run_notes(plans):
            click.echo(line)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


#: What the resync's commands do to a running node (mod_sofia: `killgw` only marks gateways deleted).
KILLGW_NOTE = (
    "killgw _all_ then rescan: every gateway of the profile is marked deleted (one that registers sends "
    "an un-REGISTER) and rescan re-creates them from the new configuration at once. Calls in progress "
    "are not hung up: their SIP dialogs belong to the profile, not to the gateway. A call that starts "
    "through the profile in the instant between the two commands can fail that leg and go to its next one."
)


def dry_run_notes(plans) -> list[str]:
    """What a real push would skip, and what it does to live calls."""
    missing = [p.node.name for p in plans if p.commands and not (p.node.esl_port and p.node.esl_password_enc)]
    lines = []
    if missing:
        lines.append(f"no event-socket credentials (a real push skips them): {', '.join(missing)}; "
                     "store them with `xmlcurl esl-password NODE`")
    else:
        lines.append("every node listed has event-socket credentials")
    if any("killgw" in command for p in plans for command in p.commands):
        lines.append(KILLGW_NOTE)
    return lines


@click.command("esl-password")
@click.argument("node_name")
@click.option("--address", default=None, help="event-socket address (default: the node's sip_address)")
@click.option("--port", type=click.IntRange(1, 65535), default=8021, show_default=True, help="event-socket port")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@click.option("--push/--no-push", default=True, show_default=True,
              help="tell the other nodes of its role to replace their mod_hash remote for it")
@with_appcontext
def esl_password(node_name: str, address: str | None, port: int, password_stdin: bool, push: bool) -> None:
    """Store NODE's event-socket port and password (encrypted with XMLCURL_ESL_KEY or one derived from XMLCURL_SECRET_KEY)."""
    import time

    from sqlalchemy import select

    from .. import db
    from ..models import Node
    from ..push import EslChange, hooks, plan_changes, run_plans
    from ..push.secret import EslKeyError, encrypt_password
    from ..push.worker import settle_seconds

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("event-socket password", hide_input=True, confirmation_prompt=True)
    session = db.session()
    node = session.scalar(select(Node).where(Node.name == node_name))
    if node is None:
        raise click.ClickException(f"no node named {node_name!r}")
    try:
        node.esl_password_enc = encrypt_password(current_app.config["XMLCURL"], password)
    except (ValueError, EslKeyError) as exc:
        raise click.ClickException(str(exc)) from None
    if address is not None:
        try:
            node.esl_address = str(ipaddress.ip_address(address))
        except ValueError:
            raise click.ClickException(f"not an IP address: {address!r}") from None
    node.esl_port = port
    if push:
        # Pushed below, in this process: the after-commit hook must not queue a second, concurrent
        # `hash_remote kill` of the same remote (mod_hash destroys it outside its lock).
        session.flush()
        hooks.discard(session)
    session.commit()
    click.echo(f"stored the event-socket port and password of {node_name}")
    if push:
        # The other nodes poll this one for limit usage (hash.conf); mod_hash only re-reads a remote it drops.
        time.sleep(settle_seconds(current_app.config["XMLCURL"]))
        for result in run_plans(plan_changes([EslChange(node.name, node.role)]), current_app.config["XMLCURL"]):
            click.echo(f"{result.node}: {result.status} ({', '.join(result.commands)})"
                       + (f" {result.error}" if result.error else ""))
