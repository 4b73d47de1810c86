"""The checks an assignment grades with: plain functions over a running lab.

Each takes the running lab, a :class:`Context` saying where the code under
test runs, and the parameters its assignment file gives, and returns
``(passed, output)``. They measure through :mod:`socklab.probes` and the
lab API, exactly as the behaviour suite does, so they run the same against a
student's container in a sandboxed lab as against a reference service in a
lab from the pytest plugin. A failure's output says what was sent, what was
expected and what came back.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import secrets
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from .. import probes
from ..impairment import impairment_changes
from ..pcap import Packet, read_pcap
from .build import WORKDIR

if TYPE_CHECKING:
    from ..docker_backend import ExecResult
    from ..lab import RunningLab

Verdict = tuple[bool, str]
# Runs a client once: (program or None for its own, standard input, environment, timeout).
Launch = Callable[[Optional[Sequence[str]], str, dict[str, str], float], "ExecResult"]
Check = Callable[..., Verdict]
CHECKS: dict[str, Check] = {}
SHOWN = 60  # characters of a message shown in an output before it is cut
LETTERS = "abcdefghijklmnopqrstuvwxyz"
PROOF = 64  # characters of a question (and of its answer) a capture must show
CLIENT_RUN = 6.0  # seconds a client gets to answer: past that it is stopped, as hung


def check(name: str) -> Callable[[Check], Check]:
    """Register a check under the name assignment files use for it."""

    def register(function: Check) -> Check:
        CHECKS[name] = function
        return function

    return register


@dataclass(frozen=True)
class Target:
    """Where the code under test runs, and how the checks reach it.

    A server is measured from ``measure_from`` at its address and ``port``.
    A client is run as ``command`` (argv, in its node), or by ``launch``
    when given, with ``SERVER_HOST`` set to the address of the node
    ``server`` or, when ``server`` is a network, to that network's
    broadcast address.
    """

    node: str
    kind: str  # "server" | "client"
    port: int
    measure_from: Optional[str] = None
    server: Optional[str] = None
    command: tuple[str, ...] = ()
    launch: Optional[Launch] = None


@dataclass(frozen=True)
class ClientRun:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.stdout.splitlines()]

    def describe(self) -> str:
        shown = self.stdout.strip() or "(nothing)"
        text = f"it printed {_cut(shown, 300)!r}, exited with status {self.exit_code} after {self.seconds:.1f} s"
        errors = self.stderr.strip()
        return text + (f"; its error output ends with {_cut(errors[-300:], 300)!r}" if errors else "")


@dataclass
class Context:
    """One submission's (or reference's) lab as the checks see it.

    ``memo`` keeps what several checks observe from one run (a client given
    up on is run once, and judged by two checks).
    """

    lab: "RunningLab"
    target: Target
    timeout: float = 30.0
    memo: dict = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.lab.address(self.target.node)

    @property
    def prober(self) -> str:
        """The node a server's checks run their probes in."""
        return self.target.measure_from or ""

    def server_host(self) -> str:
        server = self.target.server
        assert server is not None, "a client assignment names its server"
        if server in self.lab.containers:
            return self.lab.address(server)
        return str(self.lab.subnet(server).broadcast_address)

    def run_client(self, line: str, port: Optional[int] = None, timeout: Optional[float] = None) -> ClientRun:
        """Run the client once with ``line`` on its standard input."""
        environment = {"SERVER_HOST": self.server_host(), "SERVER_PORT": str(port or self.target.port)}
        return self.run(line + "\n", environment, timeout or self.timeout)

    def run(
        self, input: str, environment: dict[str, str], timeout: float, program: Optional[Sequence[str]] = None
    ) -> ClientRun:
        """Run the client (or ``program`` where it runs) once, and time it."""
        started = time.monotonic()
        if self.target.launch is not None:
            result = self.target.launch(program, input, environment, timeout)
        else:
            argv = list(program or self.target.command)
            result = self.lab.exec(self.target.node, argv, input=input, timeout=timeout, environment=environment)
        seconds = result.seconds if result.seconds is not None else time.monotonic() - started
        return ClientRun(result.exit_code, result.stdout, result.stderr, seconds)


def _cut(text: str, length: int = SHOWN) -> str:
    return text if len(text) <= length else text[:length] + f"... ({len(text)} characters)"


def _show(text: str) -> str:
    return repr(_cut(text))


def _compare(
    sent: str, expected: str, got: Optional[str], what: str, waited: float = 2.0, ignore_case: bool = False
) -> Verdict:
    if got is None:
        return False, f"sent {_show(sent)} {what}, expected {_show(expected)}, got no answer within {waited:g} s"
    if (got.upper() if ignore_case else got) != expected:
        if len(expected) > SHOWN and len(got) != len(expected):
            return (
                False,
                f"sent {_show(sent)} {what}, expected the {len(expected)} characters back upper-cased, "
                f"got {len(got)}: {_show(got)}",
            )
        return False, f"sent {_show(sent)} {what}, expected {_show(expected)}, got {_show(got)}"
    return True, f"sent {_show(sent)} {what}, got {_show(got)}"


def _failure(result: dict) -> str:
    """A probe's error, with what a refused connection most often means."""
    error = result["error"]
    if "refused" in error.lower():
        error += " (nothing listens there: does the server bind ('', PORT), all addresses and the port in $PORT?)"
    return error


def _letters(size: int) -> str:
    return ("abcdefghijklmnopqrstuvwxyz" * (size // 26 + 1))[:size]


# --- UDP servers -----------------------------------------------------------


@check("udp-answer")
def udp_answer(
    lab: "RunningLab",
    ctx: Context,
    message: str = "hello world",
    size: int = 0,
    ignore_case: bool = False,
    prefix: str = "",
) -> Verdict:
    """One datagram (``size`` letters when given) comes back upper-cased
    (or, with ``ignore_case``, at least comes back whole: a check of size or
    of survival should not fail again for a missing upper()), after the
    word ``prefix`` and a space when a student's variant has one."""
    sent = _letters(size) if size else message
    result = probes.udp(lab, ctx.prober, ctx.host, ctx.target.port, sent)
    if "error" in result:
        return False, f"sent {_show(sent)} to UDP port {ctx.target.port}: {_failure(result)}"
    got = result["answer"] if result["answered"] else None
    return _compare(sent, _lead(prefix) + sent.upper(), got, f"to UDP port {ctx.target.port}", ignore_case=ignore_case)


def _lead(prefix: str) -> str:
    """What a variant's word puts in front of an answer (upper-case already)."""
    return f"{prefix} " if prefix else ""


@check("udp-survives")
def udp_survives(
    lab: "RunningLab", ctx: Context, bad: str = "fffe", message: str = "still there?", prefix: str = ""
) -> Verdict:
    """After a datagram that is not UTF-8 (``bad``, in hex), it still answers."""
    probes.udp(lab, ctx.prober, ctx.host, ctx.target.port, bytes.fromhex(bad), timeout=1.0)
    passed, output = udp_answer(lab, ctx, message, ignore_case=True, prefix=prefix)
    first = f"first sent a datagram that is not UTF-8 (bytes {bad}), then "
    return passed, first + output + ("" if passed else ": did the first one stop the server?")


# --- TCP servers -----------------------------------------------------------


@check("tcp-answer")
def tcp_answer(
    lab: "RunningLab", ctx: Context, messages: Sequence[str] = ("hello\n",), ignore_case: bool = False
) -> Verdict:
    """Messages sent one after the other on one connection, each answered
    upper-cased (or at all, with ``ignore_case``)."""
    result = probes.tcp(lab, ctx.prober, ctx.host, ctx.target.port, messages)
    if "error" in result:
        return False, f"connecting to TCP port {ctx.target.port} and sending {_show(messages[0])}: {_failure(result)}"
    outputs = []
    for index, (sent, got) in enumerate(zip(messages, result["replies"])):
        passed, output = _compare(
            sent,
            sent.upper(),
            got or None,
            f"as message {index + 1} of {len(messages)} on one connection",
            ignore_case=ignore_case,
        )
        outputs.append(output)
        if not passed:
            return False, output
    return True, "; ".join(outputs)


@check("tcp-next-clients")
def tcp_next_clients(lab: "RunningLab", ctx: Context, clients: int = 3) -> Verdict:
    """Clients one after the other, each after the previous one closed, all
    served (in any case: upper-casing is another check's)."""
    for index in range(clients):
        message = f"client {index + 1}\n"
        result = probes.tcp(lab, ctx.prober, ctx.host, ctx.target.port, [message])
        got = None if "error" in result else (result["replies"][0] or None)
        if got is None or got.upper() != message.upper():
            how = (
                _failure(result)
                if "error" in result
                else f"expected {_show(message.upper())}, got {_show(got) if got else 'no answer'}"
            )
            return (
                False,
                f"client {index + 1} of {clients}, connecting after client {index} had closed, "
                f"sent {_show(message)}: {how}",
            )
    return True, f"{clients} clients, one after the other, were each answered"


@check("tcp-concurrent")
def tcp_concurrent(lab: "RunningLab", ctx: Context, holders: int = 3, wait: float = 1.0) -> Verdict:
    """A newcomer is answered while ``holders`` clients keep their connections open."""
    result = probes.hold(lab, ctx.prober, ctx.host, ctx.target.port, holders, wait)
    if "error" in result:
        return False, f"opening {holders} connections to TCP port {ctx.target.port}: {_failure(result)}"
    if result["holders_served"] < holders:
        return (
            False,
            f"opened {holders} connections one after the other, each sending a message: "
            f"only {result['holders_served']} got their answer within {wait:g} s while the earlier ones stayed open",
        )
    if not result["answered_while_held"]:
        return (
            False,
            f"while {holders} clients kept their connections open, a new client sent 'newcomer\\n': "
            "expected 'NEWCOMER\\n' at once, got it only after they closed"
            if result["answered_after_release"]
            else f"while {holders} clients kept their connections open, "
            "a new client sent 'newcomer\\n' and never got an answer",
        )
    return (
        True,
        f"a new client was answered in {result['newcomer_latency_s']:.3f} s "
        f"while {holders} others kept their connections open",
    )


@check("tcp-bounded")
def tcp_bounded(lab: "RunningLab", ctx: Context, workers: int = 4, wait: float = 1.0) -> Verdict:
    """A pool of ``workers`` threads: that many clients are served at once, one more waits.

    Whether the one that waited is served later is left to the other
    checks: the slide's pool, whose threads die with their first client,
    loses its points there, not twice."""
    result = probes.hold(lab, ctx.prober, ctx.host, ctx.target.port, workers, wait)
    if "error" in result:
        return False, f"opening {workers} connections to TCP port {ctx.target.port}: {_failure(result)}"
    if result["holders_served"] < workers:
        return (
            False,
            f"opened {workers} connections, each sending a message: only {result['holders_served']} were answered "
            f"while the others stayed open (a pool of {workers} threads serves {workers} at once)",
        )
    if result["answered_while_held"]:
        return (
            False,
            f"while {workers} clients kept their connections open, a new client was answered at once: "
            f"expected it to wait for a free thread of the pool of {workers}",
        )
    return True, f"{workers} clients were served at once; the next one waited for a free thread"


@check("tcp-survives")
def tcp_survives(lab: "RunningLab", ctx: Context, bad: str = "fffe0a", message: str = "still there?\n") -> Verdict:
    """Bytes that are not UTF-8 (``bad``, in hex) then ``message``, on one
    connection: the message is still answered."""
    result = probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, bytes.fromhex(bad) + message.encode(), timeout=1.0)
    sent = f"sent bytes that are not UTF-8 ({bad}) then {_show(message)} on one connection"
    if "error" in result:
        return False, f"{sent}: {_failure(result)}"
    if message.upper() not in result["reply"].upper():
        return (
            False,
            f"{sent}, expected {_show(message.upper())} back, "
            f"got {_show(result['reply']) if result['reply'] else 'nothing'}: "
            "did the bytes before it end the conversation (or stop the server)?",
        )
    return True, f"{sent}, got {_show(result['reply'])} back"


# --- Blocks ----------------------------------------------------------------


def _frame(payload: bytes) -> bytes:
    return struct.pack("!I", len(payload)) + payload


def _blocks(data: bytes) -> list[bytes]:
    """The whole blocks at the start of ``data``."""
    blocks = []
    while len(data) >= 4:
        (length,) = struct.unpack("!I", data[:4])
        if len(data) < 4 + length:
            break
        blocks.append(data[4 : 4 + length])
        data = data[4 + length :]
    return blocks


@check("block")
def block(lab: "RunningLab", ctx: Context, size: int = 100, chunk: int = 0) -> Verdict:
    """A block of ``size`` bytes (sent ``chunk`` bytes at a time) comes back
    upper-cased; an empty block ends the session."""
    result = probes.block(lab, ctx.prober, ctx.host, ctx.target.port, size, chunk=chunk, timeout=5.0)
    sent = f"a {size}-byte block" + (f" in pieces of {chunk} bytes" if chunk else "")
    if "error" in result:
        return False, f"sent {sent}, expected one block back with its letters upper-cased: {_failure(result)}"
    if not result["intact"]:
        return (
            False,
            f"sent {sent}, expected the same {size} bytes upper-cased, "
            f"got a {result['answer_size']}-byte block that differs",
        )
    if not result["closed_after_zero"]:
        return False, f"sent {sent} and got it back upper-cased, but after the empty block the connection stayed open"
    return True, f"sent {sent}, got it back upper-cased; the empty block closed the session"


@check("blocks-one-connection")
def blocks_one_connection(
    lab: "RunningLab", ctx: Context, messages: Sequence[str] = ("first block", "second block")
) -> Verdict:
    """Several blocks, then an empty one, on one connection: each answered in order."""
    data = b"".join(_frame(m.encode()) for m in messages) + _frame(b"")
    result = probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, data, timeout=3.0)
    if "error" in result:
        return False, f"sent {len(messages)} blocks and an empty one on one connection: {_failure(result)}"
    got = [b.decode("utf-8", "replace") for b in _blocks(bytes.fromhex(result["reply_hex"]))]
    expected = [m.upper() for m in messages]
    if got != expected:
        return (
            False,
            f"sent the blocks {list(messages)} and an empty one on one connection, "
            f"expected the blocks {expected} back, got {got}",
        )
    return True, f"sent the blocks {list(messages)} on one connection, got {got}"


@check("block-survives")
def block_survives(lab: "RunningLab", ctx: Context, bad: str = "fffe") -> Verdict:
    """After a block that is not UTF-8 (``bad``, in hex), a new client's block is answered."""
    probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, _frame(bytes.fromhex(bad)) + _frame(b""), timeout=1.0)
    passed, output = block(lab, ctx, size=50)
    first = f"a first client sent a block that is not UTF-8 ({bad}); then a new client "
    return passed, first + output + ("" if passed else ": did the first block stop the server?")


# --- XML-RPC -----------------------------------------------------------------


@check("xmlrpc-calls")
def xmlrpc_calls(lab: "RunningLab", ctx: Context, calls: Sequence[dict] = ()) -> Verdict:
    """Calls, each with what must come back: ``expect`` (``unordered`` for a
    list whose order is free), ``contains`` (items a list must hold) or
    ``fault: true`` (an XML-RPC fault, not a broken server)."""
    result = probes.xmlrpc(
        lab, ctx.prober, ctx.host, ctx.target.port, [(c["method"], c.get("args", [])) for c in calls]
    )
    if "error" in result:
        return False, f"calling {calls[0]['method']} on http://SERVER:{ctx.target.port}/RPC2: {_failure(result)}"
    outputs = []
    for call, answer in zip(calls, result["results"]):
        shown = f"{call['method']}({', '.join(repr(a) for a in call.get('args', []))})"
        got = f"the fault {answer['fault']!r}" if "fault" in answer else repr(answer["result"])
        if call.get("fault"):
            passed, expected = "fault" in answer, "an XML-RPC fault"
        elif "fault" in answer:
            passed, expected = False, repr(call.get("expect", call.get("contains")))
        elif "contains" in call:
            value = answer["result"]
            passed = isinstance(value, list) and all(item in value for item in call["contains"])
            expected = f"a list holding {call['contains']}"
        elif call.get("unordered"):
            value = answer["result"]
            passed = isinstance(value, list) and sorted(value) == sorted(call["expect"])
            expected = f"{call['expect']} in any order"
        else:
            passed, expected = answer["result"] == call["expect"], repr(call["expect"])
        if not passed:
            return False, f"called {shown}, expected {expected}, got {got}"
        outputs.append(f"{shown} gave {got}")
    return True, "; ".join(outputs)


# --- Clients -----------------------------------------------------------------


def _clean_run(lab: "RunningLab", ctx: Context, input: str, link: Optional[str]) -> "Answered":
    """The client asked ``input`` once, over a link without loss (see :func:`_answered`)."""
    key = ("clean", input, link)
    if key not in ctx.memo:
        if link:
            lab.link(link).set(**impairment_changes({"loss": "0%"}))
        ctx.memo[key] = _answered(lab, ctx, input, {}, CLIENT_RUN)
    return ctx.memo[key]


@dataclass(frozen=True)
class Answered:
    """A client run whose answer is proven from outside the client.

    ``asked`` is what it was given: the check's input and a word drawn for
    this run alone, so that no answer can be guessed or kept from an earlier
    run; ``missing`` is what the capture made in the client's network
    namespace lacks (the question leaving for the server's port, the answer
    coming back from another node), or nothing.
    """

    run: ClientRun
    asked: str
    missing: str

    def expected(self, input: str, answer: str) -> str:
        """An answer to ``input`` as it reads for this run's question."""
        return answer.replace(input.upper(), self.asked.upper())


def _answered(
    lab: "RunningLab", ctx: Context, input: str, environment: dict[str, str], timeout: float, word: bool = True
) -> Answered:
    """Run the client once, asked ``input`` (and a word of its own with
    ``word``), under a capture in its network namespace."""
    asked = f"{input} {''.join(secrets.choice(LETTERS) for _ in range(8))}" if word else input
    port = ctx.target.port
    environment = {"SERVER_PORT": str(port), **environment}
    environment.setdefault("SERVER_HOST", ctx.server_host())
    with lab.capture(ctx.target.node, filter=f"port {port}") as capture:
        run = ctx.run(asked + "\n", environment, timeout)
    return Answered(run, asked, _unproven(capture.packets, port, _own(lab, ctx.target.node), asked))


def _own(lab: "RunningLab", node: str) -> set[str]:
    """A node's addresses: what it sends to itself proves nothing."""
    return {address for pair in lab.addresses(node).values() for address in pair if address}


def _unproven(packets: Sequence[Packet], port: int, own: set[str], asked: str) -> str:
    """What the packets lack to show ``asked`` leaving for ``port`` on
    another node and its upper-cased answer coming back from one."""

    def elsewhere(address: str) -> bool:
        return address not in own and not ipaddress.ip_address(address).is_loopback

    sent = b"".join(p.payload for p in packets if p.dport == port and elsewhere(p.dst))
    back = b"".join(p.payload for p in packets if p.sport == port and elsewhere(p.src))
    # The start of each is enough (the letters are drawn for the run), and
    # keeps a long answer's segment the capture may miss from mattering.
    if asked[:PROOF].encode() not in sent:
        return f"no packet carrying {_show(asked)} left it for port {port} of another node"
    if asked.upper()[:PROOF].encode() not in back:
        return f"its question left, but no answer carrying {_show(asked.upper())} came back to it"
    return ""


def _silent_run(
    lab: "RunningLab", ctx: Context, input: str, link: Optional[str], port: Optional[int], within: float
) -> tuple[ClientRun, list[Packet]]:
    """The client asked ``input`` once with no answer ever coming back:
    every answer lost on ``link``, or sent to ``port`` where nobody listens.
    Its datagrams are captured at the server (at the client itself when it
    broadcasts)."""
    key = ("silent", input, link, port)
    if key not in ctx.memo:
        if link:
            lab.link(link).set(direction="forward", **impairment_changes({"loss": "0%"}))
            lab.link(link).set(direction="reverse", **impairment_changes({"loss": "100%"}))
        dport = port or ctx.target.port
        capture_on = ctx.target.server if ctx.target.server in lab.containers else ctx.target.node
        with lab.capture(capture_on, filter=f"udp dst port {dport}") as capture:
            run = ctx.run_client(input, port=port, timeout=within + 3.0)
        ctx.memo[key] = (run, capture.packets)
    return ctx.memo[key]


@check("client-prints")
def client_prints(
    lab: "RunningLab",
    ctx: Context,
    input: str = "hello world",
    expect: Sequence[str] = ("HELLO WORLD",),
    every: bool = True,
    anywhere: bool = False,
    link: Optional[str] = None,
    prefix: str = "",
) -> Verdict:
    """The client prints the expected answers (``every`` one of them, or at
    least one): on a line that ends with the answer, or ``anywhere``; each
    after the word ``prefix`` its variant's server puts in front."""
    answered = _clean_run(lab, ctx, input, link)
    run, asked = answered.run, answered.asked
    expect = [answered.expected(input, _lead(prefix) + e) for e in expect]
    input = asked
    if answered.missing:
        never = f"the server's answer never reached it ({answered.missing})"
        return False, f"gave it {input!r} on its standard input: {never}; {run.describe()}"
    found = [e for e in expect if (e in run.stdout if anywhere else any(line.endswith(e) for line in run.lines))]
    if len(found) < (len(expect) if every else 1):
        missing = [e for e in expect if e not in found]
        where = "somewhere in its output" if anywhere else "each at the end of a line"
        need = f"every one of {list(expect)} {where}" if every else f"one of {list(expect)} {where}"
        return False, f"gave it {input!r} on its standard input, expected {need}; missing {missing}: {run.describe()}"
    return True, f"gave it {input!r}, it printed {found}"


@check("client-exits")
def client_exits(
    lab: "RunningLab", ctx: Context, input: str = "hello world", within: float = 5.0, link: Optional[str] = None
) -> Verdict:
    """Once answered, the client exits with status 0 within ``within`` seconds."""
    answered = _clean_run(lab, ctx, input, link)
    run, input = answered.run, answered.asked
    if answered.missing:
        never = f"the server's answer never reached it ({answered.missing})"
        return False, f"gave it {input!r}: {never}; {run.describe()}"
    if run.exit_code != 0 or run.seconds > within:
        return False, f"gave it {input!r}, expected it to finish with status 0 within {within:g} s: {run.describe()}"
    return True, f"it finished with status 0 after {run.seconds:.1f} s"


@check("client-gives-up")
def client_gives_up(
    lab: "RunningLab",
    ctx: Context,
    input: str = "hello world",
    within: float = 5.0,
    link: Optional[str] = None,
    port: Optional[int] = None,
) -> Verdict:
    """With no answer ever coming, it prints 'server seems down' and exits
    with a non-zero status within ``within`` seconds."""
    run, _ = _silent_run(lab, ctx, input, link, port, within)
    how = f"every answer lost on link {link}" if link else f"SERVER_PORT {port}, where nobody answers"
    if "server seems down" not in run.stdout + run.stderr or run.exit_code == 0 or run.seconds > within:
        return (
            False,
            f"gave it {input!r} with {how}: expected 'server seems down' and a non-zero status "
            f"within {within:g} s; {run.describe()}",
        )
    return (
        True,
        f"with {how}, it said 'server seems down' and exited with status {run.exit_code} after {run.seconds:.1f} s",
    )


@check("client-backoff")
def client_backoff(
    lab: "RunningLab",
    ctx: Context,
    input: str = "hello world",
    link: Optional[str] = None,
    schedule: Sequence[float] = tuple(probes.LECTURE_BACKOFF),
    tolerance: float = 0.03,
) -> Verdict:
    """With every answer lost, its datagrams leave on the lecture's doubling
    schedule (seen in packets captured at the server)."""
    _, packets = _silent_run(lab, ctx, input, link, None, 5.0)
    times = probes.send_times(packets, ctx.target.port)
    passed, output = probes.backoff_verdict(times[: len(schedule)], list(schedule), tolerance)
    return passed, f"with every answer lost on link {link}: " + output


# --- Clients over TCP --------------------------------------------------------


@check("client-long-line")
def client_long_line(lab: "RunningLab", ctx: Context, size: int = 10000) -> Verdict:
    """A line of ``size`` letters comes back whole, upper-cased: more than
    one recv() of the slide's 2048 bytes holds. The letters are drawn for
    the run, and the capture must show them going to the server and back."""
    sent = "".join(secrets.choice(LETTERS) for _ in range(size))
    answered = _answered(lab, ctx, sent, {}, CLIENT_RUN, word=False)
    run = answered.run
    longest = max(run.lines, key=len, default="")
    if answered.missing:
        never = f"the server's answer never reached it ({answered.missing})"
        return False, f"gave it a line of {size} letters on its standard input: {never}; {run.describe()}"
    if sent.upper() in run.stdout:
        return True, f"gave it a line of {size} letters, it printed them all back upper-cased"
    got = f"its longest line has {len(longest)} characters" + (", upper-cased letters" if longest.isupper() else "")
    expected = f"expected the {size} letters back upper-cased on one line"
    return False, f"gave it a line of {size} letters on its standard input, {expected}; {got}: {run.describe()}"


def _received_logs(lab: "RunningLab", node: str, since: int) -> list[str]:
    """The slow reader's lines about the connections since log line ``since``."""
    lines = lab.logs(node).splitlines()[since:]
    return [line for line in lines if line.startswith(("received ", "incomplete "))]


@check("client-delivers")
def client_delivers(lab: "RunningLab", ctx: Context, size: int = 5_000_000) -> Verdict:
    """A line of ``size`` letters reaches the slow reader whole: the client
    prints its answer, and the server's log says how much arrived."""
    sent = "".join(secrets.choice(LETTERS) for _ in range(64)) * (size // 64)
    expected = f"received {len(sent)} bytes sha256 {hashlib.sha256(sent.encode()).hexdigest()}"
    server = ctx.target.server or ""
    since = len(lab.logs(server).splitlines())
    run = ctx.run_client(sent, timeout=CLIENT_RUN + 4)
    seen = _received_logs(lab, server, since)
    what = f"gave it a line of {len(sent)} letters on its standard input"
    whole = any(line.startswith("received ") and line.endswith(f" {len(sent)} bytes") for line in seen)
    if expected in run.stdout and whole:  # printed, and the server's log says all of it arrived
        return True, f"{what}; the server got all of it and the client printed {_show(expected)}"
    arrived = f"the server logged {_show(seen[-1])}" if seen else "the server logged no message from it"
    return False, f"{what}, expected the server's answer {_show(expected)}; {arrived}; {run.describe()}"


# --- Byte order ----------------------------------------------------------------


def _little_endian_blocks(data: bytes) -> list[bytes]:
    """The whole blocks at the start of ``data``, read with '<I' headers."""
    swapped = b""
    while len(data) >= 4:
        (length,) = struct.unpack("<I", data[:4])
        swapped += struct.pack("!I", length) + data[4 : 4 + length]
        data = data[4 + length :]
    return _blocks(swapped)


@check("block-byte-order")
def block_byte_order(lab: "RunningLab", ctx: Context, message: str = "hello") -> Verdict:
    """A block with a network-order ('!I') header is answered with one; a
    server that reads and writes '<I' (or the native 'I', little-endian on a
    PC) is told so, not only that it never answered.

    The network-order block goes first: a little-endian header announces
    83 MB to a correct server, and a server with an unrelated bug may not
    survive that, so it is sent only to explain a failure."""
    payload = message.encode()
    result = probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, _frame(payload) + _frame(b""), timeout=2.0)
    sent = f"sent the block {message!r} with the network-order header {_frame(payload)[:4].hex(' ')} ('!I')"
    reply = b"" if "error" in result else bytes.fromhex(result["reply_hex"])
    if "error" not in result and _blocks(reply)[:1] == [payload.upper()]:
        return True, f"{sent}, got its header {reply[:4].hex(' ')} and {message.upper()!r} back"
    little = struct.pack("<I", len(payload)) + payload + struct.pack("<I", 0)
    answer = probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, little, timeout=2.0)
    if "error" not in answer and _little_endian_blocks(bytes.fromhex(answer["reply_hex"]))[:1] == [payload.upper()]:
        why = "it reads and writes lengths little-endian, as struct '<I' or the native 'I' do on a PC"
        return False, f"{sent}: no answer; with a little-endian header ({little[:4].hex(' ')}) it answered: {why}"
    if "error" in result:
        return False, f"{sent}: {_failure(result)}"
    expected = f"expected the header 00 00 00 {len(payload):02x} and {message.upper()!r} back"
    return False, f"{sent}, {expected}, got {reply[:40].hex(' ') or 'nothing'}"


# --- Reachable from the network ------------------------------------------------

# The local addresses listening on a TCP port, as /proc/net shows them (hex).
LISTENERS = """
import sys
port = int(sys.argv[1])
for path in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = [line.split() for line in list(open(path))[1:]]
    except OSError:
        continue
    for row in rows:
        address, hex_port = row[1].rsplit(":", 1)
        if int(hex_port, 16) == port and row[3] == "0A":
            print(address)
"""
LOOPBACK = {"0100007F": "127.0.0.1", "00000000000000000000000001000000": "::1"}


@check("tcp-reachable")
def tcp_reachable(lab: "RunningLab", ctx: Context) -> Verdict:
    """Another node can connect to the server's port; a server listening on
    the loopback address only (the XML-RPC slide's '127.0.0.1') is told so."""
    result = probes.raw(lab, ctx.prober, ctx.host, ctx.target.port, b"", timeout=1.0)
    if "error" not in result or "refused" not in result["error"].lower():
        return True, f"connected to TCP port {ctx.target.port} from another node"
    listening = lab.exec(ctx.target.node, ["python3", "-c", LISTENERS, str(ctx.target.port)], timeout=10).stdout.split()
    loopback = sorted({LOOPBACK[a] for a in listening if a in LOOPBACK})
    if listening and len(loopback) == len(listening):
        where = (
            f"your server listens on {' and '.join(loopback)} only, "
            "an address that only programs in its own container can reach"
        )
        return False, f"connecting to TCP port {ctx.target.port} from another node was refused: {where}"
    return False, f"connecting to TCP port {ctx.target.port} from another node: {_failure(result)}"


# --- Names -----------------------------------------------------------------------


@check("client-by-name")
def client_by_name(
    lab: "RunningLab", ctx: Context, name: str = "", input: str = "hello", expect: str = "HELLO", gives_up: bool = False
) -> Verdict:
    """The client given a server's name (``SERVER_HOST=name``, not an
    address) prints ``expect``; with ``gives_up``, a name that does not
    resolve makes it say 'server seems down' and exit non-zero."""
    environment = {"SERVER_HOST": name, "SERVER_PORT": str(ctx.target.port)}
    if gives_up:
        # The lab's DNS asks servers outside, which a grading lab cannot
        # reach: one short try, so that the lookup fails in a second, not in 10.
        environment["RES_OPTIONS"] = "timeout:1 attempts:1"
    if gives_up:
        run = ctx.run(input + "\n", environment, CLIENT_RUN)
    else:
        answered = _answered(lab, ctx, input, environment, CLIENT_RUN)
        run, expect, input = answered.run, answered.expected(input, expect), answered.asked
        if answered.missing:
            given = f"gave it SERVER_HOST={name!r} and {input!r} on its standard input"
            return False, f"{given}: the server's answer never reached it ({answered.missing}); {run.describe()}"
    given = f"gave it SERVER_HOST={name!r} and {input!r} on its standard input"
    if gives_up:
        if "server seems down" in run.stdout + run.stderr and run.exit_code != 0:
            return True, f"{given}: it said 'server seems down' and exited with status {run.exit_code}"
        expected = "expected 'server seems down' and a non-zero status"
        return False, f"{given}, a name that does not exist: {expected}; {run.describe()}"
    if any(line.endswith(expect) for line in run.lines) and run.exit_code == 0:
        return True, f"{given}: it printed {expect!r}"
    return False, f"{given}, expected {expect!r} at the end of a line and status 0; {run.describe()}"


# --- A capture the student made ---------------------------------------------------

# Prints a file of the submission, base64, so that a binary file survives exec.
READ_FILE = "import base64, sys; sys.stdout.write(base64.b64encode(open(sys.argv[1], 'rb').read()).decode())"


@check("pcap-backoff")
def pcap_backoff(
    lab: "RunningLab",
    ctx: Context,
    file: str = "backoff.pcap",
    schedule: Sequence[float] = tuple(probes.LECTURE_BACKOFF),
    tolerance: float = 0.03,
) -> Verdict:
    """The capture the student submitted (``file``, beside main.py) shows
    their client's datagrams leaving on the lecture's doubling schedule."""
    result = ctx.run("", {}, 20, program=["python3", "-c", READ_FILE, f"{WORKDIR}/{file}"])
    if result.exit_code != 0:
        error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "it could not be read"
        return False, f"found no {file} beside your main.py: {_cut(error, 200)}"
    try:
        packets = read_pcap(base64.b64decode(result.stdout))
    except ValueError as error:
        return False, f"{file} is not a capture Wireshark writes (pcap, not pcapng): {error}"
    times = probes.send_times(packets, ctx.target.port)
    if not times:
        how = f"capture with --filter 'udp port {ctx.target.port}' while your client runs"
        return False, f"{file} holds {len(packets)} packets, none a UDP datagram to port {ctx.target.port}: {how}"
    passed, output = probes.backoff_verdict(times[: len(schedule)], list(schedule), tolerance)
    return passed, f"in {file}, the datagrams to UDP port {ctx.target.port}: " + output
