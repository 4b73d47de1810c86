"""Waiting until a node serves, with named strategies instead of sleeps.

As in testcontainers: a log line, a TCP port, a UDP probe (a datagram that
must be answered: a UDP port cannot be "connected" to), or a command that
must succeed. Each polls under tenacity until the node's timeout, and stops
early when the container has exited.
"""

from __future__ import annotations

import shlex
from typing import Optional

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from .docker_backend import DockerBackend
from .errors import NodeNotReady
from .model import Ready

_TCP_PROBE = "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1).close()"
_UDP_PROBE = (
    "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.5); "
    "s.sendto(sys.argv[2].encode(), ('127.0.0.1', int(sys.argv[1]))); s.recvfrom(65535)"
)


class Exited(Exception):
    """The container stopped while we waited for it."""


def wait_ready(backend: DockerBackend, node: str, container_id: str, ready: Ready, watch: Optional[str] = None) -> None:
    """Return when the node is ready; raise NodeNotReady with its last logs.

    ``watch`` is the container whose exit ends the wait and whose logs are
    shown, when it is not the one probed (a program beside its node's holder).
    """
    if ready.strategy == "none":
        return
    check = _checks[ready.strategy]
    watched = watch or container_id
    try:
        for attempt in Retrying(
            stop=stop_after_delay(ready.timeout),
            wait=wait_exponential(multiplier=0.02, max=0.25),
            retry=retry_if_result(lambda ok: not ok),
        ):
            with attempt:
                if watch:
                    _running(backend, watch)
                ok = check(backend, container_id, ready)
            outcome = attempt.retry_state.outcome
            if outcome is not None and not outcome.failed:
                attempt.retry_state.set_result(ok)
    except RetryError:
        raise NodeNotReady(
            node, f"{describe(ready)} not seen within {ready.timeout:g} s", backend.logs(watched, tail=20)
        ) from None
    except Exited as err:
        raise NodeNotReady(node, str(err), backend.logs(watched, tail=20)) from None


def describe(ready: Ready) -> str:
    if ready.strategy == "log":
        return f"log line {ready.log!r}"
    if ready.strategy in ("tcp", "udp"):
        return f"{ready.strategy.upper()} port {ready.port}"
    if ready.strategy == "command":
        return f"command {shlex.join(ready.command)!r}"
    return "nothing"


def _running(backend: DockerBackend, container_id: str) -> None:
    state = backend.state(container_id)
    if not state.get("Running"):
        raise Exited(f"the container exited with status {state.get('ExitCode')}")


def _log(backend: DockerBackend, container_id: str, ready: Ready) -> bool:
    if ready.log is not None and ready.log in backend.logs(container_id):
        return True
    _running(backend, container_id)
    return False


def _exec_ok(backend: DockerBackend, container_id: str, command: list[str], ready: Ready) -> bool:
    """One probe, given a fifth of the wait (at least 2 s): where the wait is
    long because the machine is slow (``socklab grade --patience``), starting
    the probe's python3 is slow too (over 2 s in the Debian 13 guest beside
    a server spinning on its half CPU, which was then never seen ready)."""
    _running(backend, container_id)
    return backend.exec(container_id, command, timeout=max(2.0, ready.timeout / 5)).exit_code == 0


def _tcp(backend: DockerBackend, container_id: str, ready: Ready) -> bool:
    return _exec_ok(backend, container_id, ["python3", "-c", _TCP_PROBE, str(ready.port)], ready)


def _udp(backend: DockerBackend, container_id: str, ready: Ready) -> bool:
    return _exec_ok(backend, container_id, ["python3", "-c", _UDP_PROBE, str(ready.port), ready.send], ready)


def _command(backend: DockerBackend, container_id: str, ready: Ready) -> bool:
    return _exec_ok(backend, container_id, list(ready.command), ready)


_checks = {"log": _log, "tcp": _tcp, "udp": _udp, "command": _command}
