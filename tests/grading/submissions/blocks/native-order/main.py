import os
from socket import *
from struct import *
from threading import Thread

header_struct = Struct('I')  # native order: little-endian on a PC
serverPort = int(os.environ.get('PORT', 1235))


def recvall(sock, length):
    blocks = []
    while length:
        block = sock.recv(length)
        if not block:
            raise EOFError('socket closed with %d bytes left in this block' % length)
        length -= len(block)
        blocks.append(block)
    return b''.join(blocks)


def get_block(sock):
    data = recvall(sock, header_struct.size)
    (block_length,) = header_struct.unpack(data)
    return recvall(sock, block_length)


def put_block(sock, message):
    sock.sendall(header_struct.pack(len(message)))
    sock.sendall(message)


def handle_client(clientSocket):
    with clientSocket:
        try:
            while True:
                message = get_block(clientSocket)
                if not message:
                    break
                put_block(clientSocket, message.decode('utf-8', errors='replace').upper().encode('utf-8'))
        except EOFError:
            pass


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')
while True:
    connectionSocket, address = serverSocket.accept()
    Thread(target=handle_client, args=(connectionSocket,)).start()
