"""A real Kamailio running deploy/kamailio/kamailio.cfg on a MariaDB database with the demo data,
and SIP doubles on 127.0.0.x standing in for the media nodes and the phones."""
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
from tests.dispatcher.sip_doubles import SipDouble
from xmlcurl import db
from xmlcurl.seed import DEMO_SQL, load_sql_file

SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio" / "kamailio.cfg"
MODULES = sorted(glob.glob("/usr/lib/*/kamailio/modules/dispatcher.so"))
MEDIA_ADDRESSES = {"media-1": "127.0.0.11", "media-2": "127.0.0.12"}
PHONE_ADDRESS = "127.0.0.21"


def render_config(source: str, settings: dict[str, str]) -> str:
    """The shipped configuration with the `#!substdef` site settings replaced by SETTINGS."""
    for name, value in settings.items():
        source, count = re.subn(rf'^#!substdef "!{name}!.*!g"$', f'#!substdef "!{name}!{value}!g"',
                                source, flags=re.M)
        assert count == 1, f"{SHIPPED_CONFIG} has no site setting {name}"
    return source


def free_udp_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


def answers_keepalive(port: int, wait: float = 0.2) -> bool:
    """Whether the proxy on 127.0.0.1:PORT answers a keepalive OPTIONS with 200 within WAIT seconds."""
    probe = SipDouble("ready", "127.0.0.1")
    try:
        sent = probe.send_request("OPTIONS", f"sip:127.0.0.1:{port}", ("127.0.0.1", port))
        reply = probe.final_reply(sent["call_id"], "OPTIONS", timeout=wait)
        return reply is not None and reply.status == 200
    finally:
        probe.close()


def kamcmd(ctl: Path, *args: str) -> str:
    done = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", *args], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def dispatcher_sets(listing: str) -> dict[int, list[tuple[str, int, str, str]]]:
    """kamcmd dispatcher.list -> {set id: [(uri, priority, attrs body, flags), ...]} in Kamailio's order."""
    sets: dict[int, list[tuple[str, int, str, str]]] = {}
    current = None
    uri = priority = flags = None
    for line in listing.splitlines():
        line = line.strip()
        if match := re.fullmatch(r"ID: (\d+)", line):
            current = sets.setdefault(int(match[1]), [])
        elif match := re.fullmatch(r"URI: (\S+)", line):
            uri = match[1]
        elif match := re.fullmatch(r"FLAGS: (\S+)", line):
            flags = match[1]
        elif match := re.fullmatch(r"PRIORITY: (-?\d+)", line):
            priority = int(match[1])
        elif match := re.fullmatch(r"BODY: (.*)", line):
            current.append((uri, priority, match[1], flags))
    return sets


def require_kamailio() -> None:
    if not MODULES or shutil.which("kamailio") is None or shutil.which("kamcmd") is None:
        message = "kamailio with kamailio-mysql-modules is not installed (scripts/system-deps.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def kamailio_schema():
    """A MariaDB database from schema.sql for the Kamailio tests, dropped at the end of the run."""
    require_kamailio()
    url = MYSQL_URL + "_kamailio"
    engine = mysql_server_engine(url)
    db.drop_all(engine)
    db.create_schema(engine)
    yield engine, make_url(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{make_url(url).database}`"))
    engine.dispose()


@pytest.fixture
def kamailio_db(kamailio_schema):
    """The Kamailio tests' database holding exactly the demo data again (committed: Kamailio reads it)."""
    engine, url = kamailio_schema
    with engine.begin() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_type = 'BASE TABLE' AND table_name NOT IN ('version', 'config_version')")).scalars().all()
        conn.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in tables:
            conn.execute(text(f"DELETE FROM `{table}`"))
        conn.execute(text("SET FOREIGN_KEY_CHECKS=1"))
    load_sql_file(engine, DEMO_SQL)
    return engine, url


@pytest.fixture
def media(kamailio_db):
    """Doubles for media-1 and media-2 on their demo addresses; the nodes table points at their ports."""
    engine, _url = kamailio_db
    doubles = {name: SipDouble(name, address) for name, address in MEDIA_ADDRESSES.items()}
    with engine.begin() as conn:
        for name, double in doubles.items():
            conn.execute(text("UPDATE nodes SET sip_address = :a, sip_port = :p WHERE name = :n"),
                         {"a": double.address, "p": double.port, "n": name})
    yield doubles
    for double in doubles.values():
        double.close()


@pytest.fixture
def phone():
    """A phone double on 127.0.0.21."""
    double = SipDouble("phone", PHONE_ADDRESS)
    yield double
    double.close()


class Proxy:
    """A running Kamailio: its SIP address, control socket and log."""

    def __init__(self, address: tuple[str, int], ctl: Path, log: Path):
        self.address = address
        self.ctl = ctl
        self.log = log

    def sets(self) -> dict[int, list[tuple[str, int, str, str]]]:
        return dispatcher_sets(kamcmd(self.ctl, "dispatcher.list"))

    def flags(self, setid: int, uri: str) -> str | None:
        return next((f for u, _p, _a, f in self.sets().get(setid, []) if u == uri), None)

    def wait_flags(self, setid: int, uri: str, prefix: str, timeout: float) -> str | None:
        """Poll the proxy's view until URI in SETID has flags starting with PREFIX (None after TIMEOUT s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            flags = self.flags(setid, uri)
            if flags is not None and flags.startswith(prefix):
                return flags
            time.sleep(0.2)
        return None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_proxy(kamailio_db, tmp_path: Path):
    """Start Kamailio with the shipped configuration: start_proxy(ping_s=..., sets_check_s=...) -> Proxy.

    The timers are the shipped ones unless given (media_fr_ms = XC_MEDIA_FR_MS). Kamailio listens on a free UDP port of 127.0.0.1; every process is killed at the end.
    """
    require_kamailio()
    _engine, url = kamailio_db
    procs: list[subprocess.Popen] = []
    logs = []

    def start(ping_s: int = 30, sets_check_s: int = 3600, media_fr_ms: int | None = None) -> Proxy:
        ctl = tmp_path / "kamailio_ctl"
        port = free_udp_port()
        db_url = (f"mysql://{url.username}{':' + url.password if url.password else ''}"
                  f"@{url.host}:{url.port or 3306}/{url.database}")
        config = tmp_path / "kamailio.cfg"
        settings = {
            "XC_LISTEN": f"udp:127.0.0.1:{port}",
            "XC_DB_URL": db_url,
            "XC_CTL": f"unix:{ctl}",
            "XC_PING_S": str(ping_s),
            "XC_SETS_CHECK_S": str(sets_check_s),
            "XC_CHILDREN": "2",
        }
        if media_fr_ms is not None:
            settings["XC_MEDIA_FR_MS"] = str(media_fr_ms)
        config.write_text(render_config(SHIPPED_CONFIG.read_text(), settings))
        log_path = tmp_path / "kamailio.log"
        log = log_path.open("wb")
        logs.append(log)
        proc = subprocess.Popen(
            ["kamailio", "-f", str(config), "-DD", "-E", "-Y", str(tmp_path), "-P", str(tmp_path / "kamailio.pid")],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 15
        # The control socket appears in the ctl module's init, before Kamailio binds its SIP port; a
        # request sent in between is lost (the doubles never retransmit) and its test waits for
        # nothing. Ready means a keepalive OPTIONS to the proxy itself is answered.
        while not (ctl.exists() and answers_keepalive(port)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("kamailio did not start:\n" + log_path.read_text(errors="replace"))
            time.sleep(0.05)
        return Proxy(("127.0.0.1", port), ctl, log_path)

    yield start
    for proc in procs:
        stop_process_group(proc)
    for log in logs:
        log.close()


def live_group_members(pgid: int) -> list[int]:
    """Processes of process group PGID that are still running (zombies left out)."""
    members = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(Path(stat).parent.name))
    return members


def stop_process_group(proc: subprocess.Popen) -> None:
    """SIGTERM Kamailio's process group; SIGKILL what is left after 5 s; wait (bounded) until none runs."""
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            if not live_group_members(proc.pid):
                break
            time.sleep(0.05)
        else:
            continue
        break
    proc.wait(timeout=5)
    left = live_group_members(proc.pid)
    assert not left, f"kamailio processes {left} survived SIGKILL"
