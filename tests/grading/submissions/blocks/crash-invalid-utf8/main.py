import os
from socket import *
from struct import *

header_struct = Struct('!I')
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


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')
while True:
    connectionSocket, address = serverSocket.accept()
    while True:
        message = get_block(connectionSocket)
        if not message:
            break
        put_block(connectionSocket, message.decode('utf-8').upper().encode('utf-8'))
    connectionSocket.close()
