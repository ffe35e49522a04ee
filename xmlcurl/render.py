"""Answering a fetch body for a named node without HTTP: `xmlcurl render`, the admin preview."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from .fetch.answer import answer
from .fetch.context import FetchContext, NodeIdentity
from .fetch.request import BadFetch, parse_fetch
from .models import Node


class RenderError(ValueError):
    """The node or the body cannot be rendered; the message says why."""


@dataclass
class Rendered:
    body: bytes
    outcome: str
    notes: list[str] = field(default_factory=list)


def body_of(raw: bytes) -> bytes:
    """The form body of a captured request (`.http`: request line, headers, blank line, body) or of a bare body."""
    return captured_body(raw)[0]


def captured_body(raw: bytes) -> tuple[bytes, list[str]]:
    """The whole body of a capture or bare body, and a note when a capture's Content-Length disagrees with it.

    A capture edited by hand keeps its old Content-Length: cutting the body there would render a
    different request than the one on screen, so the whole body is used and the difference said.
    """
    # A body saved by an editor ends with a newline FreeSWITCH never sends.
    if not (raw.startswith(b"POST ") or raw.startswith(b"GET ")):
        return raw.rstrip(b"\r\n"), []
    head, sep, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    if not sep:
        raise RenderError("captured request has no blank line after its headers")
    body = body.rstrip(b"\n")
    notes = []
    for line in head.split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            declared = int(value.strip())
            if declared != len(body):
                notes.append(f"warning: the capture's Content-Length is {declared} but its body has {len(body)} "
                             "bytes (edited after capture?); rendered the whole body")
    return body, notes


def node_identity(session: Session, name: str) -> NodeIdentity:
    node = session.scalars(select(Node).where(Node.name == name)).first()
    if node is None:
        raise RenderError(f"no node named {name!r}")
    return NodeIdentity(node.id, node.name, node.role, node.sip_address, node.sip_port, node.cluster_port)


def render_for_node(session: Session, node_name: str, raw: bytes, settings: Mapping[str, Any]) -> Rendered:
    """The exact XML `node_name` receives for this body (the body's hostname is taken as the node's)."""
    node = node_identity(session, node_name)
    try:
        body, notes = captured_body(raw)
        request = parse_fetch(body)
    except BadFetch as exc:
        raise RenderError(f"not a fetch body: {exc}") from None
    if request.hostname != node.name:
        notes.append(
            f"the body's hostname is {request.hostname!r}; over HTTP {node.name} would be refused (403) "
            f"for it, rendered here as {node.name}"
        )
    ctx = FetchContext(request=request, node=node, open_session=lambda: session, settings=settings)
    xml = answer(ctx)
    notes.append(f"{node.name} ({node.role}) section={request.section} key={ctx.key or '-'} result={ctx.outcome}")
    return Rendered(body=xml, outcome=ctx.outcome, notes=notes)
