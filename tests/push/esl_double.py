"""An event-socket server double speaking mod_event_socket's protocol, recording the commands it receives."""
from __future__ import annotations

import socketserver
import threading
from typing import Callable

DISCONNECT = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
#: What `reply` may return instead of a body: stop answering (a hung node), or close the connection.
HANG = object()
CLOSE = object()


class CloseAfter(bytes):
    """Raw bytes `reply` may return: written as is, then the connection is closed (a node dying mid-answer)."""


def default_reply(command: str) -> str:
    if " killgw " in command:
        return "+OK gateway marked for deletion.\n"
    if command.endswith(" rescan"):
        return "+OK scan complete\n"
    return "+OK\n"


class EslDouble:
    """Listens on HOST (a loopback address), asks for `auth`, answers `api` commands, records them.

    `refuse_first` connections are closed at once (a node restarting), to prove retries.
    """

    def __init__(self, host: str, password: str, refuse_first: int = 0,
                 reply: Callable[[str], object] = default_reply, greet: bool = True) -> None:
        self.password = password
        self.refuse_first = refuse_first
        self.reply = reply
        #: mod_hash's remotes as `hash_remote list` shows them; `hash_remote kill` drops one (mod_hash.c).
        self.remotes: list[str] = []
        self.commands: list[str] = []
        self.auths: list[str] = []
        self.connections = 0
        # greet=False: accept connections but never say a word (a node whose process hangs).
        self.greet = greet
        self._released = threading.Event()
        self._lock = threading.Lock()
        double = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 5

            def handle(self) -> None:
                double._serve(self)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self._server = Server((host, 0), Handler)
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _serve(self, conn: socketserver.StreamRequestHandler) -> None:
        with self._lock:
            self.connections += 1
            refuse = self.connections <= self.refuse_first
        if refuse:
            return
        if not self.greet:
            self._released.wait(30)
            return
        conn.wfile.write(b"Content-Type: auth/request\n\n")
        authed = False
        while True:
            lines = []
            while True:
                raw = conn.rfile.readline(8192)
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if not line and lines:
                    break
                if line:
                    lines.append(line)
            command = lines[0]
            if command.startswith("auth "):
                self.auths.append(command[5:])
                if command[5:] == self.password:
                    authed = True
                    conn.wfile.write(b"Content-Type: command/reply\nReply-Text: +OK accepted\n\n")
                    continue
                conn.wfile.write(b"Content-Type: command/reply\nReply-Text: -ERR invalid\n\n")
                conn.wfile.write(b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s"
                                 % (len(DISCONNECT), DISCONNECT))
                return
            if not authed:
                conn.wfile.write(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")
                continue
            if command == "exit":
                conn.wfile.write(b"Content-Type: command/reply\nReply-Text: +OK bye\n\n")
                return
            if command.startswith("api "):
                with self._lock:
                    self.commands.append(command[4:])
                answer = self._hash_remote(command[4:]) or self.reply(command[4:])
                if answer is HANG:
                    self._released.wait(30)
                    return
                if answer is CLOSE:
                    return
                if isinstance(answer, bytes):  # written as is: a broken or partial reply
                    conn.wfile.write(answer)
                    conn.wfile.flush()
                    if isinstance(answer, CloseAfter):
                        return
                    continue
                body = answer.encode()
                conn.wfile.write(b"Content-Type: api/response\nContent-Length: %d\n\n%s" % (len(body), body))
                continue
            conn.wfile.write(b"Content-Type: command/reply\nReply-Text: -ERR command not found\n\n")

    def _hash_remote(self, command: str) -> str | None:
        """mod_hash's answers to `hash_remote list` and `hash_remote kill <name>`; None for anything else."""
        if command == "hash_remote list":
            return "Remote connections:\nName\t\t\tState\n" + "".join(f"{n}\t\t\tUp\n" for n in self.remotes) + "+OK\n"
        if command.startswith("hash_remote kill "):
            name = command.split(" ", 2)[2]
            if name not in self.remotes:
                return f"-ERR No such remote instance {name}\n"
            self.remotes.remove(name)
            return "+OK\n"
        return None
