"""`xmlcurl fill-store`: the last-good store filled with every directory answer, ahead of the fetches."""
from __future__ import annotations

import datetime as dt
import signal
import sqlite3
import sys
import threading

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError
from tqdm import tqdm

from .. import db


@click.command("fill-store")
@click.option("--tenant", "codes", multiple=True, metavar="CODE",
              help="only this tenant (repeatable); default: every enabled tenant pinned to a media node")
@click.option("--follow", is_flag=True,
              help="then keep the store filled, until stopped: fill again the answers of each user (or tenant) whose "
                   "rows changed")
@click.option("--settle", default=2.0, show_default=True, type=click.FloatRange(0),
              help="with --follow: seconds a user's (or tenant's) changes must have stopped for before it is "
                   "filled again")
@click.option("--interval", type=click.FloatRange(0.1),
              help="with --follow: seconds between reads of the changes (default: XMLCURL_CACHE_POLL_SECONDS)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@with_appcontext
def fill_store(codes: tuple[str, ...], follow: bool, settle: float, interval: float | None, quiet: bool) -> None:
    """Write every user's directory answer, for each media node its tenant is pinned to, to the last-good store.

    The workers then answer a user their memory does not hold from the store instead of the database,
    and answer every user during a database outage. Run it after deploying an instance, or keep it running
    with --follow beside gunicorn (README, "Filling the store"). Without --follow a change supersedes the
    tenant's stored answers, and each is built again by the first fetch that asks for it. Safe while the
    workers run.
    """
    from ..fetch.cache import last_good_store
    from ..fetch.fill import FillError, StoreFiller

    settings = current_app.config["XMLCURL"]
    store = last_good_store(settings, current_app.instance_path) if settings["CACHE"] else None
    if store is None:
        raise click.ClickException("the last-good store is off (XMLCURL_CACHE or XMLCURL_LAST_GOOD_DIR): "
                                   "no worker would read what was filled")
    if codes and follow:
        raise click.UsageError("--follow keeps every tenant filled: give no --tenant with it")
    engine = db.database().engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        conn = engine.connect()
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot reach the database: {exc}") from None
    filler = StoreFiller(conn, store, settings["DIRECTORY_CACHEABLE_MS"])
    try:
        with tqdm(desc="tenants", unit="tenants", file=sys.stderr, disable=quiet) as bar:
            users = 0

            def progress(tenants: int, tenant_users: int) -> None:
                nonlocal users
                users += tenant_users
                bar.total = tenants
                bar.set_postfix(users=users, refresh=False)
                bar.update(1)

            try:
                summary = filler.fill(codes, progress=progress)
            except FillError as exc:
                raise click.ClickException(str(exc)) from None
            except sqlite3.Error as exc:
                raise click.ClickException(f"cannot write the last-good store {store.path}: {exc}") from None
            except SQLAlchemyError as exc:
                raise click.ClickException(f"reading the database failed (what was written before stays): {exc}") \
                    from None
        click.echo(f"filled {store.path}: {summary.users} users of {summary.tenants} tenants, "
                   f"{summary.answers} answers in {summary.seconds:.1f} s")
        if follow:
            stop = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())

            def reconnect():
                filler.conn.close()
                return engine.connect()

            _follow(filler, reconnect, settle, interval or settings["CACHE_POLL_SECONDS"], stop)
    finally:
        filler.close()
        filler.conn.close()


class _Stopped(Exception):
    pass


def _follow(filler, reconnect, settle: float, interval: float, stop: threading.Event) -> None:
    """Fill again what changes supersede, every `interval` seconds, until `stop` is set (between two tenants).
    A failure is reported and the next round tries again: on a new database connection (`reconnect()` gives
    one) after a database error, on a new store connection after a store error, from the start after a
    FillError (a re-created database caught while filling, tables not created yet)."""
    from ..fetch.fill import FillError

    click.echo(f"following the changes every {interval:g} s (a user or tenant is filled again {settle:g} s after "
               "its last change; Ctrl-C stops)")

    def stop_between_tenants(_tenants: int, _users: int) -> None:
        if stop.is_set():
            raise _Stopped()

    broken = False
    while not stop.wait(interval):
        stamp = dt.datetime.now().isoformat(timespec="seconds")
        try:
            if broken:
                filler.conn = reconnect()
                broken = False
            summary = filler.follow(settle, stop_between_tenants)
        except _Stopped:
            break
        except SQLAlchemyError as exc:
            click.echo(f"{stamp} reading the database failed, trying again: {exc}", err=True)
            broken = True
            continue
        except sqlite3.Error as exc:
            click.echo(f"{stamp} writing the store failed, trying again: {exc}", err=True)
            filler.close()
            continue
        except FillError as exc:
            click.echo(f"{stamp} {exc}; filling everything again", err=True)
            filler.epoch = None
            continue
        if summary.tenants:
            click.echo(f"{stamp} filled again: {summary.users} users of {summary.tenants} tenants, "
                       f"{summary.answers} answers in {summary.seconds:.1f} s")
    click.echo("stopped following")
