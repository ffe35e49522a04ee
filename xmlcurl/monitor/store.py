"""Write a polling round into the snapshot tables: one transaction per round, one row per node and per thing.

Only the lease holder writes (see `take_lease`), so two monitors never count the same missed poll
twice. A node is marked down after MISSES_FOR_DOWN polls in a row without a full answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..models import (ClusterGatewayState, ClusterMonitorLease, ClusterNodeState, ClusterProfileState,
                      ClusterRegistration, ClusterTenantCalls, Tenant)
from .poll import Reading

MISSES_FOR_DOWN = 2
LEASE_ID = 1
#: The mod_hash realms xmlcurl's dialplans count calls in (fetch/dialplan/media.py and router.py).
CALLS_REALMS = {"media": "tenant-calls", "router": "tenant-calls-router"}
CPS_REALM = "tenant-cps"


def utcnow() -> dt.datetime:
    """Naive UTC, as every DATETIME column holds."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def take_lease(session: Session, holder: str, now: dt.datetime, seconds: float) -> bool:
    """Hold (or renew) the polling lease for SECONDS; False while another live monitor holds it. Commits."""
    expires = now + dt.timedelta(seconds=seconds)
    taken = session.execute(
        update(ClusterMonitorLease).where(ClusterMonitorLease.id == LEASE_ID)
        .where((ClusterMonitorLease.holder == holder) | (ClusterMonitorLease.expires_at < now))
        .values(holder=holder, expires_at=expires)).rowcount
    if taken:
        session.commit()
        return True
    if session.get(ClusterMonitorLease, LEASE_ID) is not None:
        session.rollback()
        return False
    try:
        session.add(ClusterMonitorLease(id=LEASE_ID, holder=holder, expires_at=expires))
        session.commit()
        return True
    except IntegrityError:  # another monitor created it first
        session.rollback()
        return False


def release_lease(session: Session, holder: str) -> None:
    """Let another monitor take over at once (on a clean stop)."""
    session.execute(delete(ClusterMonitorLease).where(ClusterMonitorLease.id == LEASE_ID,
                                                      ClusterMonitorLease.holder == holder))
    session.commit()


@dataclass(frozen=True)
class Tenants:
    """Tenant ids by code (limit counters) and by SIP domain (registrations)."""

    by_code: dict[str, int]
    by_domain: dict[str, int]

    @classmethod
    def load(cls, session: Session) -> "Tenants":
        rows = session.execute(select(Tenant.id, Tenant.code, Tenant.sip_domain)).tuples().all()
        return cls({code: tid for tid, code, _ in rows}, {domain.lower(): tid for tid, _, domain in rows})


def store_round(sessions: sessionmaker, readings: Sequence[Reading], tenants: Tenants, now: dt.datetime) -> int:
    """Write every reading in one transaction (a few statements per round, not per node); the rows written."""
    with sessions() as session:
        try:
            written = store_readings(session, readings, tenants, now)
            session.commit()
        except Exception:
            session.rollback()
            raise
    return written


def store_readings(session: Session, readings: Sequence[Reading], tenants: Tenants, now: dt.datetime) -> int:
    """The readings into the snapshot (not committed): existing rows are read in one query per table."""
    ids = [r.target.node_id for r in readings]
    if not ids:
        return 0
    states = {s.node_id: s for s in session.scalars(select(ClusterNodeState).where(ClusterNodeState.node_id.in_(ids)))}
    answered = [r for r in readings if r.ok]
    answered_ids = [r.target.node_id for r in answered]
    profiles: dict[int, dict[str, ClusterProfileState]] = {}
    gateways: dict[int, dict[str, ClusterGatewayState]] = {}
    if answered_ids:
        for p in session.scalars(select(ClusterProfileState).where(ClusterProfileState.node_id.in_(answered_ids))):
            profiles.setdefault(p.node_id, {})[p.name] = p
        for g in session.scalars(select(ClusterGatewayState).where(ClusterGatewayState.node_id.in_(answered_ids))):
            gateways.setdefault(g.node_id, {})[g.name] = g
    written = 0
    replaced: list[int] = []  # nodes whose registrations and calls are replaced (answered) or cleared (down)
    registrations: list[dict] = []
    calls: list[dict] = []
    for reading in readings:
        node_id = reading.target.node_id
        state = states.get(node_id)
        if state is None:
            state = ClusterNodeState(node_id=node_id, up=None, since=now, polled_at=now, missed_polls=0)
            session.add(state)
        written += 1
        if _store_state(state, reading, now):
            replaced.append(node_id)
        if reading.ok:
            written += _store_profiles(session, node_id, reading, profiles.get(node_id, {}), now)
            written += _store_gateways(session, node_id, reading, gateways.get(node_id, {}), now)
            registrations += _registration_rows(node_id, reading, tenants, now)
            calls += _call_rows(node_id, reading, tenants, now)
    session.flush()
    if replaced:
        for model in (ClusterRegistration, ClusterTenantCalls):
            gone = session.execute(delete(model).where(model.node_id.in_(replaced))).rowcount
            written += max(gone, 0)
    if registrations:
        session.execute(insert(ClusterRegistration), registrations)
    if calls:
        session.execute(insert(ClusterTenantCalls), calls)
    return written + len(registrations) + len(calls)


def _store_state(state: ClusterNodeState, reading: Reading, now: dt.datetime) -> bool:
    """The node's own row; True when its registrations and calls are to be replaced or cleared."""
    state.polled_at = now
    if not reading.monitored:
        if state.up is not None:
            state.since = now
        state.up, state.error, state.missed_polls = None, reading.error, 0
        return True
    if not reading.ok:
        state.missed_polls = (state.missed_polls or 0) + 1
        state.error = reading.error
        if state.missed_polls >= MISSES_FOR_DOWN and state.up is not False:
            state.up, state.since = False, now
        if state.up is False:
            state.calls = state.uptime_seconds = state.sessions_per_second = None
        # A node that does not answer has no registrations or calls we can vouch for.
        return state.up is False
    if state.up is not True:
        state.up, state.since = True, now
    status = reading.status
    assert status is not None
    state.missed_polls, state.seen_at = 0, now
    state.error = "; ".join(reading.notes)[:255] or None
    state.uptime_seconds, state.version = status.uptime_seconds, reading.version
    state.calls, state.sessions_per_second, state.max_sessions = reading.calls, status.sessions_per_second, status.max_sessions
    return True


def _store_profiles(session: Session, node_id: int, reading: Reading, existing: dict[str, ClusterProfileState],
                    now: dt.datetime) -> int:
    current = dict(reading.profiles)
    for name, row in existing.items():
        if name not in current:
            session.delete(row)
    for name, state in current.items():
        row = existing.get(name)
        if row is None:
            session.add(ClusterProfileState(node_id=node_id, name=name[:64], state=state[:64], seen_at=now))
        else:
            row.state, row.seen_at = state[:64], now
    return len(current) + len(existing.keys() - current.keys())


def _store_gateways(session: Session, node_id: int, reading: Reading, existing: dict[str, ClusterGatewayState],
                    now: dt.datetime) -> int:
    current = {g.name: g for g in reading.gateways}
    for name, row in existing.items():
        if name not in current:
            session.delete(row)
    for name, gw in current.items():
        row = existing.get(name)
        if row is None:
            row = ClusterGatewayState(node_id=node_id, name=name[:64], changed_at=now)
            session.add(row)
        elif (row.state, row.status) != (gw.state[:32], gw.status[:16]):
            row.changed_at = now
        row.profile, row.state, row.status, row.ping_ms = gw.profile[:64], gw.state[:32], gw.status[:16], gw.ping_ms
        row.calls_in, row.calls_out = gw.calls_in, gw.calls_out
        row.failed_calls_in, row.failed_calls_out = gw.failed_calls_in, gw.failed_calls_out
        row.seen_at = now
    return len(current) + len(existing.keys() - current.keys())


def _epoch(value: int | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(value, dt.timezone.utc).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _registration_rows(node_id: int, reading: Reading, tenants: Tenants, now: dt.datetime) -> list[dict]:
    # Registrations come and go by the second: the node's list replaces the stored one whole.
    return [{"node_id": node_id, "tenant_id": tenants.by_domain.get(r.realm.lower()), "reg_user": r.reg_user[:64],
             "realm": r.realm[:253], "contact": r.contact[:512], "network_ip": r.network_ip[:45],
             "network_port": r.network_port, "network_proto": r.network_proto[:8], "expires_at": _epoch(r.expires),
             "seen_at": now}
            for r in reading.registrations]


def _call_rows(node_id: int, reading: Reading, tenants: Tenants, now: dt.datetime) -> list[dict]:
    calls_realm = CALLS_REALMS.get(reading.target.role, "tenant-calls")
    per_tenant: dict[int, list[int]] = {}
    for counter in reading.limits:
        tenant_id = tenants.by_code.get(counter.resource)
        if tenant_id is None:
            continue
        if counter.realm == calls_realm:
            per_tenant.setdefault(tenant_id, [0, 0])[0] = max(counter.usage, 0)
        elif counter.realm == CPS_REALM:
            per_tenant.setdefault(tenant_id, [0, 0])[1] = counter.rate_now(reading.at_epoch)
    return [{"node_id": node_id, "tenant_id": tid, "calls": calls, "cps": cps, "seen_at": now}
            for tid, (calls, cps) in per_tenant.items()]
