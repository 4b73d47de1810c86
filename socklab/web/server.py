"""The web view's HTTP side: the page, its static files and a small JSON and SSE API.

Standard library only (ThreadingHTTPServer): a page holds one Server-Sent
Events stream; everything that changes the lab (link settings) or reads
its traffic (captures) needs the token printed with the URL, so that
another page or host that reaches the port can watch but not act.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import socket
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Optional
from urllib.parse import parse_qs, urlsplit

from ..capture import Capture
from ..errors import BadInput, SocklabError
from ..graph import Dot, dot_source
from ..impairment import IMPAIRMENT_KEYS, link_set_request
from .live import Live, views

if TYPE_CHECKING:
    from ..lab import RunningLab

STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
CAPTURE_SECONDS = (1, 60)
SET_KEYS = {"direction", "seed", *IMPAIRMENT_KEYS}


class WebServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], running: "RunningLab", dot: Optional[Dot]) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.running = running
        self.live = Live(running)  # before binding: a failed bind closes the server, and so this
        self.dot = dot
        self.token = secrets.token_urlsafe(18)
        self._drawings: dict[str, bytes] = {}
        super().__init__(address, Handler)

    def url(self, host: str) -> str:
        """The address to open; for "every address" the machine's name, which others can reach."""
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server_address[1]}/?token={self.token}"

    def topology(self) -> Optional[bytes]:
        """The lab drawn as ``socklab graph`` draws it, with the links' current parameters."""
        if self.dot is None:
            return None
        key = self.live.topology_key()
        if key not in self._drawings:
            self._drawings = {key: self.dot(["-Tsvg"], dot_source(self.live.current_lab()))}
        return self._drawings[key]

    def server_close(self) -> None:
        self.live.close()
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the terminal shows the URL and errors, not every poll."""

    # --- routing -----------------------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        path = url.path
        try:
            if path == "/":
                self._static("index.html")
            elif path.startswith("/static/") and path[len("/static/") :] in STATIC:
                self._static(path[len("/static/") :])
            elif path == "/api/lab":
                self._json(self._lab())
            elif path == "/api/topology":
                self._topology()
            elif path == "/api/stream":
                self._stream()
            elif path == "/api/capture":
                self._authorised(query)
                self._capture(query)
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such page: {path}")
        except BadInput as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))
        except PermissionError as err:
            self._error(HTTPStatus.FORBIDDEN, str(err))
        except SocklabError as err:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(err))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        match = re.fullmatch(r"/api/link/([A-Za-z0-9_.-]+)", url.path)
        try:
            self._authorised(query)
            if match is None:
                raise BadInput(f"no such action: {url.path}")
            self._json(self._link_set(match.group(1), self._body()))
        except BadInput as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))
        except PermissionError as err:
            self._error(HTTPStatus.FORBIDDEN, str(err))
        except SocklabError as err:
            self._error(HTTPStatus.BAD_REQUEST, str(err))

    # --- answers -----------------------------------------------------------------------------------

    def _authorised(self, query: dict[str, str]) -> None:
        if not hmac.compare_digest(query.get("token", "").encode(), self.server.token.encode()):
            raise PermissionError(
                "this needs the token printed by socklab web: open the URL it printed, ?token=... included"
            )

    def _lab(self) -> dict:
        running, live = self.server.running, self.server.live
        links = [
            {
                "name": link.name,
                "a": link.a,
                "b": link.b,
                "directions": list(link.directions),
                "backend": live.feeds[link.name].backend,
                "note": live.feeds[link.name].note,
            }
            for link in running.lab.links.values()
        ]
        return {
            "instance": running.instance,
            "lab": running.lab.name,
            "description": running.lab.description,
            "nodes": list(live.nodes.values()),
            "links": links,
            "drawing": self.server.dot is not None,
            "capture_seconds": CAPTURE_SECONDS,
        }

    def _topology(self) -> None:
        svg = self.server.topology()
        if svg is None:
            self._error(
                HTTPStatus.NOT_FOUND, "Graphviz 'dot' is missing, so there is no drawing (apt-get install graphviz)"
            )
        else:
            self._send(HTTPStatus.OK, "image/svg+xml", svg)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= 1 << 16:
            raise BadInput("send the changes as a JSON object")
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BadInput("send the changes as a JSON object")
        return body

    def _link_set(self, name: str, body: dict) -> dict:
        """Exactly what ``socklab link set LAB LINK --loss ... --seed ...`` does, with its words for errors."""
        unknown = sorted(set(body) - SET_KEYS)
        if unknown:
            raise BadInput(f"unknown parameter {unknown[0]!r}")
        given = {k: v for k, v in body.items() if v not in (None, "")}
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in given.values()):
            raise BadInput("give each value as text, as on the command line (loss 10%, delay 50ms)")
        values = {k: given[k] for k in IMPAIRMENT_KEYS if k in given}
        changes, seed = link_set_request(values, given.get("seed"))
        link = self.server.running.link(name)
        result = link.set(direction=given.get("direction"), seed=seed, **changes)
        self.server.live.poke()
        said = ", ".join(f"{k}={v}" for k, v in values.items()) + (f" seed={seed}" if seed is not None else "")
        return {"message": f"link {name}: {said.strip()}", "result": result}

    def _capture(self, query: dict[str, str]) -> None:
        node = query.get("node", "")
        low, high = CAPTURE_SECONDS
        try:
            seconds = int(query.get("seconds", ""))
        except ValueError:
            seconds = 0
        if not low <= seconds <= high:
            raise BadInput(f"seconds must be a whole number from {low} to {high}, not {query.get('seconds')!r}")
        try:
            self.server.running.container(node)  # an unknown node is bad input, before anything starts
        except SocklabError as err:
            raise BadInput(str(err)) from None
        capture = Capture(self.server.running, node).start()
        try:
            time.sleep(seconds)
        finally:
            capture.stop()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name = f"{self.server.running.instance}-{node}-{stamp}.pcap"
        self._send(
            HTTPStatus.OK,
            "application/vnd.tcpdump.pcap",
            capture.pcap,
            {"Content-Disposition": f'attachment; filename="{name}"'},
        )

    def _stream(self) -> None:
        """Server-Sent Events: one ``data:`` line of JSON per change, a comment as a heartbeat."""
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        stream = views(self.server.live)
        try:
            for view in stream:
                message = b": still here\n\n" if view is None else b"data: " + json.dumps(view).encode() + b"\n\n"
                self.wfile.write(message)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            stream.close()

    # --- plumbing ----------------------------------------------------------------------------------

    def _static(self, name: str) -> None:
        data = resources.files("socklab.web").joinpath("static", name).read_bytes()
        self._send(HTTPStatus.OK, STATIC[name], data)

    def _json(self, value: object) -> None:
        self._send(HTTPStatus.OK, "application/json", json.dumps(value).encode())

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._send(status, "application/json", json.dumps({"error": message}).encode())

    def _send(self, status: HTTPStatus, kind: str, body: bytes, headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
