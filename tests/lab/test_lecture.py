"""The lecture's own client code, as on the slides with only the server name
changed, gets the slides' answers from every service of the ``lecture`` lab."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lab("lecture")

UDP_CLIENT = """\
from socket import *
serverName = 'udp-server'
serverPort = 1234
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input('lowercase sentence:').encode('utf-8')
clientSocket.sendto(message, (serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode('utf-8'))
clientSocket.close()
"""

TCP_CLIENT = """\
from socket import *
serverName = '{server}'
serverPort = 1234
clientSocket = socket(AF_INET,SOCK_STREAM)
clientSocket.connect((serverName,serverPort))
message = input('lowercase sentence:').encode('utf-8')
clientSocket.send(message)
modifiedMessage = clientSocket.recv(2048).decode('utf-8')
print(modifiedMessage)
clientSocket.close()
"""

BLOCK_CLIENT = """\
from struct import *
from socket import *
header_struct = Struct('!I')
def recvall(sock, length):
    blocks = []
    while length:
        block = sock.recv(length)
        if not block:
            raise EOFError('socket closed with %d bytes left in this block' % length)
        length -= len(block)
        blocks.append(block)
    return b''.join(blocks)
def put_block(sock, message):
    block_length = len(message)
    sock.sendall(header_struct.pack(block_length))
    sock.sendall(message)
def get_block(sock):
    data = recvall(sock, header_struct.size)
    (block_length,) = header_struct.unpack(data)
    return recvall(sock, block_length)
clientSocket = socket(AF_INET, SOCK_STREAM)
clientSocket.connect(('blocks', 1235))
message = b'a very long block ' * 70000
put_block(clientSocket, message)
answer = get_block(clientSocket)
put_block(clientSocket, b'')
print(len(message), answer == message.upper())
"""

XMLRPC_CLIENT = """\
from xmlrpc.client import *
proxy = ServerProxy('http://xmlrpc:7001')
print(proxy.addtogether('x', 'y', 'z'))
print(proxy.addtogether(1, 2, 3, 4, 5))
print(proxy.quadratic(2, -4, 0))
print(proxy.quadratic(1, 2, 1))
"""

SENTENCE = "network programming with python\n"


def test_udp_client_of_the_slides(lab) -> None:
    result = lab.exec("client", ["python3", "-c", UDP_CLIENT], input=SENTENCE)
    assert result.stdout.endswith("NETWORK PROGRAMMING WITH PYTHON\n"), result.output


@pytest.mark.parametrize("server", ["tcp-sequential", "tcp-threaded", "tcp-pool", "tcp-poll", "tcp-asyncio"])
def test_tcp_client_of_the_slides(lab, server: str) -> None:
    result = lab.exec("client", ["python3", "-c", TCP_CLIENT.format(server=server)], input=SENTENCE)
    assert result.stdout.endswith("NETWORK PROGRAMMING WITH PYTHON\n"), f"{server}: {result.output}"


def test_block_client_of_the_slides_sends_1_2_mb_intact(lab) -> None:
    result = lab.exec("client", ["python3", "-c", BLOCK_CLIENT])
    assert result.stdout.strip() == "1260000 True", result.output


def test_xmlrpc_client_of_the_slides_with_quadratic_corrected(lab) -> None:
    result = lab.exec("client", ["python3", "-c", XMLRPC_CLIENT])
    assert result.stdout.splitlines() == ["xyz", "15", "[0.0, 2.0]", "[-1.0]"], result.output
