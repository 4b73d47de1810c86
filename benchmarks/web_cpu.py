"""What ``socklab web`` costs: CPU of the server while idle and while a link carries 10,000 packets/s.

Brings up the udp-loss lab, starts ``socklab web`` on it as a user would,
and reads /proc/<pid>/stat (utime + stime) of the server, of the
``docker exec`` readers it started, and of the ctl relay inside the link
helper, over three windows of ``WINDOW`` seconds each:

1. idle, no page open (nothing is polled);
2. idle, one page open in headless chromium (polled four times a second);
3. the same page while ``flood`` sends 5,000 datagrams/s through the link,
   each one answered: 10,000 packets/s cross the link (if the daemon and
   this machine keep up; the table says what the link saw). The strip
   samples at most 100 packets per quarter second.

Also prints the packets/s the link saw, the page updates per second it got,
how many packets the strip skipped, and how long the page took to answer a
script call under load (its responsiveness). Needs chromium, chromium-driver
and selenium for windows 2 and 3; without them it measures window 1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional

from rich.console import Console
from rich.table import Table

from socklab.docker_backend import DockerBackend
from socklab.images import ensure_images
from socklab.lab import Options, RunningLab, up
from socklab.labfile import load_lab

WINDOW = 30.0
RATE = 10_000  # packets/s on the link, both directions: half of them datagrams, half answers
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


def relays() -> list[int]:
    """The ``ctl relay`` processes inside link helpers (visible from the host)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"impair.ctl\x00relay" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def measure(pids: dict[str, list[int]], seconds: float) -> dict[str, float]:
    """Percent of one core per group of processes over ``seconds``."""

    def total(group: list[int]) -> float:
        sum_ = 0.0
        for pid in group:
            try:
                sum_ += cpu_seconds(pid)
            except OSError:
                pass
        return sum_

    before = {name: total(group) for name, group in pids.items()}
    time.sleep(seconds)
    return {name: 100 * (total(group) - before[name]) / seconds for name, group in pids.items()}


def open_page(url: str) -> Any:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        return None
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    browser.get(url)
    return browser


def views(browser: Any) -> int:
    return int(browser.execute_script("return Number(document.body.dataset.views || 0)"))


def seen(lab: RunningLab) -> list[int]:
    """Packets the link daemon decided, per direction (forward, reverse)."""
    return [d["counters"]["seen"] for d in lab.link("wan").show()["directions"].values()]


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # a timeout's SIGTERM still takes the lab down
    backend = DockerBackend()
    ensure_images(backend.client)
    console = Console(width=180)
    lab = up(load_lab("udp-loss"), backend, Options(instance="bench-web", ephemeral=True))
    server: Optional[subprocess.Popen] = None
    browser = None
    rows: list[tuple[str, ...]] = []
    try:
        lab.link("wan").set(loss=1.0)
        server = subprocess.Popen(
            [sys.executable, "-m", "socklab.cli", "web", lab.instance, "--no-open"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert server.stdout is not None
        url = None
        while url is None:
            line = server.stdout.readline()
            if not line:
                raise RuntimeError("socklab web ended before printing its URL")
            match = re.search(r"(http://\S+)", line)
            url = match.group(1) if match else None
        time.sleep(2)
        usage = measure({"server": [server.pid]}, WINDOW)
        rows.append(("idle, no page open", f"{usage['server']:.2f}", "-", "-", "-", "-", "-", "-"))
        console.print(rows[-1])

        browser = open_page(url)
        if browser is None:
            console.print("no chromium, chromium-driver or selenium: only the first window was measured")
        else:
            time.sleep(3)
            group = {"server": [server.pid], "readers": children(server.pid), "relay": relays()}
            updates = views(browser)
            usage = measure(group, WINDOW)
            rate = (views(browser) - updates) / WINDOW
            shares = [f"{usage[group]:.2f}" for group in ("server", "readers", "relay")]
            rows.append(("idle, page open", *shares, "0", f"{rate:.1f}", "-", "-"))
            console.print(rows[-1])

            datagrams = RATE // 2
            count = int(datagrams * (WINDOW + 10))
            flood = threading.Thread(
                target=lambda: lab.exec(
                    "client",
                    [
                        "flood",
                        "server",
                        "1234",
                        "--count",
                        str(count),
                        "--interval",
                        str(1 / datagrams),
                        "--source-port",
                        "41000",
                        "--wait",
                        "0.5",
                    ],
                    timeout=WINDOW + 120,
                )
            )
            flood.start()
            time.sleep(4)
            packets, updates, started = seen(lab), views(browser), time.monotonic()
            usage = measure(group, WINDOW)
            elapsed = time.monotonic() - started
            forward, reverse = ((after - before) / elapsed for after, before in zip(seen(lab), packets))
            rate = (views(browser) - updates) / elapsed
            called = time.monotonic()
            skipped = browser.execute_script(
                "return [...document.querySelectorAll('#strip tr.skipped')].map(r => r.textContent).slice(0, 3)"
            )
            answer_ms = 1000 * (time.monotonic() - called)
            shares = [f"{usage[group]:.2f}" for group in ("server", "readers", "relay")]
            markers = "; ".join(s.strip(" …") for s in skipped) or "none"
            rows.append(
                (
                    f"flood {datagrams}/s + answers, page open",
                    *shares,
                    f"{forward:,.0f} + {reverse:,.0f}",
                    f"{rate:.1f}",
                    markers,
                    f"{answer_ms:.0f}",
                )
            )
            console.print(rows[-1])
            flood.join()
    finally:
        if browser is not None:
            browser.quit()
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
        lab.down()
    table = Table(title=f"socklab web: percent of one core over {WINDOW:g} s windows (/proc/<pid>/stat utime+stime)")
    for column in (
        "window",
        "server %",
        "docker exec readers %",
        "ctl relay in helper %",
        "link packets/s (fwd + rev)",
        "page updates/s",
        "strip: latest skip markers",
        "page answers a script in ms",
    ):
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
