"""CSV import at scale: 10,000 users in one transaction, timed on each database."""
from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from xmlcurl.models import AuditEntry, SipUser
from xmlcurl.secrets import sip_a1_hash
from xmlcurl.services import Actor, csv_io

ROWS = 10_000


def users_csv(count: int, tenant: str = "acme") -> str:
    lines = ["tenant,username,password,kind,cid_name,cid_number"]
    lines += [f"{tenant},r{n:05d},pw-robot-{n:05d},robot,Robot {n},8657100000000" for n in range(count)]
    return "\n".join(lines) + "\n"


def test_ten_thousand_users_import_in_one_transaction(session, backend, record_property, capsys):
    text = users_csv(ROWS)
    started = time.perf_counter()
    report = csv_io.import_csv(session, Actor.cli("pytest"), "sip_users", text)
    session.commit()
    elapsed = time.perf_counter() - started
    record_property(f"import_10000_users_seconds_{backend}", round(elapsed, 2))
    with capsys.disabled():
        print(f"\n[{backend}] imported {ROWS} SIP users in {elapsed:.2f} s")
    assert report.applied and report.created == ROWS
    count = session.scalar(select(func.count()).select_from(SipUser).where(SipUser.username.like("r%")))
    assert count == ROWS
    user = session.scalars(select(SipUser).where(SipUser.username == "r09999")).one()
    assert user.a1_hash == sip_a1_hash("r09999", "acme.example.com", "pw-robot-09999") and user.kind == "robot"
    # One audit entry for the whole file, listing every row by name.
    entries = session.scalars(select(AuditEntry).where(
        AuditEntry.entity == "sip_user", AuditEntry.action == "import", AuditEntry.source == "cli")).all()
    assert len(entries) == 1 and entries[0].entity_id == f"{ROWS} rows"
    rows = json.loads(entries[0].after_json)["rows"]
    assert len(rows) == ROWS and rows[-1]["name"] == "SIP user r09999@acme.example.com"


def test_one_bad_row_among_thousands_writes_nothing(session):
    text = users_csv(2000) + "acme,r00005,pw-duplicate,robot,,\n"
    report = csv_io.import_csv(session, Actor.cli("pytest"), "sip_users", text)
    assert not report.applied and report.created == 0
    assert [(r["line"], r["errors"]) for r in report.rejected] == [(2002, {"username": ["repeats line 7"]})]
    assert report.rejected[0]["values"]["username"] == "r00005" and report.rejected[0]["values"]["password"] == "***"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(SipUser).where(SipUser.username.like("r%"))) == 0
