"""Names and IPv6 (slides "IPv4 and IPv6"): both families, every server over IPv6."""

from __future__ import annotations

import pytest

from socklab import probes

pytestmark = pytest.mark.lab("names-ipv6")


def test_getaddrinfo_gives_both_families(lab) -> None:
    script = "import socket; print(sorted({i[0].name for i in socket.getaddrinfo('tcp-threaded', 1234)}))"
    result = lab.python("client", script)
    assert result.stdout.strip() == "['AF_INET', 'AF_INET6']", result.output
    names = lab.exec("client", ["names", "tcp-threaded", "1234"])
    assert lab.address("tcp-threaded", family=6) in names.stdout and lab.address("tcp-threaded") in names.stdout, (
        names.output
    )


@pytest.mark.parametrize("server", ["tcp-threaded", "tcp-poll"])
def test_tcp_servers_answer_over_ipv6(lab, server: str) -> None:
    address = lab.address(server, family=6)
    assert ":" in address
    result = probes.tcp(lab, "client", address, 1234, ["over six\n"])
    assert result.get("replies") == ["OVER SIX\n"], result


def test_udp_and_xmlrpc_over_ipv6(lab) -> None:
    assert probes.udp(lab, "client", lab.address("udp-server", family=6), 1234, "six")["answer"] == "SIX"
    server = f"http://[{lab.address('xmlrpc', family=6)}]:7001"
    script = f"from xmlrpc.client import ServerProxy; print(ServerProxy({server!r}).addtogether(1, 2))"
    assert lab.python("client", script).stdout.strip() == "3"
