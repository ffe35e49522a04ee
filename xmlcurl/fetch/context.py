"""What a section handler is given: the parsed fetch, the authenticated node, a session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy.orm import Session

from .request import FetchRequest


@dataclass(frozen=True)
class NodeIdentity:
    """The authenticated node, as plain data."""

    id: int
    name: str
    role: str
    sip_address: str
    sip_port: int
    cluster_port: int


@dataclass
class FetchContext:
    request: FetchRequest
    node: NodeIdentity
    session: Session
    settings: Mapping[str, Any]
    #: Short description of what was looked up, for the fetch log line.
    key: str = ""
    #: Why an answer is `not found` or a rejection, for the fetch log line.
    outcome: str = "ok"
