"""Filling the last-good store ahead of the fetches: every directory answer of every media node's tenants.

A worker's cache miss reads the store before the database (cache.py). Filled, the store answers a
worker that meets more users than its memory keeps (a platform of a million robots registering
through two workers) from local disk, and during a database outage it answers every user, not only
those some worker fetched since the store began.

Each tenant's answers are tagged with the version read before its rows (its pinning, domain and
users), and written once the store has been told of every change the database recorded up to a
version read after them: a change made while filling supersedes them as it would a worker's own
build, and an entry a worker built later is never replaced by them (lastgood._PUT). Every change
the filler reads is written to the store before it reads on, so the store's position never passes
a change it was not told of. A database re-created or restored while filling stops the fill;
nothing it wrote is served for the new data.

Followed (`xmlcurl fill-store --follow`), the store stays filled: a user whose rows changed has its
answers filled again once its changes have settled, a tenant whose other rows changed all of its
answers (a bulk import is one refill, not one per row; a user or tenant that never stops changing,
at the latest LONGEST_WAIT settles after its first change), every tenant after a change to all of
them, and everything when the database is re-created or restored (or the filler fell further
behind than the change ring reaches).
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
from .directory import (PINNED_TENANTS_QUERY, TENANT_PINNING_QUERY, DirectoryDomain, build_directory, domain_key,
                        load_tenant_users, user_document, user_key)
from .lastgood import LastGoodStore, put_op, sync_op, write_ops
from .xmldoc import serialise

#: The version the rows read next are at least as new as (read before them).
VERSION = text("SELECT version, epoch FROM config_version WHERE id = 1")
#: A tenant that keeps changing is filled again at the latest this many settle periods after the first
#: change not yet filled.
LONGEST_WAIT = 6


class FillError(Exception):
    """The fill cannot go on (what it wrote before stays, each tenant's answers whole)."""


class Recreated(FillError):
    """The database was re-created or restored, or the filler fell behind its change ring, since it last read."""

    def __init__(self) -> None:
        super().__init__("the database was re-created or restored, or changed more than its change ring holds, "
                         "while filling: fill again")


@dataclass
class FillSummary:
    """What a fill wrote: tenants, their users with a credential, and answers (one per user, domain and node)."""

    tenants: int = 0
    users: int = 0
    answers: int = 0
    seconds: float = 0.0

    def add(self, other: "FillSummary") -> None:
        """Count `other`'s fill in this one."""
        self.tenants += other.tenants
        self.users += other.users
        self.answers += other.answers
        self.seconds += other.seconds


@dataclass(frozen=True)
class PinnedTenant:
    id: int
    code: str
    context: str
    sip_domain: str
    nodes: tuple[int, ...]


def _pinned(rows: Any) -> list[PinnedTenant]:
    found: dict[int, PinnedTenant] = {}
    for row in rows:
        tenant = found.get(row.tenant_id)
        nodes = (tenant.nodes if tenant else ()) + (int(row.node_id),)
        found[row.tenant_id] = PinnedTenant(int(row.tenant_id), row.code, row.context, row.sip_domain, nodes)
    return list(found.values())


def pinned_tenants(conn: Any, codes: Collection[str] = (), ids: Collection[int] | None = None) -> list[PinnedTenant]:
    """The enabled tenants pinned to a media node, with those nodes: all of them, those `codes` names (FillError
    naming any code that is not such a tenant) or those of `ids` that still are such tenants."""
    tenants = _pinned(conn.execute(PINNED_TENANTS_QUERY))
    if ids is not None:
        tenants = [t for t in tenants if t.id in ids]
    if codes:
        wanted = set(codes)
        tenants = [t for t in tenants if t.code in wanted]
        unknown = wanted - {t.code for t in tenants}
        if unknown:
            raise FillError(f"not an enabled tenant pinned to a media node: {', '.join(sorted(unknown))}")
    return tenants


def tenant_pinning(conn: Any, tenant_id: int) -> PinnedTenant | None:
    """The tenant as `pinned_tenants` finds it, read now; None when it is disabled or pinned to no media node."""
    found = _pinned(conn.execute(TENANT_PINNING_QUERY, {"tenant_id": tenant_id}))
    return found[0] if found else None


#: One answer to write: its key parts, its scope and the pickled kept value.
Answer = tuple[tuple, scopes.Scope, bytes]


def tenant_answers(conn: Any, tenant: PinnedTenant, cacheable_ms: int,
                   usernames: Collection[str] | None = None) -> tuple[list[Answer], int]:
    """The tenant's directory answers as the fetch path keeps them (key parts, scope, pickled kept value):
    its domain's and each user's with a credential, or only those of the users `usernames` names; and how
    many users that is."""
    answers: list[Answer] = []
    if usernames is None:
        domain = DirectoryDomain(name=tenant.sip_domain, tenant_code=tenant.code, context=tenant.context)
        answers.append((domain_key(tenant.sip_domain), scopes.tenant_rows(tenant.id),
                        _pickled(build_directory(domain))))
        found_users = load_tenant_users(conn, tenant.id)
    else:
        found_users = [found for name in sorted(usernames) for found in load_tenant_users(conn, tenant.id, name)]
    users = 0
    for found in found_users:
        if found.user is None:  # no credential: the fetch answers "not found", nothing worth keeping
            continue
        users += 1
        username = found.user.username
        answers.append((user_key(tenant.sip_domain, username, cacheable_ms), scopes.user(tenant.id, username),
                        _pickled(user_document(found, cacheable_ms))))
    return answers, users


def _pickled(doc: Any) -> bytes:
    return pickle.dumps(kept_answer(serialise(doc)), protocol=pickle.HIGHEST_PROTOCOL)


#: When the first and the last change not yet filled were seen (the filler's clock).
Seen = tuple[float, float]


def _seen_again(seen: Seen | None, now: float) -> Seen:
    """When changes were first and last seen, with one more seen `now`."""
    return ((seen or (now, now))[0], now)


def _renote(changed: dict, what: Any, seen: Seen) -> None:
    """Note again changes taken off `changed` for a fill that failed, with any noted since."""
    first, last = changed.get(what, seen)
    changed[what] = (min(first, seen[0]), max(last, seen[1]))


class StoreFiller:
    """Fills one store from one database connection (in autocommit: each tenant is read afresh), and
    remembers which tenants changed since, to fill them again (`follow`)."""

    def __init__(self, conn: Any, store: LastGoodStore, cacheable_ms: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """`clock` times the settling of changes (`follow`)."""
        self.conn, self.store, self.cacheable_ms, self.clock = conn, store, cacheable_ms, clock
        self.epoch: str | None = None
        self.since: int | None = None
        #: Tenant id -> when changes to its rows (other than one user's) were seen, until it is filled again.
        self.changed: dict[int, Seen] = {}
        #: (Tenant id, username) -> when changes to that user's rows were seen, until it is filled again.
        self.changed_users: dict[tuple[int, str], Seen] = {}
        #: When changes to every tenant's rows were seen, until everything is filled again.
        self.every_tenant_changed: Seen | None = None
        self._job: Any = None

    def close(self) -> None:
        """Close the connection to the store (the next write opens another)."""
        if self._job is not None:
            self._job.close()
            self._job = None

    def _store_connection(self) -> Any:
        if self._job is None:
            self._job = self.store.connect()
        return self._job

    def fill(self, codes: Collection[str] = (), progress: Callable[[int, int], None] | None = None) -> FillSummary:
        """Write the directory answers of the pinned tenants (all, or those `codes` names), a tenant per
        transaction; `progress` is called after each with the number of tenants to fill and its users."""
        self._store_connection()
        tenants = pinned_tenants(self.conn, codes)
        if self.epoch is None:
            self._sync_store()
        return self._fill_tenants([t.id for t in tenants], progress, everything=not codes)

    def follow(self, settle_seconds: float, progress: Callable[[int, int], None] | None = None) -> FillSummary:
        """One round of following the database: note what changed since the last read, and fill again the
        users and tenants whose changes settled for `settle_seconds` (everything after a change to every
        tenant; all over again in a re-created or restored database); `progress` as for `fill`."""
        if self.epoch is not None:
            try:
                return self._fill_changed(settle_seconds, progress)
            except Recreated:
                self.epoch = None  # started over below, with the store
        return self.fill(progress=progress)

    def _fill_changed(self, settle_seconds: float, progress: Callable[[int, int], None] | None) -> FillSummary:
        self._poll()
        now = self.clock()

        def settled(seen: Seen) -> bool:
            first, last = seen
            return now - last >= settle_seconds or now - first >= LONGEST_WAIT * settle_seconds

        if self.every_tenant_changed is not None and settled(self.every_tenant_changed):
            return self.fill(progress=progress)
        due = [tenant for tenant, seen in self.changed.items() if settled(seen)]
        due_users: dict[int, list[str]] = {}
        for (tenant, username), seen in self.changed_users.items():
            if settled(seen) and tenant not in self.changed:  # a tenant still to fill holds its users
                due_users.setdefault(tenant, []).append(username)
        summary = self._fill_tenants(due, progress) if due else FillSummary()
        if due_users:
            summary.add(self._fill_tenants(list(due_users), progress, users=due_users))
        return summary

    def _fill_tenants(self, tenant_ids: list[int], progress: Callable[[int, int], None] | None,
                      everything: bool = False, users: dict[int, list[str]] | None = None) -> FillSummary:
        """Fill these tenants' answers again (only those of the users `users` names for a tenant, when given)."""
        began = time.monotonic()
        summary = FillSummary()
        noted = self.every_tenant_changed
        if everything:
            self.every_tenant_changed = None  # a change to all of them seen from here on notes it again
        try:
            for tenant_id in tenant_ids:
                filled, answers = self._fill_tenant(tenant_id, None if users is None else users[tenant_id])
                if answers:
                    summary.tenants += 1
                    summary.users += filled
                    summary.answers += answers
                if progress is not None:
                    progress(len(tenant_ids), filled)
        except BaseException:
            if everything and self.every_tenant_changed is None:  # not all filled: all of them again
                now = self.clock()
                self.every_tenant_changed = noted or (now, now)
            raise
        summary.seconds = time.monotonic() - began
        return summary

    def _sync_store(self) -> None:
        """Bring the store up to the database as a worker's first poll does (starting it over for another
        database, a new epoch or a restore)."""
        store_epoch, position, _ = self.store.state(None)
        polled = time.monotonic()
        poll = read_changes(self.conn, NOTHING_SINCE if position is None else position)
        if poll is None:
            raise FillError("the database holds no configuration version: create its tables first (xmlcurl init-db)")
        reset = changes_lost(store_epoch, position, poll.epoch, poll.version, poll.seen)
        write_ops(self._store_connection(),
                  [sync_op(poll.epoch, poll.version, poll.changed, reset, self.store.database, polled)])
        self.epoch, self.since = poll.epoch, poll.version
        self.changed.clear()
        self.changed_users.clear()
        self.every_tenant_changed = None

    def _poll(self) -> Poll:
        """The changes since the last read, written to the store and noted for `follow`; Recreated if they
        cannot be followed. Read on only once the store has them: its position must never pass a change
        it was not told of (a worker starting later reads the changes from there)."""
        polled = time.monotonic()  # orders the store's syncs (lastgood._sync), whatever self.clock is
        poll = read_changes(self.conn, self.since)  # type: ignore[arg-type]
        if poll is None or changes_lost(self.epoch, self.since, poll.epoch, poll.version, poll.seen):
            raise Recreated()
        if poll.changed:
            write_ops(self._store_connection(),
                      [sync_op(self.epoch, poll.version, poll.changed, False, self.store.database, polled)])
        tenants, users, every_tenant = scopes.changed_tenants(poll.changed)
        now = self.clock()
        for tenant in tenants:
            self.changed[tenant] = _seen_again(self.changed.get(tenant), now)
        for user in users:
            self.changed_users[user] = _seen_again(self.changed_users.get(user), now)
        if every_tenant:
            self.every_tenant_changed = _seen_again(self.every_tenant_changed, now)
        self.since = poll.version
        return poll

    def _fill_tenant(self, tenant_id: int, usernames: list[str] | None = None) -> tuple[int, int]:
        """One tenant's answers (or only its users `usernames`'), read at a version and written once the store
        knows the changes up to a later one: the users and answers written (none when it is no longer enabled
        and pinned, or the users are gone)."""
        # A change seen from here on is noted again by _poll.
        noted = self.changed.pop(tenant_id, None) if usernames is None else None
        named = ([user for user in self.changed_users if user[0] == tenant_id] if usernames is None
                 else [(tenant_id, name) for name in usernames])
        noted_users = {user: self.changed_users.pop(user) for user in named if user in self.changed_users}
        try:
            row = self.conn.execute(VERSION).one()
            if row.epoch != self.epoch:
                raise Recreated()
            built = int(row.version)
            # Read after the version, as the users are: a change to the pinning, the domain or the
            # tenant's state made after this read supersedes what is written.
            tenant = tenant_pinning(self.conn, tenant_id)
            answers, users = tenant_answers(self.conn, tenant, self.cacheable_ms, usernames) if tenant else ([], 0)
            self._poll()
            if tenant is None:
                return 0, 0
            ops = [put_op(repr(kept_key(node, "directory", parts)), self.epoch, built, scope, value)
                   for parts, scope, value in answers for node in tenant.nodes]
            write_ops(self._store_connection(), ops)
        except BaseException:
            # Not filled: still to be filled again.
            if noted is not None:
                _renote(self.changed, tenant_id, noted)
            for user, seen in noted_users.items():
                _renote(self.changed_users, user, seen)
            raise
        return users, len(ops)

