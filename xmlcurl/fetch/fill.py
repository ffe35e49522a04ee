"""Filling the last-good store ahead of the fetches: every directory answer of every media node's tenants.

A worker's cache miss reads the store before the database (cache.py). Filled, the store answers a
worker that meets more users than its memory keeps (a platform of a million robots registering
through two workers) from local disk, and during a database outage it answers every user, not only
those some worker fetched since the store began.

Each tenant's answers are tagged with the version read before its rows, and written in one store
transaction together with every change the database recorded up to a version read after them: a
change made while filling supersedes them as it would a worker's own build, and an entry a worker
built later is never replaced by them (lastgood._PUT). A database re-created or restored while
filling stops the fill; nothing it wrote is served for the new data.

Followed (`xmlcurl fill-store --follow`), the store stays filled: a tenant whose rows changed is
filled again once its changes have settled (a bulk import is one refill, not one per row), every
tenant after a change to all of them, and everything when the database is re-created or restored.
"""
from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from typing import Any, Callable, Collection

from sqlalchemy import text

from . import scopes
from .cache import NOTHING_SINCE, Poll, changes_lost, read_changes
from .context import kept_answer, kept_key
from .directory import (PINNED_TENANTS_QUERY, DirectoryDomain, build_directory, domain_key, load_tenant_users,
                        user_document, user_key)
from .lastgood import LastGoodStore, put_op, sync_op, write_ops
from .xmldoc import serialise

#: The version the rows read next are at least as new as (read before them).
VERSION = text("SELECT version, epoch FROM config_version WHERE id = 1")


class FillError(Exception):
    """The fill cannot go on (what it wrote before stays, each tenant's answers whole)."""


class Recreated(FillError):
    """The database was re-created or restored since the filler last read it."""

    def __init__(self) -> None:
        super().__init__("the database was re-created or restored while filling: run the fill again")


@dataclass
class FillSummary:
    """What a fill wrote: tenants, their users with a credential, and answers (one per user, domain and node)."""

    tenants: int = 0
    users: int = 0
    answers: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class PinnedTenant:
    id: int
    code: str
    context: str
    sip_domain: str
    nodes: tuple[int, ...]


def pinned_tenants(conn: Any, codes: Collection[str] = (), ids: Collection[int] | None = None) -> list[PinnedTenant]:
    """The enabled tenants pinned to a media node, with those nodes: all of them, those `codes` names (FillError
    naming any code that is not such a tenant) or those of `ids` that still are such tenants."""
    found: dict[int, PinnedTenant] = {}
    for row in conn.execute(PINNED_TENANTS_QUERY):
        tenant = found.get(row.tenant_id)
        nodes = (tenant.nodes if tenant else ()) + (int(row.node_id),)
        found[row.tenant_id] = PinnedTenant(int(row.tenant_id), row.code, row.context, row.sip_domain, nodes)
    tenants = list(found.values())
    if ids is not None:
        tenants = [t for t in tenants if t.id in ids]
    if codes:
        wanted = set(codes)
        tenants = [t for t in tenants if t.code in wanted]
        unknown = wanted - {t.code for t in tenants}
        if unknown:
            raise FillError(f"not an enabled tenant pinned to a media node: {', '.join(sorted(unknown))}")
    return tenants


def tenant_answers(conn: Any, tenant: PinnedTenant, cacheable_ms: int) -> tuple[list[tuple[tuple, bytes]], int]:
    """The tenant's directory answers as the fetch path keeps them: (key parts, pickled kept value) for its
    domain and each user with a credential, and how many users that is."""
    domain = DirectoryDomain(name=tenant.sip_domain, tenant_code=tenant.code, context=tenant.context)
    answers = [(domain_key(tenant.sip_domain), _pickled(build_directory(domain)))]
    users = 0
    for found in load_tenant_users(conn, tenant.id):
        if found.user is None:  # no credential: the fetch answers "not found", nothing worth keeping
            continue
        users += 1
        answers.append((user_key(tenant.sip_domain, found.user.username, cacheable_ms),
                        _pickled(user_document(found, cacheable_ms))))
    return answers, users


def _pickled(doc: Any) -> bytes:
    return pickle.dumps(kept_answer(serialise(doc)), protocol=pickle.HIGHEST_PROTOCOL)


class StoreFiller:
    """Fills one store from one database connection (in autocommit: each tenant is read afresh), and
    remembers which tenants changed since, to fill them again (`follow`)."""

    def __init__(self, conn: Any, store: LastGoodStore, cacheable_ms: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` times the settling of changes (`follow`)."""
        self.conn, self.store, self.cacheable_ms, self.clock = conn, store, cacheable_ms, clock
        self.epoch: str | None = None
        self.since: int | None = None
        #: Tenant id -> when a change to its rows was last seen (clock), until it is filled again.
        self.changed_at: dict[int, float] = {}
        #: A change to every tenant's rows was seen: everything is filled again.
        self.every_tenant_changed = False
        self._job: Any = None

    def close(self) -> None:
        if self._job is not None:
            self._job.close()
            self._job = None

    def fill(self, codes: Collection[str] = (), progress: Callable[[int, int], None] | None = None) -> FillSummary:
        """Write the directory answers of the pinned tenants (all, or those `codes` names), a tenant per
        transaction; `progress` is called after each with the number of tenants to fill and its users."""
        if self._job is None:
            self._job = self.store.connect()
        tenants = pinned_tenants(self.conn, codes)
        if self.epoch is None:
            self._sync_store()
        return self._fill_tenants(tenants, progress, everything=not codes)

    def _fill_tenants(self, tenants: list[PinnedTenant], progress: Callable[[int, int], None] | None,
                      everything: bool = False) -> FillSummary:
        began = time.monotonic()
        summary = FillSummary()
        if everything:
            self.every_tenant_changed = False  # a change to all of them seen from here on sets it again
        try:
            for tenant in tenants:
                users, answers = self._fill_tenant(tenant)
                summary.tenants += 1
                summary.users += users
                summary.answers += answers
                if progress is not None:
                    progress(len(tenants), users)
        except BaseException:
            if everything:  # not all filled: all of them again
                self.every_tenant_changed = True
            raise
        summary.seconds = time.monotonic() - began
        return summary

    def follow(self, settle_seconds: float, progress: Callable[[int, int], None] | None = None) -> FillSummary:
        """One round of following the database: note what changed since the last read, and fill again the
        tenants whose changes settled for `settle_seconds` (everything after a change to every tenant, or
        in a re-created or restored database); `progress` as for `fill`."""
        if self.epoch is not None:
            try:
                return self._fill_changed(settle_seconds, progress)
            except Recreated:
                self.epoch = None  # started over below, with the store
        return self.fill(progress=progress)

    def _fill_changed(self, settle_seconds: float, progress: Callable[[int, int], None] | None) -> FillSummary:
        self._poll()
        if self.every_tenant_changed:
            return self.fill(progress=progress)
        now = self.clock()
        due = {tenant for tenant, at in self.changed_at.items() if now - at >= settle_seconds}
        if not due:
            return FillSummary()
        tenants = pinned_tenants(self.conn, ids=due)
        for gone in due - {tenant.id for tenant in tenants}:
            del self.changed_at[gone]  # disabled, unpinned or deleted: its answers stay superseded
        return self._fill_tenants(tenants, progress)

    def _sync_store(self) -> None:
        """Bring the store up to the database as a worker's first poll does (starting it over for another
        database, a new epoch or a restore)."""
        store_epoch, position, _ = self.store.state(None)
        polled = time.monotonic()
        poll = read_changes(self.conn, NOTHING_SINCE if position is None else position)
        if poll is None:
            raise FillError("the database holds no configuration version: create its tables first (xmlcurl init-db)")
        reset = changes_lost(store_epoch, position, poll.epoch, poll.version, poll.seen)
        write_ops(self._job, [sync_op(poll.epoch, poll.version, poll.changed, reset, self.store.database, polled)])
        self.epoch, self.since = poll.epoch, poll.version
        self.changed_at.clear()
        self.every_tenant_changed = False

    def _poll(self) -> tuple[Poll, float]:
        """The changes since the last read (noted for `follow`) and when they were asked for (time.monotonic:
        the store orders syncs by it); Recreated if they cannot be followed."""
        polled = time.monotonic()
        poll = read_changes(self.conn, self.since)  # type: ignore[arg-type]
        if poll is None or changes_lost(self.epoch, self.since, poll.epoch, poll.version, poll.seen):
            raise Recreated()
        tenants, every_tenant = scopes.changed_tenants(poll.changed)
        now = self.clock()
        for tenant in tenants:
            self.changed_at[tenant] = now
        self.every_tenant_changed = self.every_tenant_changed or every_tenant
        self.since = poll.version
        return poll, polled

    def _fill_tenant(self, tenant: PinnedTenant) -> tuple[int, int]:
        """One tenant's answers, read at a version and written with the changes up to a later one: its users
        and answers written."""
        noted = self.changed_at.pop(tenant.id, None)  # a change seen from here on is noted again by _poll
        try:
            row = self.conn.execute(VERSION).one()
            if row.epoch != self.epoch:
                raise Recreated()
            built = int(row.version)
            answers, users = tenant_answers(self.conn, tenant, self.cacheable_ms)
            scope = scopes.tenant(tenant.id)
            ops = [put_op(repr(kept_key(node, "directory", parts)), self.epoch, built, scope, value)
                   for parts, value in answers for node in tenant.nodes]
            poll, polled = self._poll()
            write_ops(self._job, [sync_op(self.epoch, poll.version, poll.changed, False, self.store.database,
                                          polled), *ops])
        except BaseException:
            if noted is not None:  # not filled: still to be filled again
                self.changed_at.setdefault(tenant.id, noted)
            raise
        return users, len(ops)


def fill_store(conn: Any, store: LastGoodStore, cacheable_ms: int, codes: Collection[str] = (),
               progress: Callable[[int, int], None] | None = None) -> FillSummary:
    """Fill the store once with the directory answers of the pinned tenants (all, or those `codes` names)."""
    filler = StoreFiller(conn, store, cacheable_ms)
    try:
        return filler.fill(codes, progress=progress)
    finally:
        filler.close()
