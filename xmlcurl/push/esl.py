"""A minimal FreeSWITCH event-socket (inbound) client: authenticate, run `api` commands, read replies.

The protocol (mod_event_socket): the server greets with `Content-Type: auth/request`; the client
sends `auth <password>` and gets `command/reply` with `Reply-Text: +OK accepted`; each `api <cmd>`
is answered by `api/response` whose body (Content-Length bytes) is the command's output.
"""
from __future__ import annotations

import socket
from typing import BinaryIO

MAX_HEADER_LINE = 8192
MAX_BODY = 4 * 1024 * 1024


class EslError(RuntimeError):
    """The node could not be reached, refused us, or broke the protocol (worth a retry)."""


class EslAuthError(EslError):
    """The node refused the password."""


class EslClient:
    """One authenticated connection to a node's event socket; every wait bounded by `timeout`."""

    def __init__(self, host: str, port: int, password: str, timeout: float) -> None:
        self._timeout = timeout
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise EslError(f"cannot connect to {host}:{port}: {exc}") from None
        self._file: BinaryIO = self._sock.makefile("rb")
        try:
            headers, _ = self._read()
            if headers.get("Content-Type") != "auth/request":
                raise EslError(f"expected auth/request, got {headers.get('Content-Type')!r}")
            self._send(f"auth {password}")
            headers, _ = self._read()
            if not headers.get("Reply-Text", "").startswith("+OK"):
                raise EslAuthError(f"authentication refused: {headers.get('Reply-Text', '')}")
        except BaseException:
            self.close()
            raise

    def api(self, command: str, timeout: float | None = None) -> str:
        """Run one API command and return its output; TIMEOUT (seconds) replaces the connection's for its answer."""
        self._send(f"api {command}")
        self._sock.settimeout(self._timeout if timeout is None else timeout)
        while True:
            headers, body = self._read()
            content_type = headers.get("Content-Type")
            if content_type == "api/response":
                return body.decode("utf-8", "replace")
            if content_type == "text/disconnect-notice":
                raise EslError("the node closed the event socket")
            # Anything else (a stray event or log line) is not our answer: read on.

    def close(self) -> None:
        for closing in (self._file.close, self._sock.close):
            try:
                closing()
            except OSError:
                pass

    def __enter__(self) -> "EslClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _send(self, line: str) -> None:
        if "\n" in line or "\r" in line:
            raise ValueError("an event-socket command must be one line")
        try:
            self._sock.sendall(line.encode("utf-8") + b"\n\n")
        except OSError as exc:
            raise EslError(f"send failed: {exc}") from None

    def _read(self) -> tuple[dict[str, str], bytes]:
        headers: dict[str, str] = {}
        try:
            while True:
                raw = self._file.readline(MAX_HEADER_LINE)
                if not raw:
                    raise EslError("connection closed by the node")
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    if headers:
                        break
                    continue
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
            length = int(headers.get("Content-Length", "0") or 0)
            if not 0 <= length <= MAX_BODY:
                raise EslError(f"unreasonable Content-Length {length}")
            body = self._file.read(length) if length else b""
            if len(body) != length:
                raise EslError("connection closed in the middle of a reply")
        except (OSError, ValueError) as exc:
            raise EslError(f"read failed: {exc}") from None
        return headers, body
