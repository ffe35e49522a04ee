"""The polling loop of `xmlcurl monitor`: take the lease, poll every enabled node, store the round, sleep."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from ..models import Node
from ..push.esl import EslClient
from .poll import Connect, Reading, Target, poll_all
from .store import Tenants, release_lease, store_round, take_lease, utcnow

log = logging.getLogger("xmlcurl.monitor")


def default_holder() -> str:
    """This process, as named in the lease: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"[:128]


def load_targets(sessions: sessionmaker) -> list[Target]:
    """Every enabled node, with its event-socket address (esl_address, else sip_address)."""
    with sessions() as session:
        nodes = session.scalars(select(Node).where(Node.enabled.is_(True)).order_by(Node.role.desc(), Node.name)).all()
        return [Target(n.id, n.name, n.role, n.esl_address or n.sip_address, n.esl_port, n.esl_password_enc) for n in nodes]


@dataclass(frozen=True)
class RoundReport:
    """What one round did: nodes polled, how many answered in full, rows written, seconds taken (and polling)."""

    nodes: int
    answered: int
    rows: int
    seconds: float
    readings: tuple[Reading, ...]
    poll_seconds: float = 0.0


def poll_round(sessions: sessionmaker, settings: Mapping[str, Any], holder: str,
               connect: Connect = EslClient) -> RoundReport | None:
    """One round if this process holds the lease (None while another monitor polls)."""
    started = time.perf_counter()
    lease_seconds = 3 * float(settings["MONITOR_INTERVAL"]) + float(settings["MONITOR_TIMEOUT"])
    with sessions() as session:
        if not take_lease(session, holder, utcnow(), lease_seconds):
            return None
        tenants = Tenants.load(session)
    targets = load_targets(sessions)
    polling = time.perf_counter()
    readings = poll_all(targets, settings, connect)
    polled = time.perf_counter() - polling
    rows = store_round(sessions, readings, tenants, utcnow())
    answered = sum(1 for r in readings if r.ok)
    return RoundReport(len(targets), answered, rows, time.perf_counter() - started, tuple(readings), polled)


def run_forever(sessions: sessionmaker, settings: Mapping[str, Any], stop: threading.Event,
                holder: str | None = None, connect: Connect = EslClient) -> None:
    """Poll every MONITOR_INTERVAL seconds until STOP is set; a failed round is logged and the next one tried."""
    holder = holder or default_holder()
    interval = float(settings["MONITOR_INTERVAL"])
    standing_by = False
    try:
        while not stop.is_set():
            began = time.monotonic()
            try:
                report = poll_round(sessions, settings, holder, connect)
            except Exception:  # noqa: BLE001 - the database or a node misbehaved: try again next round
                log.exception("monitor round failed; trying again in %.1f s", interval)
                report = None
            else:
                if report is None:
                    if not standing_by:
                        log.info("another monitor holds the lease; standing by")
                    standing_by = True
                else:
                    standing_by = False
                    for reading in report.readings:
                        if reading.error and reading.monitored:
                            log.warning("monitor node=%s error=%s", reading.target.name, reading.error)
                    log.info("monitor round nodes=%d answered=%d rows=%d seconds=%.3f", report.nodes, report.answered,
                             report.rows, report.seconds)
            stop.wait(max(0.0, interval - (time.monotonic() - began)))
    finally:
        try:
            with sessions() as session:
                release_lease(session, holder)
        except Exception:  # noqa: BLE001 - the lease expires on its own
            log.warning("could not release the monitor lease; it expires by itself")
