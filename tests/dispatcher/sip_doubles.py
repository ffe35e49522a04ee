"""Small SIP user agents on UDP standing in for media nodes and phones around a real Kamailio.

Each double binds one 127.0.0.x socket, answers requests in a background thread the way its `mode`
says, records every message it receives, and can send requests of its own.
"""
from __future__ import annotations

import itertools
import re
import select
import socket
import threading
import time
from dataclasses import dataclass, field

_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
            "k": "supported", "c": "content-type"}
_counter = itertools.count(1)


@dataclass
class Message:
    """One received SIP message: a request (method set) or a reply (status set)."""

    first_line: str
    headers: list[tuple[str, str]]
    source: tuple[str, int]
    at: float
    method: str | None = None
    uri: str | None = None
    status: int | None = None
    raw: str = field(default="", repr=False)

    def header(self, name: str) -> str | None:
        """The first header called NAME (case-insensitive, compact forms understood)."""
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def call_id(self) -> str | None:
        return self.header("call-id")

    @property
    def cseq(self) -> tuple[int, str]:
        number, method = self.header("cseq").split()
        return int(number), method


def parse(data: bytes, source: tuple[str, int]) -> Message:
    text = data.decode(errors="replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            headers.append((_COMPACT.get(key, key), value.strip()))
    message = Message(lines[0], headers, source, time.monotonic(), raw=text)
    if lines[0].startswith("SIP/2.0 "):
        message.status = int(lines[0].split()[1])
    else:
        message.method, message.uri = lines[0].split()[:2]
    return message


def tag_of(value: str) -> str | None:
    match = re.search(r";tag=([^;>\s]+)", value)
    return match[1] if match else None


def uri_of(value: str) -> str:
    """The URI inside a name-addr (`"x" <sip:...>;p`) or the addr-spec itself."""
    match = re.search(r"<([^>]+)>", value)
    return match[1] if match else value.split(";", 1)[0].strip()


def host_port(uri: str) -> tuple[str, int]:
    """(host, port) of a sip: URI (port 5060 when absent)."""
    hostpart = uri.split(":", 1)[1].split(";", 1)[0].split("?", 1)[0]
    hostpart = hostpart.rsplit("@", 1)[-1]
    host, _, port = hostpart.partition(":")
    return host, int(port or 5060)


class SipDouble:
    """A UDP SIP endpoint on (address, port 0 = any free one) answering per `mode`.

    Modes: "answer" (2xx to everything, INVITE gets 100 + 200 unless `ring` then 100 + 180 and
    waits for a CANCEL), "silent" (never answers, as a stopped node), "503" (503 to everything),
    "ring-503" (INVITE gets 180 then 503; others 200), "challenge" (as "answer", but an INVITE
    without Proxy-Authorization gets 407 as FreeSWITCH's auth-calls profile answers).
    """

    def __init__(self, name: str, address: str, port: int = 0, mode: str = "answer", ring: bool = False):
        self.name = name
        self.mode = mode
        self.ring = ring
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, port))
        self.address, self.port = self.sock.getsockname()
        self.received: list[Message] = []
        self._lock = threading.Condition()
        self._pending_invites: dict[str, Message] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sip-{name}", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        return f"sip:{self.address}:{self.port}"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()

    # --- receiving -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            try:
                data, source = self.sock.recvfrom(65535)
            except OSError:
                return
            if not data.strip():
                continue
            message = parse(data, source)
            with self._lock:
                self.received.append(message)
                self._lock.notify_all()
            if message.method:
                self._answer(message)

    def requests(self, method: str | None = None, call_id: str | None = None) -> list[Message]:
        with self._lock:
            return [m for m in self.received if m.method and (method is None or m.method == method)
                    and (call_id is None or m.call_id == call_id)]

    def wait_for(self, predicate, timeout: float = 10.0) -> Message | None:
        """The first received message matching PREDICATE, waiting at most TIMEOUT seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for message in self.received:
                    if predicate(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._lock.wait(left)

    def wait_request(self, method: str, call_id: str | None = None, timeout: float = 10.0) -> Message | None:
        return self.wait_for(lambda m: m.method == method and (call_id is None or m.call_id == call_id), timeout)

    def final_reply(self, call_id: str, cseq_method: str, timeout: float = 15.0) -> Message | None:
        """The final reply (>= 200) this double got for its CALL_ID / CSEQ_METHOD request."""
        return self.wait_for(lambda m: m.status is not None and m.status >= 200 and m.call_id == call_id
                             and m.cseq[1] == cseq_method, timeout)

    # --- answering -----------------------------------------------------------------------
    def _answer(self, request: Message) -> None:
        if self.mode == "silent" or request.method == "ACK":
            return
        if self.mode == "503":
            self.reply(request, 503, "Service Unavailable")
            return
        if request.method == "INVITE":
            self.reply(request, 100, "Trying")
            if self.mode == "challenge" and request.header("proxy-authorization") is None:
                self.reply(request, 407, "Proxy Authentication Required", extra={
                    "Proxy-Authenticate": f'Digest realm="{uri_of(request.header("to")).split("@")[-1]}", '
                                          f'nonce="{self.name}-nonce", algorithm=MD5, qop="auth"'})
            elif self.mode == "ring-503":
                self.reply(request, 180, "Ringing")
                # A node rings, then fails. Sent back to back, the two replies reach two of Kamailio's
                # receiver processes at once, and under load the 503 can take the transaction's lock
                # first: Kamailio then never saw the ringing and rightly fails over.
                time.sleep(0.2)
                self.reply(request, 503, "Service Unavailable")
            elif self.ring:
                self.reply(request, 180, "Ringing")
                with self._lock:
                    self._pending_invites[request.call_id] = request
            else:
                self.reply(request, 200, "OK", contact=True)
            return
        if request.method == "CANCEL":
            self.reply(request, 200, "OK")
            with self._lock:
                invite = self._pending_invites.pop(request.call_id, None)
            if invite is not None:
                self.reply(invite, 487, "Request Terminated")
            return
        extra = {}
        if request.method == "REGISTER":
            extra["Contact"] = request.header("contact") or ""
        self.reply(request, 200, "OK", extra=extra)

    def reply(self, request: Message, status: int, reason: str, contact: bool = False,
              extra: dict[str, str] | None = None) -> None:
        """Answer REQUEST to where it came from (the proxy), with the To tag this double uses."""
        to = request.header("to")
        if status > 100 and tag_of(to) is None:
            to += f";tag={self.name}-{abs(hash(request.call_id)) % 10**8}"
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {via}" for via in request.all("via")]
        lines += [f"Record-Route: {rr}" for rr in request.all("record-route")] if status < 300 else []
        lines += [f"From: {request.header('from')}", f"To: {to}", f"Call-ID: {request.call_id}",
                  f"CSeq: {request.header('cseq')}"]
        if contact:
            lines.append(f"Contact: <sip:{self.name}@{self.address}:{self.port}>")
        lines += [f"{key}: {value}" for key, value in (extra or {}).items()]
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), request.source)

    # --- sending -------------------------------------------------------------------------
    def send_request(self, method: str, uri: str, to: tuple[str, int], *, call_id: str | None = None,
                     cseq: int = 1, from_uri: str | None = None, to_uri: str | None = None,
                     to_tag: str | None = None, from_tag: str | None = None, branch: str | None = None,
                     headers: dict[str, str] | list[tuple[str, str]] | None = None) -> dict[str, str]:
        """Send METHOD for URI to the address TO; return the identifiers used (call_id, branch, tags)."""
        call_id = call_id or f"{self.name}-{next(_counter)}-{time.monotonic_ns()}@{self.address}"
        branch = branch or f"z9hG4bK-{self.name}-{next(_counter)}"
        from_tag = from_tag or f"{self.name}-{next(_counter)}"
        from_uri = from_uri or f"sip:{self.name}@{self.address}"
        to_uri = to_uri or uri
        to_header = f"<{to_uri}>" + (f";tag={to_tag}" if to_tag else "")
        cseq_method = "INVITE" if method == "ACK" else method
        lines = [f"{method} {uri} SIP/2.0", f"Via: SIP/2.0/UDP {self.address}:{self.port};branch={branch};rport",
                 "Max-Forwards: 70", f"From: <{from_uri}>;tag={from_tag}", f"To: {to_header}",
                 f"Call-ID: {call_id}", f"CSeq: {cseq} {cseq_method}"]
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        lines += [f"{key}: {value}" for key, value in items]
        lines.append("Content-Length: 0")
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), to)
        return {"call_id": call_id, "branch": branch, "from_tag": from_tag, "from_uri": from_uri,
                "to_uri": to_uri}
