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


serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.bind(('', serverPort))
serverSocket.listen(5)
print('server ready')
while True:
    connectionSocket, address = serverSocket.accept()
    (block_length,) = header_struct.unpack(recvall(connectionSocket, 4))
    message = recvall(connectionSocket, block_length)
    answer = message.decode('utf-8', errors='replace').upper().encode('utf-8')
    connectionSocket.sendall(header_struct.pack(len(answer)))
    connectionSocket.sendall(answer)
    connectionSocket.close()
