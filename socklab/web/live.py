"""The lab as the page sees it: one thread polls while a page watches, pages read its snapshot.

Every ``TICK`` the thread asks each link for its state and new packets and,
less often, Docker for the nodes' states; nothing is polled while no page is
open, so an idle server costs next to nothing. The packet strip of a link is
the newest ``STRIP`` rows: at most ``feeds.EVENTS_PER_POLL`` new packets a
tick, and a row saying how many were skipped when more crossed the link.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import fields, replace
from typing import TYPE_CHECKING, Generator, Optional

import docker.errors

from .. import labels as L
from ..model import Impairment, Lab
from .feeds import LinkFeed, feed_for

if TYPE_CHECKING:
    from ..lab import RunningLab

TICK = 0.25  # four updates a second
NODES_EVERY = 1.0
STRIP = 300


class Live:
    def __init__(self, running: "RunningLab") -> None:
        self.running = running
        self.feeds: dict[str, LinkFeed] = {name: feed_for(running, link) for name, link in running.lab.links.items()}
        self.nodes = {
            s.name: {
                "name": s.name,
                "role": s.role,
                "service": running.lab.nodes[s.name].service,
                "state": s.state,
                "addresses": s.addresses,
                "ports": s.ports,
            }
            for s in running.status()
        }
        self.links: dict[str, dict] = {}
        self.strips: dict[str, deque[dict]] = {name: deque(maxlen=STRIP) for name in self.feeds}
        self.tick = 0
        self._since = dict.fromkeys(self.feeds, 0)
        self._rows = itertools.count(1)
        self._nodes_polled = 0.0
        self._watchers = 0
        self._stopped = False
        self._poke = threading.Event()
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="socklab-web-poll", daemon=True)
        self._thread.start()

    # --- pages -----------------------------------------------------------------------------------

    def watch(self) -> "Watch":
        return Watch(self)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def poke(self) -> None:
        """Poll now (after a change made from the page) rather than at the next tick."""
        self._poke.set()

    def wait(self, tick: int, timeout: float) -> int:
        """Block until a tick newer than ``tick`` (or the timeout); the current tick."""
        with self._cond:
            self._cond.wait_for(lambda: self.tick != tick or self._stopped, timeout)
            return self.tick

    def view(self, after: dict[str, int]) -> dict:
        """Links, nodes and the strip rows newer than ``after`` (per link; updated in place), newest first."""
        with self._cond:
            strips = {}
            for name, strip in self.strips.items():
                newer = [row for row in strip if row["n"] > after.get(name, 0)]
                if newer:
                    after[name] = newer[-1]["n"]
                strips[name] = newer[::-1]
            return {
                "links": json.loads(json.dumps(self.links)),
                "nodes": list(self.nodes.values()),
                "topology": self.topology_key(),
                "strips": strips,
            }

    def topology_key(self) -> str:
        """Changes when a link's parameters change, so the page fetches a new drawing."""
        params = {
            name: (state.get("seed"), {d: s.get("params") for d, s in state.get("directions", {}).items()})
            for name, state in self.links.items()
        }
        return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]

    def current_lab(self) -> Lab:
        """The lab file's model with each link's parameters and seed as the link has them now."""
        known = {f.name for f in fields(Impairment)}
        links = dict(self.running.lab.links)
        for name, state in self.links.items():
            link, directions = links[name], state.get("directions", {})
            current = [directions.get(d, {}).get("params") for d in link.directions]
            if state.get("backend") != "userspace" or not all(current):
                continue
            forward, reverse = (Impairment(**{k: v for k, v in p.items() if k in known}) for p in current)
            seed = state.get("seed")
            links[name] = replace(link, forward=forward, reverse=reverse, seed=link.seed if seed is None else seed)
        return replace(self.running.lab, links=links)

    # --- the polling thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._watchers > 0 or self._stopped)
                if self._stopped:
                    return
            started = time.monotonic()
            self._poll()
            with self._cond:
                self.tick += 1
                self._cond.notify_all()
            self._poke.wait(max(0.0, TICK - (time.monotonic() - started)))
            self._poke.clear()

    def _poll(self) -> None:
        for name, feed in self.feeds.items():
            state, packets = feed.poll(self._since[name])
            with self._cond:
                self.links[name] = dict(state, note=feed.note)
                if packets is not None:
                    self._add_rows(name, packets)
        if time.monotonic() - self._nodes_polled >= NODES_EVERY:
            self._nodes_polled = time.monotonic()
            self._poll_nodes()

    def _add_rows(self, name: str, packets: dict) -> None:
        strip = self.strips[name]
        if packets["skipped"]:
            strip.append({"n": next(self._rows), "skipped": packets["skipped"], "time": time.time()})
        for event in reversed(packets["events"]):  # oldest first, so the strip's right end is the newest
            strip.append(dict(event, n=next(self._rows)))
        self._since[name] = packets["last"]

    def _poll_nodes(self) -> None:
        wanted = [f"{L.PROJECT}=1", f"{L.LAB}={self.running.instance}", f"{L.ROLE}=node"]
        try:
            found = self.running.backend.api.containers(all=True, filters={"label": wanted})
        except (docker.errors.DockerException, OSError):  # the engine went away: the page says so
            found = None
        states = {c["Labels"].get(L.NODE): c["State"] for c in found or []}
        with self._cond:
            for name, node in self.nodes.items():
                node["state"] = "unknown" if found is None else states.get(name, "missing")

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._poke.set()
        self._thread.join(timeout=10)
        for feed in self.feeds.values():
            feed.close()


class Watch:
    """A page's interest: while at least one is held, the thread polls."""

    def __init__(self, live: Live) -> None:
        self.live = live

    def __enter__(self) -> "Watch":
        with self.live._cond:
            self.live._watchers += 1
            self.live._cond.notify_all()
        self.live.poke()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.live._cond:
            self.live._watchers -= 1


def views(live: Live, heartbeat: float = 15.0) -> Generator[Optional[dict], None, None]:
    """What one page is sent: a view whenever something it shows changed, None as a heartbeat."""
    after: dict[str, int] = {}
    tick, last, quiet_since = 0, "", time.monotonic()
    with live.watch():
        while not live.stopped:
            tick = live.wait(tick, timeout=1.0)
            view = live.view(after)
            settled = json.dumps({k: v for k, v in view.items() if k != "strips"}, sort_keys=True)
            if settled != last or any(view["strips"].values()):
                last, quiet_since = settled, time.monotonic()
                yield view
            elif time.monotonic() - quiet_since > heartbeat:
                quiet_since = time.monotonic()
                yield None
