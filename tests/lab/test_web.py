"""``socklab web`` in a real browser: Debian's headless chromium, driven by selenium through chromium-driver.

The view runs as a user starts it (``socklab web INSTANCE --no-open``) against
the udp-loss lab; every check reads what the page shows. A screenshot is
taken at each step, into $SOCKLAB_WEB_SCREENS when set (else the test's
temporary folder). Nothing is downloaded at run time: without chromium,
chromium-driver or selenium the module skips and says which is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

import pytest

from impair.decide import FlowStreams, Impairment
from socklab.pcap import read_pcap

pytestmark = [pytest.mark.lab("udp-loss"), pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
BROWSER_ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1500,1250",
)


def _missing() -> Optional[str]:
    if CHROMIUM is None:
        return "no chromium here (Debian: apt-get install chromium chromium-driver)"
    if CHROMEDRIVER is None:
        return "no chromedriver here (Debian: apt-get install chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


if _missing():
    pytest.skip(_missing() or "", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


class View:
    """``socklab web`` running as a subprocess; its URL as it printed it."""

    def __init__(self, instance: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "socklab.cli", "web", instance, "--no-open"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.printed = ""
        found = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.printed += line
                if "http://" in line:
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(90):
            self.stop()
            pytest.fail(f"socklab web printed no URL within 90 s: {self.printed!r}")
        match = re.search(r"(http://\S+)", self.printed)
        assert match is not None
        self.url = match.group(1)
        self.base, _, self.token = self.url.partition("/?token=")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def view(lab) -> Iterator[View]:
    running = View(lab.instance)
    try:
        yield running
    finally:
        running.stop()
    assert "Traceback" not in running.printed, running.printed


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("SOCKLAB_WEB_SCREENS") or tmp_path_factory.mktemp("screens"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(view: View, downloads: Path) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in BROWSER_ARGUMENTS:
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        browser.get(view.url)
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "connection").text == "live")
        yield browser
    finally:
        browser.quit()


def wait_for(browser: webdriver.Chrome, what: str, condition, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    try:
        return WebDriverWait(browser, timeout, poll_frequency=0.1).until(lambda b: condition())
    except Exception as err:
        raise AssertionError(f"the page did not show {what} within {timeout:g} s") from err


def counter(browser: webdriver.Chrome, direction: str, name: str) -> int:
    text = browser.execute_script(
        "const cell = document.querySelector(`.link[data-link='wan'] tr[data-direction='${arguments[0]}'] "
        "td[data-counter='${arguments[1]}']`); return cell ? cell.firstChild.textContent : null;",
        direction,
        name,
    )
    return -1 if text is None else int(text)


def strip_rows(browser: webdriver.Chrome) -> list[dict]:
    """The strip as shown, oldest first."""
    rows = browser.execute_script("""
        return [...document.querySelectorAll('#strip tbody tr[data-fate]')].map(tr => {
          const c = [...tr.children].map(td => td.textContent);
          return {dir: c[1], from: c[3], to: c[4], fate: tr.dataset.fate, shown: c[6], note: c[7]};
        });""")
    return list(reversed(rows))


def udp_client(lab, sport: int, message: str = "hello") -> dict:  # type: ignore[no-untyped-def]
    argv = ["udp-client", "--host", "server", "--source-port", str(sport), "--message", message, "--json"]
    result = lab.exec("client", argv, timeout=15)
    return json.loads(result.stdout)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socklab.cli", *args], capture_output=True, text=True, timeout=60)


def test_the_topology_and_every_node_appear(lab, page: webdriver.Chrome, screens: Path) -> None:
    titles = wait_for(
        page,
        "the drawing",
        lambda: (
            page.execute_script(
                "return [...document.querySelectorAll('#topology svg g.node title')].map(t => t.textContent)"
            )
            or None
        ),
    )
    assert {f"node:{name}" for name in lab.lab.nodes} <= set(titles)
    states = {
        row.get_attribute("data-node"): row.find_element(By.CSS_SELECTOR, ".state").text
        for row in page.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")
    }
    assert states == {name: "running" for name in lab.lab.nodes}
    addresses = page.find_element(By.CSS_SELECTOR, "#nodes tbody tr[data-node='server']").text
    assert lab.address("server") in addresses
    edge = "#topology g.edge.link-edge[data-link='wan']"
    assert page.find_elements(By.CSS_SELECTOR, edge), "the link is not marked in the drawing"
    page.save_screenshot(str(screens / "01-topology.png"))


def test_the_counters_move_while_a_probe_sends_through_the_lossy_link(
    lab, page: webdriver.Chrome, screens: Path
) -> None:
    lab.link("wan").set(loss=20.0, seed=1)
    before = counter(page, "client->server", "seen")
    for request in range(4):
        udp_client(lab, 30100 + request)
    shown = wait_for(
        page,
        "the counters move",
        lambda: counter(page, "client->server", "seen") >= before + 4 and counter(page, "client->server", "seen"),
    )
    daemon = lab.link("wan").show()["directions"]["client->server"]["counters"]["seen"]
    assert shown <= daemon
    page.save_screenshot(str(screens / "02-counters.png"))


def test_a_dropped_datagram_and_its_retry_appear_in_the_strip(lab, page: webdriver.Chrome, screens: Path) -> None:
    seed, client, server = 5, lab.address("client"), lab.address("server")
    forward = Impairment(loss=50.0)

    def first_lost_second_passes(sport: int) -> bool:
        streams = FlowStreams(seed, "out")
        flow = (17, client, sport, server, 1234)
        return streams.next(forward, flow).drop and not streams.next(forward, flow).drop

    sport = next(port for port in range(30200, 31000) if first_lost_second_passes(port))
    lab.link("wan").set(direction="forward", loss=50.0, seed=seed)
    lab.link("wan").set(direction="reverse", loss=0.0)
    outcome = udp_client(lab, sport, "drop me once")
    assert (outcome["outcome"], outcome["attempts"]) == ("answered", 2)

    def ours() -> list[dict]:
        return [r for r in strip_rows(page) if r["from"] == f"{client}:{sport}" or r["to"] == f"{client}:{sport}"]

    rows = wait_for(page, "the datagram, its retry and the answer", lambda: len(ours()) >= 3 and ours())
    assert [(r["dir"], r["fate"]) for r in rows] == [
        ("client->server", "dropped"),
        ("client->server", "passed"),
        ("server->client", "passed"),
    ]
    assert rows[1]["note"] == "↻ after a drop" and rows[0]["note"] == rows[2]["note"] == ""
    page.save_screenshot(str(screens / "03-strip-drop-and-retry.png"))


def test_a_loss_change_made_on_the_page_is_seen_by_link_show(
    lab, view: View, page: webdriver.Chrome, screens: Path
) -> None:
    lab.link("wan").set(loss=20.0)
    form = page.find_element(By.CSS_SELECTOR, ".link[data-link='wan'] form")
    Select(form.find_element(By.NAME, "direction")).select_by_value("forward")
    for name, value in (("loss", "35%"), ("delay", ""), ("duplicate", ""), ("seed", "")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button").click()
    message = page.find_element(By.CSS_SELECTOR, ".link[data-link='wan'] .message")
    wait_for(page, "the change confirmed", lambda: "loss=35%" in message.text)
    assert "error" not in message.get_attribute("class")
    shown = cli("link", "show", lab.instance, "--json")
    assert shown.returncode == 0, shown.stderr
    directions = next(info for info in json.loads(shown.stdout) if info["name"] == "wan")["directions"]
    assert directions["client->server"]["params"]["loss"] == 35.0
    assert directions["server->client"]["params"]["loss"] == 20.0
    wait_for(page, "the new loss in the drawing", lambda: "loss 35%" in page.find_element(By.ID, "topology").text)
    without_token = urllib.request.Request(f"{view.base}/api/link/wan", data=b'{"loss": "90%"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(without_token, timeout=10)
    assert refused.value.code == 403
    assert lab.link("wan").show()["directions"]["client->server"]["params"]["loss"] == 35.0
    page.save_screenshot(str(screens / "04-loss-set-on-the-page.png"))


@pytest.mark.parametrize("field, value", [("loss", "lots"), ("delay", "soon"), ("seed", "-1")])
def test_a_bad_value_shows_the_same_error_as_the_cli(
    lab, page: webdriver.Chrome, screens: Path, field: str, value: str
) -> None:
    form = page.find_element(By.CSS_SELECTOR, ".link[data-link='wan'] form")
    for name in ("loss", "delay", "duplicate", "seed"):
        form.find_element(By.NAME, name).clear()
    form.find_element(By.NAME, field).send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button").click()
    message = page.find_element(By.CSS_SELECTOR, ".link[data-link='wan'] .message")
    wait_for(page, "an error", lambda: "error" in message.get_attribute("class") and value in message.text)
    refused = cli("link", "set", lab.instance, "wan", f"--{field}={value}")
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"socklab: error: {message.text}"
    page.save_screenshot(str(screens / f"05-bad-{field}.png"))


def test_the_capture_button_downloads_a_pcap_of_the_nodes_traffic(
    lab, page: webdriver.Chrome, downloads: Path, screens: Path
) -> None:
    lab.link("wan").set(loss=0.0)
    form = page.find_element(By.ID, "capture-form")
    Select(form.find_element(By.NAME, "node")).select_by_value("server")
    seconds = form.find_element(By.NAME, "seconds")
    seconds.clear()
    seconds.send_keys("4")
    form.find_element(By.CSS_SELECTOR, "button").click()
    message = page.find_element(By.ID, "capture-message")
    wait_for(page, "the capture started", lambda: "capturing" in message.text)
    time.sleep(1.5)  # the capture helper starts listening
    udp_client(lab, 30990, "captured")
    wait_for(page, "the download", lambda: "downloaded" in message.text, timeout=40)
    page.save_screenshot(str(screens / "06-capture.png"))
    files = wait_for(page, "the file", lambda: [p for p in downloads.glob("*.pcap")] or None)
    pcap = files[0].read_bytes()
    packets = read_pcap(pcap)
    assert any(p.proto == "udp" and p.dport == 1234 and p.payload == b"captured" for p in packets), packets
    if shutil.which("tshark"):
        opened = subprocess.run(
            ["tshark", "-r", str(files[0]), "-Y", "udp.port == 1234"], capture_output=True, text=True, timeout=60
        )
        assert opened.returncode == 0 and "1234" in opened.stdout, opened.stderr


def test_a_bad_capture_length_is_refused_on_the_page(page: webdriver.Chrome) -> None:
    form = page.find_element(By.ID, "capture-form")
    seconds = form.find_element(By.NAME, "seconds")
    seconds.clear()
    seconds.send_keys("600")
    form.find_element(By.CSS_SELECTOR, "button").click()
    message = page.find_element(By.ID, "capture-message")
    wait_for(page, "the refusal", lambda: "seconds must be a whole number from 1 to 60" in message.text)
