"""A real Kamailio (Debian's package) loads the tenant sets from the dispatcher_kamailio view on MariaDB."""
from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from tests.conftest import IN_CI, MYSQL_URL, mysql_server_engine
from xmlcurl import db
from xmlcurl.seed import DEMO_SQL, load_sql_file

pytestmark = pytest.mark.mysql

MODULES = sorted(glob.glob("/usr/lib/*/kamailio/modules/dispatcher.so"))

CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
mpath="{mpath}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "ctl.so"
loadmodule "db_mysql.so"
loadmodule "sqlops.so"
loadmodule "dispatcher.so"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("sqlops", "sqlcon", "xc=>{db_url}")
modparam("dispatcher", "db_url", "{db_url}")
modparam("dispatcher", "table_name", "dispatcher_kamailio")
# The README's tenant lookup, answering with a redirect to the chosen media node instead of relaying.
request_route {{
    $var(setid) = 0;
    sql_pvquery("xc", "SELECT setid FROM dispatcher_domains WHERE domain = '$(rd{{s.escape.common}})'", "$var(setid)");
    if ($var(setid) == 0 || !ds_select_dst("$var(setid)", "8")) {{
        sl_send_reply("404", "No media node for this domain");
        exit;
    }}
    append_to_reply("Contact: <$du>\r\n");
    sl_send_reply("302", "Media node");
}}
"""


def sip_options(port: int, domain: str) -> tuple[str, str | None]:
    """Send an OPTIONS for user 1000 at DOMAIN; return the status line and the Contact of the reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        local = sock.getsockname()[1]
        message = (
            f"OPTIONS sip:1000@{domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK-{domain}-{time.monotonic_ns()}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:test@127.0.0.1>;tag=t1\r\nTo: <sip:1000@{domain}>\r\n"
            f"Call-ID: {time.monotonic_ns()}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        sock.sendto(message.encode(), ("127.0.0.1", port))
        reply = sock.recv(65535).decode()
    lines = reply.split("\r\n")
    contact = next((line.split("<", 1)[1].split(">", 1)[0] for line in lines if line.lower().startswith("contact:")), None)
    return lines[0], contact


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def kamcmd(ctl: Path, *args: str) -> str:
    done = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", *args], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout


def dispatcher_sets(listing: str) -> dict[int, list[tuple[str, int, str]]]:
    """kamcmd dispatcher.list -> {set id: [(uri, priority, attrs body), ...]} in Kamailio's order."""
    sets: dict[int, list[tuple[str, int, str]]] = {}
    current = None
    uri = priority = None
    for line in listing.splitlines():
        line = line.strip()
        if match := re.fullmatch(r"ID: (\d+)", line):
            current = sets.setdefault(int(match[1]), [])
        elif match := re.fullmatch(r"URI: (\S+)", line):
            uri = match[1]
        elif match := re.fullmatch(r"PRIORITY: (-?\d+)", line):
            priority = int(match[1])
        elif match := re.fullmatch(r"BODY: (.*)", line):
            current.append((uri, priority, match[1]))
    return sets


@pytest.fixture
def kamailio_db():
    """A committed per-test MariaDB database from schema.sql with the demo data (Kamailio reads it)."""
    url = MYSQL_URL + "_kamailio"
    engine = mysql_server_engine(url)
    db.drop_all(engine)
    db.create_schema(engine)
    load_sql_file(engine, DEMO_SQL)
    yield engine, make_url(url)
    engine.dispose()


@pytest.fixture
def kamailio(kamailio_db, tmp_path: Path):
    """Kamailio on 127.0.0.1 (a free UDP port, never 5060); yields (ctl socket, SIP port); killed at the end."""
    if not MODULES or shutil.which("kamailio") is None or shutil.which("kamcmd") is None:
        message = "kamailio with kamailio-mysql-modules is not installed (make system-deps)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    _engine, url = kamailio_db
    ctl = tmp_path / "kamailio_ctl"
    config = tmp_path / "kamailio.cfg"
    db_url = f"mysql://{url.username}{':' + url.password if url.password else ''}@{url.host}:{url.port or 3306}/{url.database}"
    port = free_udp_port()
    config.write_text(CONFIG.format(port=port, mpath=os.path.dirname(MODULES[0]) + "/", ctl=ctl, db_url=db_url))
    log = (tmp_path / "kamailio.log").open("wb")
    proc = subprocess.Popen(
        ["kamailio", "-f", str(config), "-DD", "-E", "-Y", str(tmp_path), "-P", str(tmp_path / "kamailio.pid")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while not ctl.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("kamailio did not start:\n" + (tmp_path / "kamailio.log").read_text(errors="replace"))
            time.sleep(0.1)
        yield ctl, port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def test_kamailio_loads_one_set_per_tenant_from_the_demo_pinning(kamailio):
    ctl, _port = kamailio
    assert dispatcher_sets(kamcmd(ctl, "dispatcher.list")) == {
        1: [("sip:127.0.0.11:5060", 100, "weight=100")],
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.11:5060", 100, "weight=100"), ("sip:127.0.0.12:5060", 50, "weight=50")],
    }


def test_kamailio_follows_a_plain_sql_pinning_change_after_reload(kamailio, kamailio_db):
    ctl, _port = kamailio
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE tenant_nodes SET weight = 200 WHERE tenant_id = 3 AND node_id = 3"))
        conn.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (1, 3, 30)"))
        conn.execute(text("UPDATE nodes SET sip_address = '127.0.0.13', sip_port = 5062 WHERE name = 'media-1'"))
        conn.execute(text("UPDATE tenants SET enabled = 0 WHERE code = 'globex'"))
    kamcmd(ctl, "dispatcher.reload")
    assert dispatcher_sets(kamcmd(ctl, "dispatcher.list")) == {
        1: [("sip:127.0.0.13:5062", 100, "weight=100"), ("sip:127.0.0.12:5060", 30, "weight=30")],
        3: [("sip:127.0.0.12:5060", 200, "weight=100"), ("sip:127.0.0.13:5062", 100, "weight=100")],
    }


def test_kamailio_drops_a_disabled_media_node_after_reload(kamailio, kamailio_db):
    ctl, _port = kamailio
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE nodes SET enabled = 0 WHERE name = 'media-1'"))
    kamcmd(ctl, "dispatcher.reload")
    assert dispatcher_sets(kamcmd(ctl, "dispatcher.list")) == {
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.12:5060", 50, "weight=50")],
    }


def test_requests_go_to_the_tenants_preferred_media_node_by_domain(kamailio, kamailio_db):
    ctl, port = kamailio
    engine, _url = kamailio_db
    assert sip_options(port, "acme.example.com") == ("SIP/2.0 302 Media node", "sip:127.0.0.11:5060")
    assert sip_options(port, "globex.example.com") == ("SIP/2.0 302 Media node", "sip:127.0.0.12:5060")
    assert sip_options(port, "initech.example.com") == ("SIP/2.0 302 Media node", "sip:127.0.0.11:5060")
    assert sip_options(port, "unknown.example.com")[0] == "SIP/2.0 404 No media node for this domain"
    with engine.begin() as conn:
        conn.execute(text("UPDATE nodes SET enabled = 0 WHERE name = 'media-1'"))
    kamcmd(ctl, "dispatcher.reload")
    assert sip_options(port, "initech.example.com") == ("SIP/2.0 302 Media node", "sip:127.0.0.12:5060")
    assert sip_options(port, "acme.example.com")[0] == "SIP/2.0 404 No media node for this domain"
