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
loadmodule "ctl.so"
loadmodule "db_mysql.so"
loadmodule "dispatcher.so"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("dispatcher", "db_url", "{db_url}")
modparam("dispatcher", "table_name", "dispatcher_kamailio")
request_route {{ drop; }}
"""


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
    """Kamailio on 127.0.0.1 (a free UDP port, never 5060); yields its ctl socket; killed at the end."""
    if not MODULES or shutil.which("kamailio") is None or shutil.which("kamcmd") is None:
        message = "kamailio with kamailio-mysql-modules is not installed (make system-deps)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    _engine, url = kamailio_db
    ctl = tmp_path / "kamailio_ctl"
    config = tmp_path / "kamailio.cfg"
    db_url = f"mysql://{url.username}{':' + url.password if url.password else ''}@{url.host}:{url.port or 3306}/{url.database}"
    config.write_text(CONFIG.format(port=free_udp_port(), mpath=os.path.dirname(MODULES[0]) + "/", ctl=ctl, db_url=db_url))
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
        yield ctl
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        log.close()


def test_kamailio_loads_one_set_per_tenant_from_the_demo_pinning(kamailio):
    assert dispatcher_sets(kamcmd(kamailio, "dispatcher.list")) == {
        1: [("sip:127.0.0.11:5060", 100, "weight=100")],
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.11:5060", 100, "weight=100"), ("sip:127.0.0.12:5060", 50, "weight=50")],
    }


def test_kamailio_follows_a_plain_sql_pinning_change_after_reload(kamailio, kamailio_db):
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE tenant_nodes SET weight = 200 WHERE tenant_id = 3 AND node_id = 3"))
        conn.execute(text("INSERT INTO tenant_nodes (tenant_id, node_id, weight) VALUES (1, 3, 30)"))
        conn.execute(text("UPDATE nodes SET sip_address = '127.0.0.13', sip_port = 5062 WHERE name = 'media-1'"))
        conn.execute(text("UPDATE tenants SET enabled = 0 WHERE code = 'globex'"))
    kamcmd(kamailio, "dispatcher.reload")
    assert dispatcher_sets(kamcmd(kamailio, "dispatcher.list")) == {
        1: [("sip:127.0.0.13:5062", 100, "weight=100"), ("sip:127.0.0.12:5060", 30, "weight=30")],
        3: [("sip:127.0.0.12:5060", 200, "weight=100"), ("sip:127.0.0.13:5062", 100, "weight=100")],
    }


def test_kamailio_drops_a_disabled_media_node_after_reload(kamailio, kamailio_db):
    engine, _url = kamailio_db
    with engine.begin() as conn:
        conn.execute(text("UPDATE nodes SET enabled = 0 WHERE name = 'media-1'"))
    kamcmd(kamailio, "dispatcher.reload")
    assert dispatcher_sets(kamcmd(kamailio, "dispatcher.list")) == {
        2: [("sip:127.0.0.12:5060", 100, "weight=100")],
        3: [("sip:127.0.0.12:5060", 50, "weight=50")],
    }
