"""The daemon's control socket: JSON lines in, one JSON line out for each.

A UNIX stream socket, served from the daemon's own event loop (no thread):
a request is short, and its answer is built from state the loop owns.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Callable

MAX_REQUEST = 1 << 16
Handler = Callable[[dict], dict]


class ControlServer:
    """Accepts connections and answers each request line with ``handler(request)``."""

    def __init__(self, path: str, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        if os.path.exists(path):
            os.unlink(path)  # a dead daemon's socket; a live one would have to be stopped first
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(8)
        self.listener.setblocking(False)
        self._buffers: dict[socket.socket, bytearray] = {}

    def accept(self) -> socket.socket:
        conn, _ = self.listener.accept()
        conn.setblocking(False)
        self._buffers[conn] = bytearray()
        return conn

    def serve(self, conn: socket.socket) -> bool:
        """Answer the complete lines that arrived; False when the connection is finished."""
        try:
            data = conn.recv(MAX_REQUEST)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        buffer = self._buffers[conn]
        buffer += data
        if not data or len(buffer) > MAX_REQUEST:
            return False
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            if line.strip():
                try:
                    conn.sendall(json.dumps(self._answer(line)).encode() + b"\n")
                except OSError:
                    return False
        return True

    def _answer(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
        except ValueError as error:
            return {"error": f"request is not JSON: {error}"}
        if not isinstance(request, dict):
            return {"error": 'request must be a JSON object such as {"op": "show"}'}
        try:
            return self.handler(request)
        except ValueError as error:
            return {"error": str(error)}

    def drop(self, conn: socket.socket) -> None:
        self._buffers.pop(conn, None)
        conn.close()

    def close(self) -> None:
        for conn in list(self._buffers):
            self.drop(conn)
        self.listener.close()
        if os.path.exists(self.path):
            os.unlink(self.path)
