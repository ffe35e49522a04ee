"""One `xmlcurl monitor` polling round over N simulated nodes (200: the scale target): its time and the rows written.

    python -m bench.monitor [--nodes 200] [--rounds 3] [--database-url mysql+pymysql://root@127.0.0.1:3306/xmlcurl_bench_monitor]

Every node is an event-socket double on its own loopback port answering with what FreeSWITCH 1.10
answered in tests/conformance/esl/ (routers as router-1, media nodes alternately as media-1 and
media-2; one asyncio loop serves them all, so the doubles cost the machine little). The database
(SQLite in a temporary folder unless --database-url) holds the demo tenants and N nodes. The first
round creates the snapshot rows, the next ones update them, as a running monitor does.
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, event, insert, make_url, select, text

from xmlcurl import config, db
from xmlcurl.models import Node
from xmlcurl.monitor.runner import poll_round
from xmlcurl.push.secret import encrypt_password
from xmlcurl.seed import DEMO_SQL, load_sql_file

ESL = Path(__file__).resolve().parent.parent / "tests" / "conformance" / "esl"
PASSWORD = "ClueCon"


def _answers(folder: str) -> dict[str, bytes]:
    return {path.stem: path.read_bytes() for path in (ESL / folder).glob("*.txt")}


class Doubles:
    """N event-socket servers on 127.0.0.1, in one asyncio loop on a thread of its own."""

    def __init__(self, folders: list[str]) -> None:
        self.answers = {name: _answers(name) for name in set(folders)}
        self.folders = folders
        self.ports: list[int] = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._run, args=(ready,), daemon=True).start()
        ready.wait()

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            for folder in self.folders:
                server = await asyncio.start_server(lambda r, w, f=folder: self._serve(r, w, f), "127.0.0.1", 0, backlog=256)
                self.ports.append(server.sockets[0].getsockname()[1])

        self.loop.run_until_complete(start())
        ready.set()
        self.loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, folder: str) -> None:
        answers = self.answers[folder]
        writer.write(b"Content-Type: auth/request\n\n")
        try:
            while True:
                lines = []
                while True:
                    raw = await reader.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    if not line and lines:
                        break
                    if line:
                        lines.append(line)
                command = lines[0]
                if command.startswith("auth "):
                    ok = command[5:] == PASSWORD
                    writer.write(b"Content-Type: command/reply\nReply-Text: " + (b"+OK accepted" if ok else b"-ERR invalid") + b"\n\n")
                elif command.startswith("api "):
                    body = answers.get(command[4:].replace(" ", "_"), b"-ERR command not found\n")
                    writer.write(b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))
                else:
                    writer.write(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n")
                    return
                await writer.drain()
        finally:
            writer.close()


def _create_database(url: str) -> None:
    """A MySQL/MariaDB database named in URL is created when missing (its tables are recreated anyway)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    server = create_engine(parsed.set(database=""))
    with server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE IF NOT EXISTS `{parsed.database}` CHARACTER SET utf8mb4"))
    server.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--parallel", type=int, default=None, help="XMLCURL_MONITOR_PARALLEL (default: the setting's)")
    args = parser.parse_args()

    routers = max(1, args.nodes // 20)
    # The demo's router-1, media-1 and media-2 first (their tenants are pinned to them), then the rest.
    folders = ["router-1", "media-1", "media-2"] + ["router-1"] * (routers - 1) + [
        ("media-1", "media-2")[i % 2] for i in range(args.nodes - routers - 2)]
    doubles = Doubles(folders)

    overrides = {"ENV": "testing", "SECRET_KEY": "bench-" + "x" * 40, "LOG_LEVEL": "WARNING"}
    if args.parallel:
        overrides["MONITOR_PARALLEL"] = args.parallel
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/monitor.sqlite3"
        _create_database(url)
        settings = config.load(environ={}, overrides={**overrides, "DATABASE_URL": url})
        database = db.Database(url, None, settings)
        engine = database.engine
        db.drop_all(engine)
        db.create_schema(engine)
        load_sql_file(engine, DEMO_SQL)
        secret = encrypt_password(settings, PASSWORD)
        with database.sessionmaker() as session:
            for name, port in zip(("router-1", "media-1", "media-2"), doubles.ports):
                node = session.scalar(select(Node).where(Node.name == name))
                node.esl_address, node.esl_port, node.esl_password_enc = "127.0.0.1", port, secret
            session.execute(insert(Node), [
                {"name": f"{'router' if f == 'router-1' else 'media'}-bench-{i}", "role": "router" if f == "router-1" else "media",
                 "sip_address": "127.0.0.1", "http_username": f"bench-{i}", "http_secret_hash": "-",
                 "esl_port": port, "esl_password_enc": secret}
                for i, (f, port) in enumerate(zip(folders[3:], doubles.ports[3:]), start=4)])
            session.commit()
            assert session.scalar(select(Node.id).limit(1)) is not None
        statements = [0]
        event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        print(f"monitor round: {args.nodes} nodes ({routers} routers), database {engine.dialect.name}, "
              f"{settings['MONITOR_PARALLEL']} polled at once, {len(doubles.ports)} doubles")
        for n in range(1, args.rounds + 1):
            statements[0] = 0
            began = time.perf_counter()
            report = poll_round(database.sessionmaker, settings, "bench")
            elapsed = time.perf_counter() - began
            assert report is not None
            print(f"round {n}: {elapsed:.3f} s (polling {report.poll_seconds:.3f} s, storing "
                  f"{elapsed - report.poll_seconds:.3f} s), {report.answered}/{report.nodes} nodes answered, "
                  f"{report.rows} rows written, {statements[0]} SQL statements")
        database.dispose()


if __name__ == "__main__":
    main()
