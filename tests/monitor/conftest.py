"""Event-socket doubles answering with what FreeSWITCH 1.10 really answered (tests/conformance/esl/)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from tests.conftest import CONFORMANCE
from tests.push.esl_double import EslDouble
from xmlcurl import db
from xmlcurl.models import Node
from xmlcurl.monitor.runner import poll_round
from xmlcurl.push.secret import encrypt_password

ESL = CONFORMANCE / "esl"
PASSWORD = "ClueCon"
ESL_KEY = Fernet.generate_key().decode()


def answer_file(folder: str, command: str) -> Path:
    return ESL / folder / (command.replace(" ", "_") + ".txt")


def captured(folder: str, *fallbacks: str, overrides: dict[str, object] | None = None) -> Callable[[str], object]:
    """A reply function: the captured answer of FOLDER (else of FALLBACKS), OVERRIDES first."""
    def reply(command: str) -> object:
        if overrides and command in overrides:
            return overrides[command]
        for name in (folder, *fallbacks):
            path = answer_file(name, command)
            if path.exists():
                return path.read_text(encoding="utf-8")
        return f"-ERR {command.split()[0]} Command not found!\n"
    return reply


class Cluster:
    """The demo nodes pointed at doubles; `poll()` runs one monitor round against them."""

    def __init__(self, app) -> None:
        self.app = app
        self.doubles: dict[str, EslDouble] = {}

    def serve(self, node: str, double: EslDouble) -> EslDouble:
        old = self.doubles.pop(node, None)
        if old is not None:
            old.close()
        self.doubles[node] = double
        settings = self.app.config["XMLCURL"]
        with self.app.app_context():
            session = db.session()
            row = session.scalar(select(Node).where(Node.name == node))
            row.esl_address, row.esl_port = double.host, double.port
            row.esl_password_enc = encrypt_password(settings, PASSWORD)
            session.commit()
        return double

    def serve_captured(self, node: str, folder: str | None = None, **kwargs) -> EslDouble:
        return self.serve(node, EslDouble("127.0.0.1", PASSWORD, reply=captured(folder or node, node, **kwargs)))

    def poll(self, holder: str = "test-monitor"):
        with self.app.app_context():
            return poll_round(db.database().sessionmaker, self.app.config["XMLCURL"], holder)

    def close(self) -> None:
        for double in self.doubles.values():
            double.close()


#: The demo cluster's nodes, each with captured answers under tests/conformance/esl/.
DEMO_NODES = ("router-1", "media-1", "media-2")


@contextmanager
def polled_demo_cluster(app) -> Iterator["Cluster"]:
    """The demo nodes answering as captured, their event sockets stored in APP's database, polled once."""
    app.config["XMLCURL"].update(MONITOR_TIMEOUT=1.0, ESL_KEY=ESL_KEY)
    made = Cluster(app)
    try:
        for node in DEMO_NODES:
            made.serve_captured(node)
        made.poll()
        yield made
    finally:
        made.close()


@pytest.fixture
def cluster(app):
    app.config["XMLCURL"].update(MONITOR_TIMEOUT=1.0, ESL_KEY=ESL_KEY)
    made = Cluster(app)
    yield made
    made.close()


@pytest.fixture
def demo_cluster(cluster):
    """router-1, media-1 and media-2 answering as captured."""
    for node in DEMO_NODES:
        cluster.serve_captured(node)
    return cluster
