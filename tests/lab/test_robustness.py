"""Bad input over a real network: each server answers sensibly and keeps
serving everyone else."""

from __future__ import annotations

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("lecture")

TCP_SERVERS = ["tcp-sequential", "tcp-threaded", "tcp-pool", "tcp-poll", "tcp-asyncio"]

SPLIT_CHARACTER = """\
import socket, time
sock = socket.create_connection(('{server}', 1234), timeout=3)
sock.sendall('caf'.encode() + b'\\xc3')
time.sleep(0.2)
sock.sendall(b'\\xa9!')
data = b''
while len(data) < 6:
    data += sock.recv(100)
print(data.decode('utf-8'))
"""

VANISH = """\
import socket, struct
sock = socket.create_connection(('{server}', {port}), timeout=3)
sock.sendall({data!r})
sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
sock.close()
"""


def test_udp_server_passes_invalid_utf8_through_and_keeps_serving(lab) -> None:
    result = lab.python(
        "client",
        "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); "
        "s.sendto(b'ab\\xff\\xfecd', ('udp-server', 1234)); print(s.recvfrom(100)[0].hex())",
    )
    assert result.stdout.strip() == b"AB\xff\xfeCD".hex(), result.output
    assert probes.udp(lab, "client", "udp-server", 1234, "still there")["answer"] == "STILL THERE"


@pytest.mark.parametrize("server", TCP_SERVERS)
def test_tcp_servers_with_invalid_utf8_split_characters_and_vanishing_clients(lab, server: str) -> None:
    invalid = probes.raw(lab, "client", server, 1234, b"ab\xff\xfecd")
    assert invalid["reply_hex"] == b"AB\xff\xfeCD".hex(), f"{server}: invalid bytes should pass through, got {invalid}"
    split = lab.python("client", SPLIT_CHARACTER.format(server=server))
    assert split.stdout.strip() == "CAFÉ!", f"{server}: a character split across segments: {split.output}"
    lab.python("client", VANISH.format(server=server, port=1234, data=b"half a mess"))
    after = probes.tcp(lab, "client", server, 1234, ["after a vanished client\n"])
    assert after.get("replies") == ["AFTER A VANISHED CLIENT\n"], f"{server}: {after}"


def test_block_server_survives_a_client_vanishing_mid_block(lab) -> None:
    lab.python("client", VANISH.format(server="blocks", port=1235, data=b"\x00\x00\x10\x00" + b"x" * 100))
    assert probes.block(lab, "client", "blocks", 1235, size=5000).get("intact")
