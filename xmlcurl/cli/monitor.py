"""`xmlcurl monitor` (the collector, beside gunicorn) and `xmlcurl status` (the cluster table in a terminal)."""
from __future__ import annotations

import datetime as dt
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("monitor")
@click.option("--once", is_flag=True, help="poll every node once, print what was written, and exit")
@click.option("--interval", type=click.FloatRange(1), default=None, help="seconds between rounds (XMLCURL_MONITOR_INTERVAL)")
@with_appcontext
def monitor(once: bool, interval: float | None) -> None:
    """Poll every enabled node's event socket and keep the cluster snapshot in the database (runs until stopped)."""
    from .. import db
    from ..monitor.runner import default_holder, poll_round, run_forever

    settings = dict(current_app.config["XMLCURL"])
    if interval is not None:
        settings["MONITOR_INTERVAL"] = interval
    sessions = db.database().sessionmaker
    if once:
        report = poll_round(sessions, settings, default_holder())
        if report is None:
            raise click.ClickException("another monitor holds the lease and is polling; try again once it stops")
        for reading in report.readings:
            click.echo(f"{reading.target.name}: " + ("ok" if reading.ok else reading.error or "not answered"))
        click.echo(f"polled {report.nodes} node(s), {report.answered} answered in full, "
                   f"{report.rows} row(s) written in {report.seconds:.3f} s")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    click.echo(f"monitoring every {settings['MONITOR_INTERVAL']:g} s (Ctrl-C stops)")
    run_forever(sessions, settings, stop)


def _ago(when: dt.datetime | None, now: dt.datetime) -> str:
    if when is None:
        return "-"
    seconds = max(0, int((now - when).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]


@click.command("status")
@with_appcontext
def status() -> None:
    """Print the cluster as the monitor last saw it: nodes, gateways, calls per tenant."""
    from .. import db
    from ..monitor import snapshot
    from ..monitor.store import utcnow

    session = db.read_session()
    now = utcnow()
    polled = snapshot.last_polled(session)
    click.echo("monitor: " + (f"last poll {_ago(polled, now)}" if polled else "has never polled (start `xmlcurl monitor`)"))
    nodes = snapshot.nodes(session)
    click.echo("\nNODES")
    for line in _table(["node", "role", "state", "since", "uptime", "calls", "regs", "profiles", "error"],
                       [[n["name"], n["role"], n["state"], _ago(n["since"], now),
                         str(dt.timedelta(seconds=n["uptime_seconds"])) if n["uptime_seconds"] is not None else "-",
                         str(n["calls"]) if n["calls"] is not None else "-", str(n["registrations"]),
                         " ".join(f"{p['name']}={p['state']}" for p in n["profiles"]) or "-", n["error"] or ""]
                        for n in nodes]):
        click.echo(line)
    click.echo("\nGATEWAYS")
    for line in _table(["gateway", "node", "profile", "state", "status", "ping", "changed"],
                       [[g["name"], g["node"], g["profile"], g["state"], g["status"],
                         f"{g['ping_ms']:.2f} ms" if g["ping_ms"] is not None else "-", _ago(g["changed_at"], now)]
                        for g in snapshot.gateways(session)]):
        click.echo(line)
    click.echo("\nCALLS PER TENANT")
    for line in _table(["tenant", "media calls", "router calls", "cps", "per node"],
                       [[c["tenant"], f"{c['calls']}/{c['max_calls']}", f"{c['router_calls']}/{c['max_calls']}",
                         f"{c['cps']}/{c['max_cps']}", " ".join(f"{n['node']}={n['calls']}" for n in c["nodes"]) or "-"]
                        for c in snapshot.calls(session)]):
        click.echo(line)
    session.rollback()
