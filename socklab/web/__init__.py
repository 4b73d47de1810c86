"""``socklab web``: a live view of a running lab in the browser.

The page shows the lab's drawing (``socklab graph``'s, with the links'
current parameters), each node's state and addresses, every link's counters
per direction four times a second, a strip of the packets crossing a link
with each one's fate (from the userspace daemon's own decisions), controls
that change a link exactly as ``socklab link set`` does, and captures.
"""

from __future__ import annotations

import ipaddress
import webbrowser
from typing import TYPE_CHECKING

from ..console import Output
from ..dot import find_dot
from ..errors import BadInput
from .server import WebServer

if TYPE_CHECKING:
    from ..lab import RunningLab


def serve(running: "RunningLab", host: str, port: int, open_browser: bool, output: Output) -> int:
    """Serve the view until Ctrl-C; the URL (token included) is printed and opened."""
    try:
        server = WebServer((host, port), running, find_dot(output.progress))
    except OSError as err:
        raise BadInput(f"cannot listen on {host} port {port}: {err.strerror or err}") from None
    url = server.url(host)
    try:
        output.print(f"socklab web: the live view of {running.instance} is at {url}")
        if not _loopback(host):
            output.print(
                f"listening on {host}: whoever reaches it can watch; "
                "changing links and capturing need the token in the URL"
            )
        if open_browser and not _open(url):
            output.print("no browser to open here: open the URL above in yours")
        output.print("Ctrl-C stops it")
        server.serve_forever()
    except KeyboardInterrupt:
        output.print("socklab web: stopped")
    finally:
        server.server_close()
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _open(url: str) -> bool:
    """Open the page in a graphical browser; a console one would take over this terminal."""
    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        return False
    if type(browser) is webbrowser.GenericBrowser:
        return False
    return bool(browser.open(url))
