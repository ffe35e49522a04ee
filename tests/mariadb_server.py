"""Private MariaDB servers for tests that stop, restart or replicate a database.

Each server has its own data directory and port on 127.0.0.1 and is started as a subprocess
of the test; the shared server on 3306 is never touched.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pymysql
import pytest

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_binaries() -> None:
    if not (os.path.exists(MARIADBD) and INSTALL_DB):
        message = "mariadbd / mariadb-install-db not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


class PrivateMariaDB:
    """One mariadbd subprocess with binary logging (so it can be a primary)."""

    def __init__(self, root: Path, server_id: int) -> None:
        self.root = root
        self.server_id = server_id
        self.port = free_port()
        self.datadir = root / "data"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/xmlcurl"

    def install(self, attempts: int = 3) -> "PrivateMariaDB":
        """Create the data directory. mariadbd's bootstrap now and then dies of a signal 11 on a busy
        machine (seen with MariaDB 10.11, one run in a few with several at once): it is run again on
        an empty directory, and the last failure's output is shown."""
        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, attempts + 1):
            shutil.rmtree(self.datadir, ignore_errors=True)
            ran = subprocess.run(
                [INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", "--user=root",
                 "--auth-root-authentication-method=normal", "--skip-test-db", f"--tmpdir={self.tmpdir}"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
            )
            if ran.returncode == 0:
                return self
        raise RuntimeError(f"{INSTALL_DB} failed {attempts} times; last output:\n"
                           f"{ran.stdout.decode(errors='replace')[-2000:]}")

    def start(self, timeout: float = 30) -> "PrivateMariaDB":
        with open(self.root / "server.log", "ab") as log:
            self.process = self._spawn(log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                self.execute("SELECT 1")
                return self
            except pymysql.MySQLError:
                time.sleep(0.2)
        raise RuntimeError("mariadbd did not become ready")

    @property
    def tmpdir(self) -> Path:
        # A temporary table's file is named after the server's pid. The shared server may run in
        # another pid namespace (started outside the test run) with the same pid as this one: in
        # a shared /tmp one server then deletes the other's files ("Error on delete of
        # '/tmp/#sql-temptable-...'"), so each private server keeps its own.
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _spawn(self, log) -> subprocess.Popen:
        return subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}", "--user=root",
             f"--pid-file={self.root / 'pid'}", f"--server-id={self.server_id}", f"--tmpdir={self.tmpdir}",
             f"--log-bin={self.root / 'binlog'}", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=16M", "--skip-name-resolve=0"],
            stdout=log, stderr=log,
        )

    def stop(self, timeout: float = 30) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def execute(self, sql: str, database: str | None = None) -> list[tuple]:
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="",
                               database=database, connect_timeout=2, autocommit=True)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            conn.close()

    def replicate_from(self, primary: "PrivateMariaDB") -> None:
        """Start replicating everything `primary` logged since it was installed."""
        self.execute(
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, MASTER_USER='root', "
            "MASTER_PASSWORD='', MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4"
        )
        self.execute("START SLAVE")
